import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOrUsage } from './args.js';
import { GatewayError } from '../errors.js';
import { loadIntents } from '../nlu/index.js';
import {
  describeOutcome, runIntentTests, testFilesIn, type IntentTestReport,
} from '../nlu/testing.js';
import { oneLine } from './output.js';

/** The shipped English intents (from src/cli or dist/cli alike). */
const DEFAULT_INTENTS = fileURLToPath(new URL('../../intents/en', import.meta.url));

const USAGE = 'usage: gateway intents test [files...] [--intents DIR] [--json]';

function printReport(report: IntentTestReport, json: boolean): void {
  const failures = report.results.filter((r) => !r.pass);
  if (json) {
    process.stdout.write(`${JSON.stringify({
      passed: report.passed,
      failed: report.failed,
      failures: failures.map((f) => ({
        where: f.where, sentence: f.sentence, expected: f.expected, got: f.got,
      })),
    })}\n`);
    return;
  }
  for (const f of failures) {
    process.stdout.write([
      `FAIL ${f.where} "${f.sentence}"`,
      `  expected ${describeOutcome(f.expected)}`,
      `  got      ${describeOutcome(f.got)}`,
    ].map(oneLine).join('\n') + '\n');
  }
  process.stdout.write(`${report.passed} passed, ${report.failed} failed\n`);
}

/**
 * `gateway intents test [files...]`: runs sentence test files (default: every file of
 * `<intents>/tests/`) against the intent templates. Exit status 0 only when all pass.
 */
export async function intentsCommand(argv: string[]): Promise<number> {
  const parsed = parseOrUsage({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      intents: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [sub, ...files] = parsed.positionals;
  if (sub !== 'test') throw new GatewayError('GW_USAGE', USAGE);
  const dir = parsed.values.intents === undefined
    ? DEFAULT_INTENTS
    : resolve(parsed.values.intents);
  const set = await loadIntents(dir);
  const paths = files.length > 0
    ? files.map((f) => resolve(f))
    : await testFilesIn(resolve(dir, 'tests'));
  if (paths.length === 0) {
    throw new GatewayError('GW_INTENTS_INVALID', `no test files in ${resolve(dir, 'tests')}`);
  }
  const report = await runIntentTests(set, paths);
  printReport(report, parsed.values.json ?? false);
  return report.failed === 0 ? 0 : 1;
}
