import { spawn } from 'node:child_process';
import { concatSamples } from '../../src/audio/pcm.js';

/**
 * Test audio made on the spot: espeak-ng speech, silence and seeded noise, all as
 * 16 kHz mono signed 16-bit samples, the gateway's internal format.
 */

export const TEST_SAMPLE_RATE = 16_000;

export interface SpeakOptions {
  /** espeak-ng voice, e.g. 'en-us', 'en-us+f3', 'en-us+m3', 'en'. Default 'en-us'. */
  voice?: string;
  /** Words per minute. Default 160. */
  speed?: number;
}

/** Synthesises `text` with espeak-ng and resamples it to 16 kHz mono s16 with sox. */
export async function speak(text: string, options: SpeakOptions = {}): Promise<Int16Array> {
  const voice = options.voice ?? 'en-us';
  const speed = String(options.speed ?? 160);
  const espeak = spawn('espeak-ng', ['-v', voice, '-s', speed, '--stdout', text], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // -D: no dither, which sox would otherwise add with a random seed; the same text then
  // gives the same samples on every run.
  const soxArgs = ['-q', '-D', '-t', 'wav', '-', '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16'];
  const sox = spawn('sox', [...soxArgs, '-e', 'signed-integer', '-L', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  espeak.stdout.pipe(sox.stdin);

  const chunks: Buffer[] = [];
  sox.stdout.on('data', (c: Buffer) => chunks.push(c));
  const errors: string[] = [];
  espeak.stderr.on('data', (c: Buffer) => errors.push(c.toString()));
  sox.stderr.on('data', (c: Buffer) => errors.push(c.toString()));

  const exited = (p: typeof espeak | typeof sox, name: string): Promise<void> =>
    new Promise((resolve, reject) => {
      p.once('error', reject);
      p.once('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`${name} exited with ${code}: ${errors.join('').trim()}`));
      });
    });
  await Promise.all([exited(espeak, 'espeak-ng'), exited(sox, 'sox')]);

  const bytes = Buffer.concat(chunks);
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

export function msToTestSamples(ms: number): number {
  return Math.round((ms * TEST_SAMPLE_RATE) / 1000);
}

/** Digital silence of the given length. */
export function silence(ms: number): Int16Array {
  return new Int16Array(msToTestSamples(ms));
}

export function concat(...parts: Int16Array[]): Int16Array {
  return concatSamples(parts);
}

/** mulberry32: a tiny seeded generator, so that noise is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function clip(x: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(x)));
}

/** Gaussian white noise whose RMS is `amplitude` (in sample units), the same for one seed. */
export function noise(ms: number, amplitude: number, seed = 1): Int16Array {
  const rand = seeded(seed);
  const out = new Int16Array(msToTestSamples(ms));
  for (let i = 0; i < out.length; i++) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    out[i] = clip(amplitude * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

/** Sample-wise sum of two signals (the longer sets the length), clipped to 16 bits. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = clip((a[i] ?? 0) + (b[i] ?? 0));
  return out;
}

/**
 * Adds white noise at the given signal-to-noise ratio. The signal level is the RMS of the
 * 20 ms frames within 30 dB of the loudest frame, so that pauses do not lower it.
 */
export function withNoise(signal: Int16Array, snrDb: number, seed = 1): Int16Array {
  const frame = msToTestSamples(20);
  const levels: number[] = [];
  for (let at = 0; at + frame <= signal.length; at += frame) {
    levels.push(rms(signal.subarray(at, at + frame)));
  }
  const loudest = Math.max(0, ...levels);
  const active = levels.filter((l) => l > loudest / 31.6);
  const level = Math.sqrt(active.reduce((n, l) => n + l * l, 0) / Math.max(1, active.length));
  const amplitude = level / 10 ** (snrDb / 20);
  const ms = (signal.length * 1000) / TEST_SAMPLE_RATE;
  return mix(signal, noise(ms, amplitude, seed));
}
