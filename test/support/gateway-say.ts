/**
 * Runs `gateway say --json` from dist/ with a configuration file, as a person would: each
 * text is one turn ("confirm" answers the previous one). A failed action makes the CLI exit
 * non-zero; its reports and log are returned all the same.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TurnReport } from '../../src/dialogue/report.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const GATEWAY = path.join(ROOT, 'bin/gateway.js');

export interface SayResult {
  readonly reports: TurnReport[];
  /** Standard error: the structured log. */
  readonly log: string;
  readonly stdout: string;
}

export async function gatewaySay(
  config: string,
  outDir: string,
  texts: readonly string[],
  env: Readonly<Record<string, string>> = {},
  now = '2026-12-07T08:00:00Z',
): Promise<SayResult> {
  const args = [GATEWAY, 'say', '--json', '-c', config, '--now', now, '--out', outDir, ...texts];
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, TZ: 'Europe/London', ...env };
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, args, { cwd: ROOT, env: fullEnv,
      maxBuffer: 16 << 20 }));
  } catch (err) {
    ({ stdout, stderr } = err as { stdout: string; stderr: string });
  }
  const reports = stdout.trim().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TurnReport);
  return { reports, log: stderr, stdout };
}
