import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decodeWavMono, encodeWav } from '../../src/audio/wav.js';
import type { GatewayError } from '../../src/errors.js';
import { SpeakerPlayer, findPlayer, playAudio } from '../../src/tts/player.js';
import type { SpeechAudio } from '../../src/tts/types.js';

// No sound card here: fake aplay/play programs earlier on PATH record what they are given.
const dir = mkdtempSync(join(tmpdir(), 'tts-player-'));
const originalPath = process.env.PATH ?? '';
let binCount = 0;

function binWith(programs: Record<string, string>): string {
  const bin = join(dir, `bin${binCount++}`);
  mkdirSync(bin);
  for (const [name, body] of Object.entries(programs)) {
    const path = join(bin, name);
    const script = `#!/bin/sh\nprintf '%s\\n' "$@" > "${bin}/args"\necho $$ > "${bin}/pid"\n`;
    writeFileSync(path, `${script}echo "$AUDIODEV" > "${bin}/audiodev"\n${body}\n`);
    chmodSync(path, 0o755);
  }
  process.env.PATH = `${bin}:${originalPath}`;
  return bin;
}

afterEach(() => {
  process.env.PATH = originalPath;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tone: SpeechAudio = {
  sampleRate: 22050,
  samples: Int16Array.from({ length: 11025 }, (_, i) => Math.round(8000 * Math.sin(i / 5))),
};

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'no error',
    (e: unknown) => e,
  );
}

describe('playAudio', () => {
  it('pipes the speech as a WAV at its own rate into aplay with the device', async () => {
    const bin = binWith({ aplay: `cat > "${dir}/heard.wav"`, play: 'exit 9' });
    expect(await findPlayer()).toBe('aplay');
    const result = await playAudio(tone, { device: 'plughw:1,0' });
    expect(result.interrupted).toBe(false);
    const heard = decodeWavMono(readFileSync(join(dir, 'heard.wav')));
    expect(heard.sampleRate).toBe(22050);
    expect(Array.from(heard.samples)).toEqual(Array.from(tone.samples));
    expect(readFileSync(join(bin, 'args'), 'utf8').trim().split('\n')).toEqual([
      '-D', 'plughw:1,0', '-q', '-t', 'wav', '-',
    ]);
  });

  it('falls back to sox play when aplay is absent, passing the device as AUDIODEV', async () => {
    const bin = binWith({ play: `cat > "${dir}/heard-play.wav"` });
    expect(await findPlayer()).toBe('play');
    await new SpeakerPlayer({ device: 'hw:2' }).play(tone);
    expect(readFileSync(join(bin, 'args'), 'utf8').trim().split('\n')).toEqual([
      '-q', '-t', 'wav', '-',
    ]);
    expect(readFileSync(join(bin, 'audiodev'), 'utf8').trim()).toBe('hw:2');
    expect(readFileSync(join(dir, 'heard-play.wav')).length).toBe(44 + tone.samples.length * 2);
  });

  it('plays a WAV file given by path', async () => {
    binWith({ aplay: `cat > "${dir}/heard-file.wav"` });
    const file = join(dir, 'reply.wav');
    writeFileSync(file, encodeWav(Int16Array.from([1, 2, 3]), 16000));
    await playAudio(file);
    expect(readFileSync(join(dir, 'heard-file.wav'))).toEqual(readFileSync(file));
  });

  it('stops the player and reports interrupted when the signal aborts (barge-in)', async () => {
    const bin = binWith({ aplay: 'exec sleep 60' });
    const ac = new AbortController();
    const pending = playAudio(tone, { signal: ac.signal });
    while (!existsSync(join(bin, 'pid'))) await sleep(10);
    ac.abort();
    expect((await pending).interrupted).toBe(true);
    const pid = Number(readFileSync(join(bin, 'pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('says GW_ENGINE_MISSING naming both packages when neither player exists', async () => {
    process.env.PATH = join(dir, 'nowhere');
    expect(await findPlayer()).toBeNull();
    const err = (await errorOf(playAudio(tone))) as GatewayError;
    expect(err.code).toBe('GW_ENGINE_MISSING');
    expect(err.message).toMatch(/alsa-utils.*sox/);
  });

  it('reports a player that fails as GW_AUDIO_DEVICE', async () => {
    const said = 'aplay: main:831: audio open error: No such file or directory';
    binWith({ aplay: `echo "${said}" >&2; exit 1` });
    const err = (await errorOf(playAudio(tone))) as GatewayError;
    expect(err.code).toBe('GW_AUDIO_DEVICE');
    expect(err.message).toContain('audio open error');
  });

  it('reports the real sox play on a device that does not exist as GW_AUDIO_DEVICE', async () => {
    const err = (await errorOf(
      playAudio(tone, { program: 'play', device: 'gateway_test_no_such_device' }),
    )) as GatewayError;
    expect(err.code).toBe('GW_AUDIO_DEVICE');
  });
});
