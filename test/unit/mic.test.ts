import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openMicrophone } from '../../src/audio/mic.js';
import { GatewayError } from '../../src/errors.js';

// node-record-lpcm16 spawns the recorder by name with process.env, so a fake program
// earlier on PATH receives exactly the arguments the real one would.
const dir = mkdtempSync(join(tmpdir(), 'mic-test-'));
const bin = join(dir, 'bin');
const empty = join(dir, 'empty');
const pcmFile = join(dir, 'speech.raw');
const argsFile = join(dir, 'args.txt');
const pidFile = join(dir, 'pid.txt');
const originalPath = process.env.PATH ?? '';
let speech: Int16Array;

function fake(name: string, body: string): void {
  const path = join(bin, name);
  const record = `printf '%s\\n' "$@" > "${argsFile}"\necho $$ > "${pidFile}"`;
  writeFileSync(path, `#!/bin/sh\n${record}\n${body}\n`);
  chmodSync(path, 0o755);
}

beforeAll(() => {
  execFileSync('mkdir', ['-p', bin, empty]);
  // Real speech as raw s16le at 16 kHz: what sox would read from a microphone.
  const wav = execFileSync('espeak-ng', ['-v', 'en-us', '--stdout', 'close breaker seven']);
  const raw = execFileSync('sox', ['-t', 'wav', '-', '-r', '16000', '-c', '1', '-b', '16',
    '-e', 'signed-integer', '-t', 'raw', '-'], { input: wav });
  writeFileSync(pcmFile, raw);
  speech = new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2).slice();
  process.env.PATH = `${bin}:${originalPath}`;
});
afterEach(() => {
  process.env.PATH = `${bin}:${originalPath}`;
  rmSync(argsFile, { force: true });
  rmSync(pidFile, { force: true });
});
afterAll(() => {
  process.env.PATH = originalPath;
  rmSync(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const frames: Int16Array[] = [];
  for await (const f of it) frames.push(f);
  return frames;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('openMicrophone', () => {
  it('yields the recorder output as 80 ms frames of 16 kHz samples (sox)', async () => {
    fake('sox', `exec cat "${pcmFile}"`);
    const frames = await collect(openMicrophone({ recorder: 'sox' }));
    expect(frames.slice(0, -1).every((f) => f.length === 1280)).toBe(true);
    const joined = Int16Array.from(frames.flatMap((f) => Array.from(f)));
    expect(joined).toEqual(speech);
    const args = readFileSync(argsFile, 'utf8').trim().split('\n');
    expect(args).toEqual([
      '--default-device', '--no-show-progress', '--rate', '16000', '--channels', '1',
      '--encoding', 'signed-integer', '--bits', '16', '--type', 'raw', '-',
    ]);
  });

  it('passes the ALSA device to arecord and asks for raw S16_LE at 16 kHz', async () => {
    fake('arecord', `exec cat "${pcmFile}"`);
    const frames = await collect(openMicrophone({ recorder: 'arecord', device: 'hw:1,0' }));
    expect(frames.reduce((n, f) => n + f.length, 0)).toBe(speech.length);
    expect(readFileSync(argsFile, 'utf8').trim().split('\n')).toEqual([
      '-D', 'hw:1,0', '-q', '-r', '16000', '-c', '1', '-t', 'raw', '-f', 'S16_LE', '-',
    ]);
  });

  it('stops the recording program when the signal aborts', async () => {
    // tail -f keeps running after the file, like a live microphone.
    fake('sox', `exec tail -c +1 -f "${pcmFile}"`);
    const ac = new AbortController();
    let count = 0;
    for await (const frame of openMicrophone({ recorder: 'sox', signal: ac.signal })) {
      expect(frame.length).toBe(1280);
      if (++count === 5) ac.abort();
    }
    expect(count).toBe(5);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    while (processAlive(pid)) await sleep(20);
    expect(processAlive(pid)).toBe(false);
  });

  it('stops the recording program when the consumer breaks out of the loop', async () => {
    fake('rec', `exec tail -c +1 -f "${pcmFile}"`);
    for await (const frame of openMicrophone({ recorder: 'rec' })) {
      expect(frame.length).toBe(1280);
      break;
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    while (processAlive(pid)) await sleep(20);
    expect(processAlive(pid)).toBe(false);
  });

  it('starts nothing when the signal is already aborted', async () => {
    fake('sox', `exec cat "${pcmFile}"`);
    const frames = await collect(openMicrophone({ signal: AbortSignal.abort() }));
    expect(frames).toEqual([]);
    expect(existsSync(argsFile)).toBe(false);
  });

  it('reports a missing recording program as GW_AUDIO_DEVICE naming the package', async () => {
    process.env.PATH = empty;
    const err = await collect(openMicrophone({ recorder: 'arecord' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('GW_AUDIO_DEVICE');
    expect((err as GatewayError).message).toContain('alsa-utils');
  });

  it('reports a recording program that fails as GW_AUDIO_DEVICE with its stderr', async () => {
    fake('sox', 'echo "sox FAIL formats: can\'t open input device" >&2\nexit 2');
    const err = await collect(openMicrophone({ recorder: 'sox' })).catch((e: unknown) => e);
    expect((err as GatewayError).code).toBe('GW_AUDIO_DEVICE');
    expect((err as GatewayError).message).toContain("can't open input device");
  });

  it('keeps at most maxQueuedFrames while the consumer is slow, dropping the oldest', async () => {
    fake('sox', `exec cat "${pcmFile}"`);
    const mic = openMicrophone({ recorder: 'sox', maxQueuedFrames: 2 });
    const first = await mic.next();
    expect(first.done).toBe(false);
    // Let the recorder write everything and exit while nobody reads.
    const pid = Number(readFileSync(pidFile, 'utf8'));
    while (processAlive(pid)) await sleep(20);
    await sleep(100);
    const rest = await collect({ [Symbol.asyncIterator]: () => mic });
    expect(rest.length).toBeLessThanOrEqual(2);
    // The newest audio survives: the last frame is the end of the recording.
    const last = rest[rest.length - 1] ?? new Int16Array(0);
    expect(Array.from(last)).toEqual(Array.from(speech.subarray(speech.length - last.length)));
  });
});
