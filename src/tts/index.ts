import type { Logger } from '../log.js';
import { EspeakTts, type EspeakOptions } from './espeak.js';
import { OpenAiTts, type OpenAiTtsOptions } from './openai.js';
import type { TextToSpeech } from './types.js';

export type { SpeechAudio, TextToSpeech } from './types.js';
export { EspeakTts, ESPEAK_DEFAULTS, type EspeakOptions } from './espeak.js';
export { OpenAiTts, OPENAI_PCM_RATE, type OpenAiTtsOptions } from './openai.js';
export {
  SpeakerPlayer,
  findPlayer,
  playAudio,
  type PlayOptions,
  type PlayerOptions,
  type PlaybackResult,
} from './player.js';
export { speechTo16k, speechToWav, speechDurationMs } from './audio.js';

export type TextToSpeechOptions =
  | ({ readonly engine: 'espeak-ng' } & EspeakOptions)
  | ({ readonly engine: 'openai' } & OpenAiTtsOptions);

/** Builds the configured engine; espeak-ng is the offline default. */
export function createTextToSpeech(
  opts: TextToSpeechOptions = { engine: 'espeak-ng' },
  log?: Logger,
): TextToSpeech {
  const { engine, ...rest } = opts;
  const withLog = { ...rest, log: rest.log ?? log };
  return engine === 'openai' ? new OpenAiTts(withLog) : new EspeakTts(withLog);
}
