import { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { TranscriptWord } from './types.js';

/** pocketsphinx counts 100 frames per second (10 ms frame shift). */
export const FRAME_MS = 10;

const segment = z.object({
  startFrame: z.number().int(),
  endFrame: z.number().int(),
  ascr: z.number(),
  lscr: z.number(),
});

const scores = z.object({ pathScore: z.number(), ascr: z.number(), lscr: z.number() });

/** The one JSON line that native/ps_decode.c prints at the end of an utterance. */
const decodeResult = z.object({
  text: z.string(),
  hasHypothesis: z.boolean(),
  frames: z.number().int(),
  samples: z.number().int(),
  grammar: scores,
  phoneLoop: scores,
  words: z.array(segment.extend({ word: z.string(), phones: z.number().int() })),
  phones: z.array(segment.extend({ phone: z.string() })),
});

export type DecodeResult = z.infer<typeof decodeResult>;
export type WordSegment = DecodeResult['words'][number];
export type PhoneSegment = DecodeResult['phones'][number];

/** Parses the helper's stdout; anything else than one result line is an engine failure. */
export function parseDecodeResult(stdout: string): DecodeResult {
  const line = stdout.trim();
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new GatewayError('GW_ENGINE_FAILED', 'the pocketsphinx helper printed no JSON result', {
      cause: err,
    });
  }
  const parsed = decodeResult.safeParse(json);
  if (!parsed.success) {
    throw new GatewayError('GW_ENGINE_FAILED',
      'the pocketsphinx helper printed an unexpected result', { cause: parsed.error });
  }
  return parsed.data;
}

/**
 * Fillers are the decoder's own tokens for silence and noise: `<s>`, `</s>`,
 * `<sil>`, `[NOISE]`, `[SPEECH]`, `(NULL)`, and phone-set fillers like `+NSN+`.
 */
export function isFiller(token: string): boolean {
  return /^[<[(+]/.test(token);
}

/** `jarvis(2)` names the second pronunciation of `jarvis`. */
export function baseWord(token: string): string {
  return token.replace(/\(\d+\)$/, '').toLowerCase();
}

export function spokenWords(result: DecodeResult): WordSegment[] {
  return result.words.filter((w) => !isFiller(w.word));
}

/**
 * Word times in milliseconds. pocketsphinx drops long silences before it
 * decodes, so these are offsets into the voiced audio, not into the stream.
 */
export function transcriptWords(result: DecodeResult): TranscriptWord[] {
  return spokenWords(result).map((w) => ({
    word: baseWord(w.word),
    startMs: w.startFrame * FRAME_MS,
    endMs: (w.endFrame + 1) * FRAME_MS,
  }));
}
