import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import { promisify } from 'node:util';
import { readWavFile } from '../../src/audio/wav.js';
import { validateConfig, type GatewayConfig } from '../../src/config/load.js';
import { TEST_POINTS } from '../support/points.js';
import { createConnectors } from '../../src/connectors/registry.js';
import { closeEngines, createEngines } from '../../src/dialogue/engines.js';
import { Pipeline, type Engines } from '../../src/dialogue/pipeline.js';
import { createLogger } from '../../src/log.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const UTTERANCES = path.join(ROOT, 'fixtures/utterances');
/** The fixture calendar is written around this moment (a Monday, in London). */
export const NOW = new Date('2026-12-07T08:00:00Z');

export interface Fixture {
  file: string;
  voice: string | null;
  speed: number | null;
  noise: { type: string; snrDb: number | null } | null;
  text: string;
  wake: boolean;
  expect: { transcript: string | null; intent: string | null; slots: Record<string, unknown> | null };
}

export const FIXTURES: Fixture[] = JSON.parse(
  readFileSync(path.join(ROOT, 'fixtures/manifest.json'), 'utf8'),
) as Fixture[];

export function fixture(file: string): Fixture {
  const f = FIXTURES.find((x) => x.file === file);
  if (!f) throw new Error(`no fixture ${file}`);
  return f;
}

export async function audioOf(file: string): Promise<Int16Array> {
  return (await readWavFile(path.join(UTTERANCES, file))).samples;
}

/** Real engines, loaded once per test file: the end-to-end suites use no fakes. */
export async function realEngines(): Promise<{ engines: Engines; close: () => Promise<void> }> {
  const config = validateConfig({}, 'test');
  const engines = await createEngines({ config, file: null, baseDir: ROOT }, createLogger({ level: 'silent' }));
  return { engines, close: () => closeEngines(engines) };
}

/** Real engines for the whole test file: loaded before its tests, closed after them. */
export function useRealEngines(): () => Engines {
  let loaded: { engines: Engines; close: () => Promise<void> } | null = null;
  beforeAll(async () => {
    loaded = await realEngines();
  });
  afterAll(async () => {
    await loaded?.close();
  });
  return () => {
    if (!loaded) throw new Error('engines are used before beforeAll ran');
    return loaded.engines;
  };
}

/** A new conversation over shared engines. */
export function conversation(engines: Engines, toml: Record<string, unknown> = {}): Pipeline {
  const config: GatewayConfig = validateConfig({ points: TEST_POINTS, ...toml }, 'test');
  return new Pipeline({
    config, engines, connectors: createConnectors(config, ROOT), log: createLogger({ level: 'silent' }),
    outputDir: null, now: () => NOW, timeZone: 'Europe/London',
  });
}

/**
 * espeak-ng saying `text` (after "hey jarvis" when `wake`), laid out as scripts/fixtures.sh
 * lays out the shipped fixtures: 300 ms of silence, the wake phrase, a 400 ms pause, the
 * command, 800 ms of silence; 16 kHz mono. For cases not worth a committed WAV. Returns the
 * file written in `dir`.
 */
export async function synthesise(
  text: string,
  dir: string,
  name: string,
  opts: { wake?: boolean; voice?: string } = {},
): Promise<string> {
  const run = promisify(execFile);
  const voice = opts.voice ?? 'en-us+f2';
  const part = (n: string): string => path.join(dir, `${name}.${n}.wav`);
  const sox = ['-R', '-D', '-V1'];
  const to16k = ['-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer'];
  const pieces: string[] = [];
  for (const [n, secs] of [['lead', 0.3], ['gap', 0.4], ['tail', 0.8]] as const) {
    await run('sox', [...sox, '-n', ...to16k, part(n), 'trim', '0', String(secs)]);
  }
  for (const [n, words] of [['wake', 'hey jarvis'], ['command', text]] as const) {
    await run('espeak-ng', ['-v', voice, '-s', '150', '-w', part(`${n}.raw`), '--', words]);
    await run('sox', [...sox, part(`${n}.raw`), ...to16k, part(n)]);
  }
  if (opts.wake !== false) pieces.push(part('lead'), part('wake'), part('gap'));
  else pieces.push(part('lead'));
  pieces.push(part('command'), part('tail'));
  const out = path.join(dir, `${name}.wav`);
  await run('sox', [...sox, ...pieces, out]);
  return out;
}
