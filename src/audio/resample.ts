import { GatewayError } from '../errors.js';
import { SAMPLE_RATE } from './pcm.js';

/**
 * Band-limited sample-rate conversion with a Kaiser-windowed sinc kernel.
 *
 * The kernel is tabulated once in "zero-crossing" units and interpolated
 * linearly, so any pair of rates works (44.1 kHz, 22.05 kHz, 11025 Hz, odd
 * rates from phone apps) without a per-ratio polyphase table. When the output
 * rate is lower, the cutoff moves below the output Nyquist frequency, which is
 * the anti-aliasing low-pass.
 */

/** Zero crossings of the sinc on each side of the centre tap. */
const ZERO_CROSSINGS = 24;
/** Table entries per zero crossing; linear interpolation between them. */
const TABLE_RESOLUTION = 512;
/** Kaiser beta; about 80 dB of stop-band attenuation. */
const KAISER_BETA = 8;
/** Cutoff as a fraction of the lower Nyquist frequency, leaving room for the transition band. */
const ROLLOFF = 0.9;
/** Highest rate accepted on input or output. */
export const MAX_SAMPLE_RATE = 384_000;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const half = x / 2;
  for (let k = 1; k < 50; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function buildKernelTable(): Float64Array {
  const size = ZERO_CROSSINGS * TABLE_RESOLUTION;
  const table = new Float64Array(size + 2);
  const norm = besselI0(KAISER_BETA);
  for (let i = 0; i <= size; i++) {
    const u = i / TABLE_RESOLUTION;
    const sinc = i === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
    const r = u / ZERO_CROSSINGS;
    table[i] = (sinc * besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r)))) / norm;
  }
  return table;
}

let kernelTable: Float64Array | undefined;

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Converts the next chunk; output lags input by the filter's half-width. */
  push(samples: ArrayLike<number>): Int16Array;
  /** Emits the tail held back for the filter; the resampler cannot be used afterwards. */
  flush(): Int16Array;
}

function checkRate(rate: number, what: string): void {
  if (!Number.isInteger(rate) || rate < 1000 || rate > MAX_SAMPLE_RATE) {
    throw new GatewayError(
      'GW_AUDIO_UNSUPPORTED',
      `${what} sample rate ${rate} Hz is outside 1000..${MAX_SAMPLE_RATE} Hz`,
    );
  }
}

function clip16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

class SincResampler implements Resampler {
  private readonly table: Float64Array;
  private readonly fc: number;
  private readonly halfWidth: number;
  private history = new Float32Array(0);
  private historyStart = 0;
  private received = 0;
  private produced = 0;
  private finished = false;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    kernelTable ??= buildKernelTable();
    this.table = kernelTable;
    this.fc = Math.min(1, toRate / fromRate) * ROLLOFF;
    this.halfWidth = ZERO_CROSSINGS / this.fc;
  }

  push(samples: ArrayLike<number>): Int16Array {
    if (this.finished) throw new Error('resampler already flushed');
    this.append(samples);
    return this.emit(false);
  }

  flush(): Int16Array {
    if (this.finished) return new Int16Array(0);
    const out = this.emit(true);
    this.finished = true;
    this.history = new Float32Array(0);
    return out;
  }

  private append(samples: ArrayLike<number>): void {
    const keepFrom = Math.max(
      this.historyStart,
      Math.floor(this.timeOf(this.produced) - this.halfWidth) - 1,
    );
    const kept = this.history.subarray(keepFrom - this.historyStart);
    const next = new Float32Array(kept.length + samples.length);
    next.set(kept, 0);
    for (let i = 0; i < samples.length; i++) next[kept.length + i] = samples[i] ?? 0;
    this.history = next;
    this.historyStart = keepFrom;
    this.received += samples.length;
  }

  private timeOf(outputIndex: number): number {
    return (outputIndex * this.fromRate) / this.toRate;
  }

  private emit(final: boolean): Int16Array {
    const total = final
      ? Math.ceil((this.received * this.toRate) / this.fromRate)
      : Number.POSITIVE_INFINITY;
    const values: number[] = [];
    for (;;) {
      if (this.produced >= total) break;
      const t = this.timeOf(this.produced);
      if (!final && Math.floor(t + this.halfWidth) >= this.received) break;
      values.push(clip16(this.sampleAt(t)));
      this.produced++;
    }
    return Int16Array.from(values);
  }

  private sampleAt(t: number): number {
    const { table, fc, history, historyStart, received } = this;
    const first = Math.max(0, Math.ceil(t - this.halfWidth));
    const last = Math.min(received - 1, Math.floor(t + this.halfWidth));
    const scale = fc * TABLE_RESOLUTION;
    let acc = 0;
    for (let k = first; k <= last; k++) {
      const u = Math.abs(t - k) * scale;
      const i = Math.floor(u);
      const frac = u - i;
      const w = (table[i] ?? 0) * (1 - frac) + (table[i + 1] ?? 0) * frac;
      acc += (history[k - historyStart] ?? 0) * w;
    }
    return acc * fc;
  }
}

class PassThrough implements Resampler {
  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {}

  push(samples: ArrayLike<number>): Int16Array {
    const out = new Int16Array(samples.length);
    for (let i = 0; i < samples.length; i++) out[i] = clip16(samples[i] ?? 0);
    return out;
  }

  flush(): Int16Array {
    return new Int16Array(0);
  }
}

/**
 * A streaming converter from `fromRate` to `toRate` (16 kHz by default) for
 * 16-bit sample values. Feed chunks of any size with `push`; call `flush`
 * once at the end of the stream to get the last few milliseconds.
 */
export function createResampler(fromRate: number, toRate: number = SAMPLE_RATE): Resampler {
  checkRate(fromRate, 'input');
  checkRate(toRate, 'output');
  if (fromRate === toRate) return new PassThrough(fromRate, toRate);
  return new SincResampler(fromRate, toRate);
}

/** Converts a whole signal at once; values are in 16-bit sample units. */
export function resample(
  samples: ArrayLike<number>,
  fromRate: number,
  toRate: number = SAMPLE_RATE,
): Int16Array {
  const r = createResampler(fromRate, toRate);
  const head = r.push(samples);
  const tail = r.flush();
  if (tail.length === 0) return head;
  const out = new Int16Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}
