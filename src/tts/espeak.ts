import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeWavMono } from '../audio/wav.js';
import { runProgram } from './process.js';
import type { SpeechAudio, TextToSpeech } from './types.js';

export interface EspeakOptions {
  /** espeak-ng voice, e.g. `en-us`, `en-us+f3`, `en`; default `en-us`. */
  readonly voice?: string;
  /** Words per minute, 80..450; default 160. */
  readonly speed?: number;
  /** Program to run; default `espeak-ng` on PATH. */
  readonly binary?: string;
  /** Deadline for one synthesis; default 15 s. */
  readonly timeoutMs?: number;
  /** Longer text is cut at a word boundary before synthesis; default 1000 characters. */
  readonly maxTextChars?: number;
  readonly log?: Logger;
}

export const ESPEAK_DEFAULTS = {
  voice: 'en-us',
  speed: 160,
  binary: 'espeak-ng',
  timeoutMs: 15_000,
  maxTextChars: 1000,
} as const;

/** espeak-ng writes 22.05 kHz 16-bit mono; this bounds its output to about 5 minutes. */
const MAX_OUTPUT_SECONDS = 300;
const ESPEAK_RATE = 22_050;
const VOICE_PATTERN = /^[A-Za-z0-9_-]+(\+[A-Za-z0-9_-]+)?$/;

/** Cuts text to at most `max` characters, at the last space when there is one. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return space > max / 2 ? cut.slice(0, space) : cut;
}

/** Offline speech with the espeak-ng program, run directly (never through a shell). */
export class EspeakTts implements TextToSpeech {
  readonly engine = 'espeak-ng' as const;
  private readonly opts: Required<Omit<EspeakOptions, 'log'>>;
  private readonly log: Logger | undefined;

  constructor(options: EspeakOptions = {}) {
    this.opts = { ...ESPEAK_DEFAULTS, ...stripUndefined(options) };
    this.log = options.log;
    const { voice, speed } = this.opts;
    if (!VOICE_PATTERN.test(voice)) {
      throw new GatewayError('GW_CONFIG_INVALID', `espeak-ng voice "${voice}" is not a voice name`);
    }
    if (!Number.isInteger(speed) || speed < 80 || speed > 450) {
      throw new GatewayError('GW_CONFIG_INVALID', `espeak-ng speed ${speed} is outside 80..450`);
    }
  }

  async synthesize(text: string, signal?: AbortSignal): Promise<SpeechAudio> {
    signal?.throwIfAborted();
    const { voice, speed, binary, timeoutMs, maxTextChars } = this.opts;
    const spoken = capText(text.trim(), maxTextChars);
    if (spoken.length < text.trim().length) {
      this.log?.warn({ chars: text.length, maxTextChars }, 'speech text shortened');
    }
    if (spoken === '') return { samples: new Int16Array(0), sampleRate: ESPEAK_RATE };
    const started = performance.now();
    // `--` ends the options, so text starting with "-" is spoken, not parsed.
    const { stdout, aborted } = await runProgram({
      command: binary,
      args: ['-v', voice, '-s', String(speed), '--stdout', '--', spoken],
      debianPackage: 'espeak-ng',
      timeoutMs,
      maxOutputBytes: MAX_OUTPUT_SECONDS * ESPEAK_RATE * 2 + 4096,
      signal,
    });
    if (aborted) signal?.throwIfAborted();
    let wav;
    try {
      wav = decodeWavMono(stdout, { maxSeconds: MAX_OUTPUT_SECONDS });
    } catch (err) {
      throw new GatewayError('GW_ENGINE_FAILED', 'espeak-ng did not produce a usable WAV', {
        cause: err,
      });
    }
    this.log?.debug(
      { engine: this.engine, ms: Math.round(performance.now() - started), audioMs: wav.durationMs },
      'speech synthesized',
    );
    return { samples: wav.samples, sampleRate: wav.sampleRate };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
