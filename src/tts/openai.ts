import OpenAI from 'openai';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeWavMono } from '../audio/wav.js';
import { describeFailure, openAiClient, type OpenAiConnectionOptions } from '../cloud/openai.js';
import { capText } from './espeak.js';
import type { SpeechAudio, TextToSpeech } from './types.js';

export interface OpenAiTtsOptions extends OpenAiConnectionOptions {
  /** Default `gpt-4o-mini-tts`. */
  readonly model?: string;
  /** Default `alloy`. */
  readonly voice?: string;
  /** `wav` (any rate the server picks) or `pcm` (raw 24 kHz s16le); default `wav`. */
  readonly format?: 'wav' | 'pcm';
  /** Longer text is cut at a word boundary; default 4096 characters (the API's limit). */
  readonly maxTextChars?: number;
  /** Responses larger than this are refused; default 32 MiB. */
  readonly maxAudioBytes?: number;
  readonly log?: Logger;
}

/** The sample rate of the API's raw `pcm` format. */
export const OPENAI_PCM_RATE = 24_000;

async function readBounded(res: Response, max: number): Promise<Buffer> {
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new GatewayError('GW_CLOUD_FAILED', `speech response is larger than ${max} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

function pcmToSamples(buf: Buffer): Int16Array {
  const out = new Int16Array(Math.floor(buf.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}

/** Speech from an OpenAI-compatible `/audio/speech` endpoint. */
export class OpenAiTts implements TextToSpeech {
  readonly engine = 'openai' as const;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly voice: string;
  private readonly format: 'wav' | 'pcm';
  private readonly maxTextChars: number;
  private readonly maxAudioBytes: number;
  private readonly log: Logger | undefined;

  constructor(options: OpenAiTtsOptions) {
    this.client = openAiClient(options, 'OpenAI speech needs an API key (tts.openai)');
    this.model = options.model ?? 'gpt-4o-mini-tts';
    this.voice = options.voice ?? 'alloy';
    this.format = options.format ?? 'wav';
    this.maxTextChars = options.maxTextChars ?? 4096;
    this.maxAudioBytes = options.maxAudioBytes ?? 32 * 1024 * 1024;
    this.log = options.log;
  }

  async synthesize(text: string, signal?: AbortSignal): Promise<SpeechAudio> {
    signal?.throwIfAborted();
    const input = capText(text.trim(), this.maxTextChars);
    if (input === '') return { samples: new Int16Array(0), sampleRate: OPENAI_PCM_RATE };
    const started = performance.now();
    let body: Buffer;
    try {
      const res = await this.client.audio.speech.create(
        { model: this.model, voice: this.voice, input, response_format: this.format },
        { signal: signal ?? null },
      );
      body = await readBounded(res, this.maxAudioBytes);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof GatewayError) throw err;
      const what = describeFailure(err);
      throw new GatewayError('GW_CLOUD_FAILED', `OpenAI speech request failed: ${what}`, {
        cause: err,
      });
    }
    const audio = this.decode(body);
    this.log?.debug(
      { engine: this.engine, ms: Math.round(performance.now() - started), bytes: body.length },
      'speech synthesized',
    );
    return audio;
  }

  private decode(body: Buffer): SpeechAudio {
    if (this.format === 'pcm') {
      return { samples: pcmToSamples(body), sampleRate: OPENAI_PCM_RATE };
    }
    try {
      const wav = decodeWavMono(body);
      return { samples: wav.samples, sampleRate: wav.sampleRate };
    } catch (err) {
      throw new GatewayError('GW_CLOUD_FAILED', 'the speech endpoint did not return a usable WAV', {
        cause: err,
      });
    }
  }
}
