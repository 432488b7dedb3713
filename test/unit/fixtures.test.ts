import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeWav, parseWavHeader } from '../../src/audio/wav.js';

const root = join(import.meta.dirname, '../..');
const utterances = join(root, 'fixtures/utterances');

const entrySchema = z.strictObject({
  file: z.string().regex(/^[a-z0-9_]+__[a-z0-9+_-]+\.wav$/),
  voice: z.string().nullable(),
  speed: z.number().int().nullable(),
  noise: z
    .strictObject({ type: z.enum(['white', 'pink']), snrDb: z.number().nullable() })
    .nullable(),
  text: z.string(),
  wake: z.boolean(),
  expect: z.strictObject({
    transcript: z.string(),
    intent: z.string().nullable(),
    slots: z.record(z.string(), z.union([z.string(), z.number()])),
  }),
  note: z.string().optional(),
});
const manifest = z
  .array(entrySchema)
  .parse(JSON.parse(readFileSync(join(root, 'fixtures/manifest.json'), 'utf8')));

const scratch = mkdtempSync(join(tmpdir(), 'fixtures-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function rms(x: Int16Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / Math.max(1, x.length));
}

describe('fixtures/manifest.json', () => {
  it('lists every WAV in fixtures/utterances exactly once', () => {
    const files = manifest.map((e) => e.file);
    expect(new Set(files).size).toBe(files.length);
    const onDisk = readdirSync(utterances).filter((f) => f.endsWith('.wav'));
    expect([...files].sort()).toEqual(onDisk.sort());
  });

  it('points only at 16 kHz mono 16-bit WAVs that decodeWav reads', () => {
    for (const entry of manifest) {
      const buf = readFileSync(join(utterances, entry.file));
      const header = parseWavHeader(buf);
      expect([header.sampleRate, header.channels, header.bitsPerSample], entry.file).toEqual([
        16000, 1, 16,
      ]);
      const wav = decodeWav(buf);
      expect(wav.samples.length, entry.file).toBe(header.dataBytes / 2);
      expect(rms(wav.samples), entry.file).toBeGreaterThan(50);
    }
  });

  it('covers at least four voices, two speeds, clean and noisy audio', () => {
    const voices = new Set(manifest.map((e) => e.voice).filter((v) => v !== null));
    const speeds = new Set(manifest.map((e) => e.speed).filter((s) => s !== null));
    expect([...voices]).toEqual(expect.arrayContaining(['en-us', 'en-us+f3', 'en-us+m3', 'en']));
    expect(speeds.size).toBeGreaterThanOrEqual(2);
    expect(manifest.some((e) => e.noise === null)).toBe(true);
    expect(manifest.some((e) => e.noise !== null && e.text !== '')).toBe(true);
  });

  it('puts the wake word first and expects intents only where they can occur', () => {
    for (const e of manifest) {
      if (e.wake) expect(e.text.startsWith('hey jarvis'), e.file).toBe(true);
      else expect(e.text.includes('jarvis'), e.file).toBe(false);
      // Without the wake word only a follow-up answer can mean anything.
      if (!e.wake && e.expect.intent !== null) expect(e.expect.intent, e.file).toMatch(/^system\./);
    }
    const intents = new Set(manifest.map((e) => e.expect.intent));
    for (const name of ['calendar.agenda', 'calendar.next', 'scada.breaker_operate',
      'system.confirm', 'system.deny', null]) {
      expect(intents.has(name), String(name)).toBe(true);
    }
    const close = manifest.find((e) => e.file.startsWith('breaker_close_7_12__'));
    expect(close?.expect.slots).toEqual({ operation: 'close', breaker: 7, substation: 12 });
  });

  it('leaves about 300 ms of silence before clean speech', () => {
    for (const e of manifest.filter((m) => m.noise === null)) {
      const { samples } = decodeWav(readFileSync(join(utterances, e.file)));
      expect(rms(samples.subarray(0, 4000)), e.file).toBeLessThan(5);
      expect(rms(samples.subarray(4800, 16000)), e.file).toBeGreaterThan(300);
    }
  });

  it('keeps the whole set under 4 MB', () => {
    const total = manifest.reduce((n, e) => n + statSync(join(utterances, e.file)).size, 0);
    expect(total).toBeLessThan(4 * 1024 * 1024);
  });

  it('is reproduced byte for byte by scripts/fixtures.sh', () => {
    execFileSync('bash', [join(root, 'scripts/fixtures.sh')], {
      env: { ...process.env, FIXTURES_DIR: scratch },
      stdio: 'ignore',
    });
    expect(readFileSync(join(scratch, 'manifest.json'))).toEqual(
      readFileSync(join(root, 'fixtures/manifest.json')),
    );
    for (const e of manifest) {
      const again = readFileSync(join(scratch, 'utterances', e.file));
      expect(again.equals(readFileSync(join(utterances, e.file))), e.file).toBe(true);
    }
  });
});
