import OpenAI, { toFile } from 'openai';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { SAMPLE_RATE } from '../audio/pcm.js';
import { encodeWav } from '../audio/wav.js';
import { describeFailure, openAiClient, type OpenAiConnectionOptions } from '../cloud/openai.js';
import type { SpeechToText, SttStream, Transcript, SttStartOptions } from './types.js';

export interface OpenAiSttOptions extends OpenAiConnectionOptions {
  /** Default `whisper-1`. */
  readonly model?: string;
  /**
   * `verbose_json` returns segments with `avg_logprob`, from which confidence is
   * derived; the gpt-4o transcription models accept only `json`. Default:
   * `verbose_json` for `whisper*` models, `json` otherwise.
   */
  readonly responseFormat?: 'json' | 'verbose_json';
  /** Sent as the `language` field when set (ISO-639-1, e.g. `en`). */
  readonly language?: string;
  /** Longest utterance buffered for upload; default 30 s. */
  readonly maxUtteranceMs?: number;
  readonly log?: Logger;
}

/** Lower-case words separated by single spaces; apostrophes inside words stay. */
export function normaliseText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .replace(/(^|\s)['-]+|['-]+(?=\s|$)/g, '$1')
    .split(/[\s-]+/)
    .filter((w) => w.length > 0)
    .join(' ');
}

interface Segment { readonly avg_logprob?: number; readonly no_speech_prob?: number;
  readonly start?: number; readonly end?: number }

/**
 * From verbose_json segments: exp of the duration-weighted mean `avg_logprob`
 * (the geometric-mean probability of the tokens), times the chance that the
 * segments hold speech at all. Null when the server gave no segments.
 */
export function segmentConfidence(segments: readonly Segment[] | undefined): number | null {
  if (!segments || segments.length === 0) return null;
  let weight = 0;
  let logprob = 0;
  let noSpeech = 0;
  for (const s of segments) {
    if (typeof s.avg_logprob !== 'number') return null;
    const w = Math.max(0.01, (s.end ?? 0) - (s.start ?? 0));
    weight += w;
    logprob += w * s.avg_logprob;
    noSpeech += w * (s.no_speech_prob ?? 0);
  }
  const p = Math.exp(logprob / weight) * (1 - noSpeech / weight);
  return Math.min(1, Math.max(0, p));
}

function cloudError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof OpenAI.APIUserAbortError) {
    return new GatewayError('GW_ENGINE_FAILED', 'speech recognition was aborted', { cause: err });
  }
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new GatewayError('GW_ENGINE_TIMEOUT', 'the transcription service did not answer in time',
      { cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status === undefined ? 'no connection' : `status ${err.status}`;
    return new GatewayError('GW_CLOUD_FAILED', `the transcription service failed (${status})`,
      { cause: err });
  }
  return new GatewayError('GW_CLOUD_FAILED',
    `the transcription service failed: ${describeFailure(err)}`, { cause: err });
}

/** Transcription through an OpenAI-compatible `/audio/transcriptions` endpoint. */
export class OpenAiStt implements SpeechToText {
  readonly engine = 'openai' as const;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly format: 'json' | 'verbose_json';
  private readonly maxSamples: number;

  constructor(private readonly options: OpenAiSttOptions) {
    this.client = openAiClient(options, 'OpenAI transcription needs an API key (stt.openai)');
    this.model = options.model ?? 'whisper-1';
    const verbose = this.model.startsWith('whisper');
    this.format = options.responseFormat ?? (verbose ? 'verbose_json' : 'json');
    this.maxSamples = Math.ceil(((options.maxUtteranceMs ?? 30_000) * SAMPLE_RATE) / 1000);
  }

  /** Buffers the utterance (the API takes whole files) and uploads it at end(). */
  start(options: SttStartOptions = {}): SttStream {
    const { signal } = options;
    const chunks: Int16Array[] = [];
    let total = 0;
    let failure: GatewayError | null = null;
    const controller = new AbortController();
    const abort = (): void => {
      failure ??= new GatewayError('GW_ENGINE_FAILED', 'speech recognition was aborted');
      controller.abort();
    };
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    let result: Promise<Transcript> | null = null;
    return {
      write: (samples) => {
        if (failure || result) return;
        total += samples.length;
        if (total > this.maxSamples) {
          failure = new GatewayError('GW_AUDIO_TOO_LONG',
            'the utterance is longer than the configured maximum');
          chunks.length = 0;
          return;
        }
        chunks.push(samples.slice());
      },
      end: () => {
        result ??= (async () => {
          try {
            if (failure) throw failure;
            const all = new Int16Array(total);
            let at = 0;
            for (const c of chunks) {
              all.set(c, at);
              at += c.length;
            }
            return await this.request(all, controller.signal);
          } finally {
            signal?.removeEventListener('abort', abort);
          }
        })();
        return result;
      },
      abort,
    };
  }

  async transcribe(samples: Int16Array, options: SttStartOptions = {}): Promise<Transcript> {
    const stream = this.start(options);
    stream.write(samples);
    return stream.end();
  }

  private async request(samples: Int16Array, signal: AbortSignal): Promise<Transcript> {
    const t0 = performance.now();
    try {
      const wav = encodeWav(samples, SAMPLE_RATE);
      const file = await toFile(wav, 'utterance.wav', { type: 'audio/wav' });
      const body = {
        file,
        model: this.model,
        ...(this.options.language ? { language: this.options.language } : {}),
      };
      const api = this.client.audio.transcriptions;
      const res = this.format === 'verbose_json'
        ? await api.create({ ...body, response_format: 'verbose_json' }, { signal })
        : await api.create({ ...body, response_format: 'json' }, { signal });
      const segments = 'segments' in res ? res.segments : undefined;
      const confidence = segmentConfidence(segments);
      const ms = Math.round(performance.now() - t0);
      this.options.log?.debug({ ms, model: this.model, confidence }, 'utterance transcribed');
      return { engine: 'openai', text: normaliseText(res.text), confidence };
    } catch (err) {
      throw cloudError(err);
    }
  }

  async close(): Promise<void> {
    // Nothing to release: each request owns its connection.
  }
}
