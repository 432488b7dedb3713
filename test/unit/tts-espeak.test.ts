import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { EspeakTts, capText } from '../../src/tts/espeak.js';
import { createTextToSpeech, speechDurationMs, speechTo16k } from '../../src/tts/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tts-espeak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeProgram(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho $$ > "${path}.pid"\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function rms(x: Int16Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return x.length ? Math.sqrt(sum / x.length) : 0;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'no error',
    (e: unknown) => e,
  );
}

describe('EspeakTts with the real espeak-ng', () => {
  it('synthesizes at the native 22.05 kHz and converts to 16 kHz on request', async () => {
    const tts = new EspeakTts({ voice: 'en-us', speed: 160 });
    const audio = await tts.synthesize('close breaker seven at substation twelve');
    expect(tts.engine).toBe('espeak-ng');
    expect(audio.sampleRate).toBe(22050);
    expect(speechDurationMs(audio)).toBeGreaterThan(1500);
    expect(speechDurationMs(audio)).toBeLessThan(5000);
    expect(rms(audio.samples)).toBeGreaterThan(500);
    const pcm16k = speechTo16k(audio);
    expect(Math.abs(pcm16k.length - (audio.samples.length * 16000) / 22050)).toBeLessThan(2);
    expect(rms(pcm16k)).toBeGreaterThan(500);
  });

  it('speaks faster at a higher speed', async () => {
    const text = 'what is on my calendar tomorrow';
    const slow = await new EspeakTts({ speed: 120 }).synthesize(text);
    const fast = await new EspeakTts({ speed: 300 }).synthesize(text);
    expect(fast.samples.length).toBeLessThan(slow.samples.length * 0.7);
  });

  it('speaks text that looks like options or shell syntax instead of obeying it', async () => {
    const marker = join(dir, 'pwned');
    const tts = new EspeakTts();
    const dashed = await tts.synthesize('--version');
    expect(speechDurationMs(dashed)).toBeGreaterThan(300);
    await tts.synthesize(`hello $(touch ${marker}); touch ${marker} \`touch ${marker}\``);
    expect(existsSync(marker)).toBe(false);
  });

  it('cuts over-long text at a word boundary before synthesis', async () => {
    expect(capText('one two three four', 10)).toBe('one two');
    const long = 'confirm '.repeat(200);
    const capped = await new EspeakTts({ maxTextChars: 16 }).synthesize(long);
    const two = await new EspeakTts().synthesize('confirm confirm');
    expect(Math.abs(capped.samples.length - two.samples.length)).toBeLessThan(2205);
  });

  it('returns no samples for blank text without running espeak-ng', async () => {
    const tts = new EspeakTts({ binary: join(dir, 'absent') });
    expect((await tts.synthesize('   ')).samples.length).toBe(0);
  });

  it('is the default engine of createTextToSpeech', async () => {
    expect(createTextToSpeech().engine).toBe('espeak-ng');
    const tts = createTextToSpeech({ engine: 'espeak-ng', voice: 'en-us+f3' });
    const audio = await tts.synthesize('no');
    expect(audio.samples.length).toBeGreaterThan(0);
  });
});

describe('EspeakTts failures', () => {
  it('reports a missing espeak-ng as GW_ENGINE_MISSING naming the Debian package', async () => {
    const err = await errorOf(new EspeakTts({ binary: join(dir, 'absent') }).synthesize('hi'));
    expect((err as GatewayError).code).toBe('GW_ENGINE_MISSING');
    expect((err as GatewayError).message).toContain('Debian package espeak-ng');
  });

  it('refuses a voice name that is not one', () => {
    expect(() => new EspeakTts({ voice: 'en; rm -rf /' })).toThrow(GatewayError);
    expect(() => new EspeakTts({ speed: 5 })).toThrow(/80\.\.450/);
  });

  it('reports output that is not a WAV as GW_ENGINE_FAILED', async () => {
    const bin = fakeProgram('garbage', 'echo "not audio"');
    const err = await errorOf(new EspeakTts({ binary: bin }).synthesize('hi'));
    expect((err as GatewayError).code).toBe('GW_ENGINE_FAILED');
  });

  it('kills espeak-ng and reports GW_ENGINE_TIMEOUT after the deadline', async () => {
    const bin = fakeProgram('slow', 'exec sleep 60');
    const err = await errorOf(new EspeakTts({ binary: bin, timeoutMs: 200 }).synthesize('hi'));
    expect((err as GatewayError).code).toBe('GW_ENGINE_TIMEOUT');
    const pid = Number(readFileSync(`${bin}.pid`, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('kills espeak-ng and rejects with the abort reason when aborted', async () => {
    const bin = fakeProgram('hang', 'exec sleep 60');
    const ac = new AbortController();
    const pending = errorOf(new EspeakTts({ binary: bin }).synthesize('hi', ac.signal));
    while (!existsSync(`${bin}.pid`)) await sleep(10);
    ac.abort();
    const err = await pending;
    expect((err as Error).name).toBe('AbortError');
    const pid = Number(readFileSync(`${bin}.pid`, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
