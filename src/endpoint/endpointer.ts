import { GatewayError } from '../errors.js';
import type { EndpointEvent, EndpointerOptions, VoiceActivityDetector } from './types.js';

/**
 * Defaults, chosen for short spoken commands:
 * - threshold 0.5: Silero's own suggestion; for EnergyVad 0.5 is exactly its margin.
 * - trailingSilenceMs 300: long enough to bridge the pauses between words, short enough
 *   that the reply is not held up.
 * - maxUtteranceMs 10 000: a command longer than this is cut (bounds the audio kept).
 * - noSpeechTimeoutMs 4 000: after the wake word or a question, the speaker has 4 s to begin.
 * - minSpeechMs 120: a shorter burst (a click, a cough) does not open the utterance.
 */
export const DEFAULT_ENDPOINTER_OPTIONS: Readonly<EndpointerOptions> = Object.freeze({
  threshold: 0.5,
  trailingSilenceMs: 300,
  maxUtteranceMs: 10_000,
  noSpeechTimeoutMs: 4_000,
  minSpeechMs: 120,
});

export type EndpointerState = 'waiting' | 'speech' | 'ended';

const msToSamples = (ms: number): number => Math.round((ms * 16_000) / 1000);

function validated(options: Partial<EndpointerOptions>): EndpointerOptions {
  const merged = { ...DEFAULT_ENDPOINTER_OPTIONS, ...options };
  for (const [key, value] of Object.entries(merged)) {
    const ok = key === 'threshold' ? value > 0 && value <= 1 : Number.isFinite(value) && value >= 0;
    if (!ok) throw new GatewayError('GW_CONFIG_INVALID', `endpointer option ${key} is ${value}`);
  }
  return Object.freeze(merged);
}

/**
 * Decides where an utterance begins and ends from a VAD's per-frame speech probabilities.
 *
 * waiting -> speech once `minSpeechMs` of consecutive speech frames were seen
 * (speech_start), or -> ended when `noSpeechTimeoutMs` passes first (no_speech).
 * speech -> ended after `trailingSilenceMs` of consecutive non-speech frames (speech_end,
 * reason 'silence') or when the utterance reaches `maxUtteranceMs` (reason 'max_length').
 * In 'ended' further audio is ignored until reset(). Sample positions count from the last
 * reset and move in whole VAD frames.
 */
export class Endpointer {
  readonly options: EndpointerOptions;
  private readonly minSpeech: number;
  private readonly trailing: number;
  private readonly maxUtterance: number;
  private readonly noSpeechTimeout: number;

  private current: EndpointerState = 'waiting';
  /** Samples the VAD has judged since the last reset. */
  private position = 0;
  private runStart = 0;
  private runLength = 0;
  private speechStart = 0;
  private lastSpeechEnd = 0;
  private silence = 0;
  private generation = 0;

  constructor(
    private readonly vad: VoiceActivityDetector,
    options: Partial<EndpointerOptions> = {},
  ) {
    this.options = validated(options);
    this.minSpeech = msToSamples(this.options.minSpeechMs);
    this.trailing = msToSamples(this.options.trailingSilenceMs);
    this.maxUtterance = msToSamples(this.options.maxUtteranceMs);
    this.noSpeechTimeout = msToSamples(this.options.noSpeechTimeoutMs);
  }

  get state(): EndpointerState {
    return this.current;
  }

  /** Feeds 16 kHz samples; resolves to the events they caused, in order (often none). */
  async process(samples: Int16Array): Promise<EndpointEvent[]> {
    if (this.current === 'ended') return [];
    const generation = this.generation;
    const probabilities = await this.vad.process(samples);
    if (generation !== this.generation) return [];
    const events: EndpointEvent[] = [];
    for (const p of probabilities) {
      const event = this.frame(p >= this.options.threshold);
      if (event === null) continue;
      events.push(event);
      // Only speech_start leaves the endpointer listening; the rest end the turn.
      if (event.type !== 'speech_start') break;
    }
    return events;
  }

  /** Starts over for a new turn, including the VAD's own state. */
  reset(): void {
    this.generation++;
    this.vad.reset();
    this.current = 'waiting';
    this.position = 0;
    this.runStart = 0;
    this.runLength = 0;
    this.speechStart = 0;
    this.lastSpeechEnd = 0;
    this.silence = 0;
  }

  private frame(speech: boolean): EndpointEvent | null {
    const start = this.position;
    this.position += this.vad.frameSamples;
    return this.current === 'waiting' ? this.waiting(speech, start) : this.speaking(speech);
  }

  private waiting(speech: boolean, frameStart: number): EndpointEvent | null {
    if (speech) {
      if (this.runLength === 0) this.runStart = frameStart;
      this.runLength += this.vad.frameSamples;
      if (this.runLength >= this.minSpeech) {
        this.current = 'speech';
        this.speechStart = this.runStart;
        this.lastSpeechEnd = this.position;
        this.silence = 0;
        return { type: 'speech_start', atSample: this.position, speechStartSample: this.runStart };
      }
    } else {
      this.runLength = 0;
    }
    if (this.position >= this.noSpeechTimeout) {
      this.current = 'ended';
      return { type: 'no_speech', atSample: this.position };
    }
    return null;
  }

  private speaking(speech: boolean): EndpointEvent | null {
    if (speech) {
      this.silence = 0;
      this.lastSpeechEnd = this.position;
    } else {
      this.silence += this.vad.frameSamples;
    }
    if (this.silence >= this.trailing) {
      return this.end('silence', this.lastSpeechEnd);
    }
    if (this.position - this.speechStart >= this.maxUtterance) {
      return this.end('max_length', this.position);
    }
    return null;
  }

  private end(reason: 'silence' | 'max_length', speechEndSample: number): EndpointEvent {
    this.current = 'ended';
    return {
      type: 'speech_end',
      atSample: this.position,
      reason,
      speechEndSample,
      speechStartSample: this.speechStart,
    };
  }
}
