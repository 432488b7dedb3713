import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { intentsCommand } from '../../src/cli/intents.js';
import { GatewayError } from '../../src/errors.js';
import { loadIntents, type IntentSet } from '../../src/nlu/index.js';
import { loadTestFile, runIntentTests, testFilesIn } from '../../src/nlu/testing.js';

const INTENTS = join(import.meta.dirname, '../../intents/en');
let set: IntentSet;

beforeAll(async () => {
  set = await loadIntents(INTENTS);
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function tempFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'intents-test-'));
  const path = join(dir, 'cases.yaml');
  await writeFile(path, text);
  return path;
}

/** Runs the command with stdout captured. */
async function command(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const code = await intentsCommand(argv);
  vi.restoreAllMocks();
  return { code, out };
}

describe('the shipped sentence tests', () => {
  it('all pass, and there are enough of them', async () => {
    const report = await runIntentTests(set, await testFilesIn(join(INTENTS, 'tests')));
    const failures = report.results.filter((r) => !r.pass)
      .map((r) => `${r.where} ${r.sentence} -> ${JSON.stringify(r.got)}`);
    expect(failures).toEqual([]);
    expect(report.passed).toBeGreaterThanOrEqual(150);
  });

  it('cover every intent of the shipped templates', async () => {
    const report = await runIntentTests(set, await testFilesIn(join(INTENTS, 'tests')));
    const tested = new Set(report.results.flatMap((r) =>
      (r.expected.kind === 'intent' ? [r.expected.intent] : [])));
    expect(set.intents.map((i) => i.name).filter((n) => !tested.has(n))).toEqual([]);
  });
});

describe('gateway intents test', () => {
  it('prints each failure with what was expected and what came, and exits 1', async () => {
    const path = await tempFile([
      'tests:',
      '  - sentences: ["close breaker seven at substation twelve"]',
      '    intent: scada.breaker_operate',
      '    slots: { operation: open, breaker: 7, substation: 12 }',
      '  - sentences: ["confirm"]',
      '    intent: system.confirm',
      '',
    ].join('\n'));
    const { code, out } = await command(['test', path]);
    await rm(join(path, '..'), { recursive: true });
    expect(code).toBe(1);
    expect(out).toContain('"close breaker seven at substation twelve"');
    expect(out).toContain('expected scada.breaker_operate {"operation":"open"');
    expect(out).toContain('got      scada.breaker_operate {"operation":"close"');
    expect(out.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
  });

  it('exits 0 and reports JSON when every sentence passes', async () => {
    const path = await tempFile('tests:\n  - sentences: ["no", "cancel"]\n    intent: system.deny\n'
      + '  - sentences: ["don\'t confirm"]\n    reason: negated\n');
    const { code, out } = await command(['test', '--json', path]);
    await rm(join(path, '..'), { recursive: true });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ passed: 3, failed: 0, failures: [] });
  });

  it('runs the shipped files by default', async () => {
    const { code, out } = await command(['test']);
    expect(out).toMatch(/^\d+ passed, 0 failed\n$/);
    expect(code).toBe(0);
  });

  it('rejects a usage without the test sub-command', async () => {
    await expect(intentsCommand(['check'])).rejects.toMatchObject({ code: 'GW_USAGE' });
  });
});

describe('test file errors', () => {
  it.each([
    ['tests:\n  - sentences: ["stop"]\n    intent: system.nothing\n', 3, 'no intent named'],
    ['tests:\n  - sentences: ["stop"]\n    reason: confused\n', 3, 'reason'],
    ['tests:\n  - sentences: ["stop"]\n', 2, 'either an intent or a reason'],
    ['tests:\n  - sentences: ["stop"]\n    intent: system.stop\n    colour: red\n', 4, 'colour'],
    ['tests:\n  - sentences: ["stop"\n', 3, ''],
  ])('names the file and the line: %j', async (text, line, words) => {
    const path = await tempFile(text);
    const err: unknown = await loadTestFile(path, set).catch((e: unknown) => e);
    await rm(join(path, '..'), { recursive: true });
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('GW_INTENTS_INVALID');
    expect((err as GatewayError).message).toMatch(new RegExp(`cases\\.yaml:${line}: .*${words}`));
  });
});
