import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { grammarConfidence, confidenceFacts } from './confidence.js';
import type { HelperExit, HelperProcess } from './ps-process.js';
import { baseWord, parseDecodeResult, spokenWords, transcriptWords } from './ps-result.js';
import type { SttStream, Transcript } from './types.js';

export interface StreamLimits {
  /** Samples beyond this fail the utterance with GW_AUDIO_TOO_LONG. */
  readonly maxSamples: number;
  /** Deadline from end() to the helper's result. */
  readonly decodeTimeoutMs: number;
}

/** The helper's bound on context audio (MAX_CONTEXT_SAMPLES in native/ps_decode.c). */
export const MAX_CONTEXT_SAMPLES = 5 * 16_000;
/** How much of an utterance's start the helper adapts to when asked (ADAPT_HEAD_SAMPLES). */
export const ADAPT_START_MS = 800;

/** A copy: the caller may reuse its buffer before the pipe has taken the bytes. */
function copyBytes(samples: Int16Array): Uint8Array {
  const { buffer, byteOffset, byteLength } = samples;
  return new Uint8Array(buffer.slice(byteOffset, byteOffset + byteLength));
}

/** Exit status native/ps_decode uses when its input exceeds --max-seconds. */
const EXIT_TOO_LONG = 4;

function exitError(exit: HelperExit): GatewayError {
  if (exit.code === EXIT_TOO_LONG) {
    return new GatewayError('GW_AUDIO_TOO_LONG',
      'the utterance is longer than the recogniser accepts');
  }
  const why = exit.error?.message ?? exit.stderr.trim().split('\n').pop() ?? '';
  const status = exit.signal ? `signal ${exit.signal}` : `status ${exit.code}`;
  return new GatewayError('GW_ENGINE_FAILED',
    `the pocketsphinx helper ended with ${status}: ${why}`, { cause: exit.error ?? undefined });
}

/** One utterance, streamed into its own helper process while it is spoken. */
export class PocketsphinxStream implements SttStream {
  private samples = 0;
  private state: 'open' | 'ended' | 'failed' = 'open';
  private failure: GatewayError | null = null;
  private result: Promise<Transcript> | null = null;
  private readonly removeAbortListener: () => void;
  private rejectPending: ((err: GatewayError) => void) | null = null;

  constructor(
    private readonly helper: HelperProcess,
    private readonly limits: StreamLimits,
    private readonly onSettled: () => void,
    private readonly log: Logger | undefined,
    signal?: AbortSignal,
    context?: Int16Array,
    adaptToStart = false,
  ) {
    const onAbort = (): void => this.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.removeAbortListener = () => signal?.removeEventListener('abort', onAbort);
    // The helper reads a header first (native/ps_decode.c): the context's length, how much
    // of the utterance's start to adapt to, then the context samples.
    const ctx = context
      ? context.subarray(Math.max(0, context.length - MAX_CONTEXT_SAMPLES))
      : null;
    const header = new Uint8Array(8);
    const view = new DataView(header.buffer);
    view.setUint32(0, ctx?.length ?? 0, true);
    view.setUint32(4, adaptToStart ? ADAPT_START_MS : 0, true);
    this.helper.write(header);
    if (ctx && ctx.length > 0) this.helper.write(copyBytes(ctx));
  }

  /** Writes after end() or after a failure are ignored. */
  write(samples: Int16Array): void {
    if (this.state !== 'open') return;
    this.samples += samples.length;
    if (this.samples > this.limits.maxSamples) {
      this.fail(new GatewayError('GW_AUDIO_TOO_LONG',
        'the utterance is longer than the configured maximum'));
      return;
    }
    this.helper.write(copyBytes(samples));
  }

  end(): Promise<Transcript> {
    this.result ??= this.finish();
    return this.result;
  }

  abort(): void {
    if (this.state === 'failed') return;
    this.fail(new GatewayError('GW_ENGINE_FAILED', 'speech recognition was aborted'));
  }

  private fail(err: GatewayError): void {
    this.state = 'failed';
    this.failure = err;
    this.helper.kill();
    this.rejectPending?.(err);
    this.settle();
  }

  private settle(): void {
    this.removeAbortListener();
    this.onSettled();
  }

  private async finish(): Promise<Transcript> {
    if (this.failure) throw this.failure;
    this.state = 'ended';
    const t0 = performance.now();
    this.helper.endInput();
    let timer: NodeJS.Timeout | undefined;
    const stop = new Promise<never>((_, reject) => {
      this.rejectPending = reject;
      timer = setTimeout(() => {
        this.helper.kill();
        reject(new GatewayError('GW_ENGINE_TIMEOUT',
          `pocketsphinx gave no result within ${this.limits.decodeTimeoutMs} ms`));
      }, this.limits.decodeTimeoutMs);
    });
    try {
      const exit = await Promise.race([this.helper.done, stop]);
      if (exit.code !== 0) throw exitError(exit);
      const decoded = parseDecodeResult(exit.stdout);
      const words = spokenWords(decoded);
      const confidence = words.length > 0 ? grammarConfidence(decoded) : 0;
      const ms = Math.round(performance.now() - t0);
      this.log?.debug({ ms, frames: decoded.frames, confidence, facts: confidenceFacts(decoded) },
        'utterance decoded');
      return {
        engine: 'pocketsphinx',
        text: words.map((w) => baseWord(w.word)).join(' '),
        confidence,
        words: transcriptWords(decoded),
      };
    } finally {
      clearTimeout(timer);
      this.rejectPending = null;
      this.settle();
    }
  }
}
