import type { OpenAiSttOptions } from './openai.js';
import type { PocketsphinxOptions } from './pocketsphinx.js';
import type { SpeechToText } from './types.js';

export type { SpeechToText, SttStream, Transcript, TranscriptWord } from './types.js';

export type SpeechToTextOptions =
  | ({ readonly engine: 'pocketsphinx' } & PocketsphinxOptions)
  | ({ readonly engine: 'openai' } & OpenAiSttOptions);

/**
 * Builds the configured recogniser. Each engine's module is loaded only when it
 * is chosen, and a missing program, model or key fails here, at start-up.
 */
export async function createSpeechToText(options: SpeechToTextOptions): Promise<SpeechToText> {
  if (options.engine === 'openai') {
    const { OpenAiStt } = await import('./openai.js');
    return new OpenAiStt(options);
  }
  const { PocketsphinxStt } = await import('./pocketsphinx.js');
  return PocketsphinxStt.create(options);
}
