import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import { readWavFile } from '../../src/audio/wav.js';
import { validateConfig, type GatewayConfig } from '../../src/config/load.js';
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
  const config: GatewayConfig = validateConfig(toml, 'test');
  return new Pipeline({
    config, engines, connectors: createConnectors(config, ROOT), log: createLogger({ level: 'silent' }),
    outputDir: null, now: () => NOW, timeZone: 'Europe/London',
  });
}
