import type { VoiceActivityDetector } from './types.js';

export interface EnergyVadOptions {
  /** Samples per decision. Default 512 (32 ms at 16 kHz), the same as Silero's. */
  frameSamples?: number;
  /** A frame quieter than this (RMS, dB relative to full scale) is never speech. Default -50. */
  minSpeechDbfs?: number;
  /** A frame must be this far above the estimated noise floor to be speech. Default 6 dB. */
  marginDb?: number;
  /**
   * The noise floor is the quietest frame within this window, so it follows a change of
   * background within that time. Default 1500 ms.
   */
  floorWindowMs?: number;
  /** dB over which the probability goes from about 0.12 to 0.88 around the limit. Default 4. */
  softnessDb?: number;
}

export const DEFAULT_ENERGY_VAD_OPTIONS: Required<EnergyVadOptions> = Object.freeze({
  frameSamples: 512,
  minSpeechDbfs: -50,
  marginDb: 6,
  floorWindowMs: 1500,
  softnessDb: 4,
});

/** Frame RMS in dB relative to a full-scale square wave; -120 for digital silence. */
export function frameDbfs(frame: Int16Array | Float32Array): number {
  let sum = 0;
  for (const s of frame) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, frame.length)) / 32768;
  return rms > 1e-6 ? 20 * Math.log10(rms) : -120;
}

/**
 * A dependency-free VAD: a frame is speech when its level stands `marginDb` above the
 * noise floor (the quietest frame of the last `floorWindowMs`) and above `minSpeechDbfs`.
 * It cannot tell speech from other loud sounds, and while a recording starts in the
 * middle of speech the floor is too high until the first pause.
 */
export class EnergyVad implements VoiceActivityDetector {
  readonly engine = 'energy' as const;
  readonly frameSamples: number;
  private readonly options: Required<EnergyVadOptions>;
  private readonly pending: Int16Array;
  private pendingLength = 0;
  /** Ring of recent frame levels for the floor estimate. */
  private readonly levels: Float64Array;
  private levelCount = 0;
  private levelNext = 0;

  constructor(options: EnergyVadOptions = {}) {
    this.options = { ...DEFAULT_ENERGY_VAD_OPTIONS, ...options };
    this.frameSamples = this.options.frameSamples;
    this.pending = new Int16Array(this.frameSamples);
    const frameMs = (this.frameSamples * 1000) / 16_000;
    this.levels = new Float64Array(Math.max(1, Math.round(this.options.floorWindowMs / frameMs)));
  }

  process(samples: Int16Array): Promise<number[]> {
    const probabilities: number[] = [];
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(this.frameSamples - this.pendingLength, samples.length - at);
      this.pending.set(samples.subarray(at, at + take), this.pendingLength);
      this.pendingLength += take;
      at += take;
      if (this.pendingLength < this.frameSamples) break;
      this.pendingLength = 0;
      probabilities.push(this.judge(frameDbfs(this.pending)));
    }
    return Promise.resolve(probabilities);
  }

  /** Current noise floor estimate in dBFS (the level of the quietest recent frame). */
  get noiseFloorDbfs(): number {
    let floor = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.levelCount; i++) floor = Math.min(floor, this.levels[i] ?? floor);
    return Number.isFinite(floor) ? floor : -120;
  }

  reset(): void {
    this.pendingLength = 0;
    this.levelCount = 0;
    this.levelNext = 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private judge(db: number): number {
    this.levels[this.levelNext] = db;
    this.levelNext = (this.levelNext + 1) % this.levels.length;
    this.levelCount = Math.min(this.levelCount + 1, this.levels.length);
    const { minSpeechDbfs, marginDb, softnessDb } = this.options;
    const limit = Math.max(minSpeechDbfs, this.noiseFloorDbfs + marginDb);
    return 1 / (1 + Math.exp(-(db - limit) / (softnessDb / 4)));
  }
}
