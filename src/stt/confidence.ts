import { isFiller, spokenWords } from './ps-result.js';
import type { DecodeResult, PhoneSegment, WordSegment } from './ps-result.js';

/**
 * Confidence for a grammar-constrained transcript, from a likelihood ratio.
 *
 * The helper decodes the same audio twice: along the grammar, and with a free
 * loop of phones. Both acoustic scores are log-likelihoods in the decoder's
 * units (log base 1.0001 after pocketsphinx's senone score shift), normalised
 * by the same best senone in every frame. Speech that really is a sentence of
 * the grammar scores close to the phone loop; other speech or noise forced onto
 * the grammar scores much worse per frame. Three signals are combined:
 *
 * 1. Score difference over the recognised words, grammar minus phone loop. The
 *    loop uses context-independent phones, so a well-matched grammar path can
 *    even beat it slightly; mismatched ones fall far below.
 * 2. Speech the grammar explains away as silence or noise: frames that the
 *    phone loop labels as speech but the grammar path assigns to a filler
 *    count as `UNCOVERED_FRAME_SCORE` each. This catches a short command word
 *    found inside a longer unrelated sentence.
 * 3. Plausibility: a transcript whose words last less than
 *    `MIN_FRAMES_PER_PHONE` frames per phone on average (the decoder's minimum
 *    is 3) is noise forced into the shortest path, and one above
 *    `MAX_FRAMES_PER_PHONE` is a word stretched over a long sound. Words over
 *    which the phone loop finds fewer than `MIN_LOOP_PHONE_RATIO` phones per
 *    phone of their pronunciation are a steady sound (white noise came back as
 *    "confirm", the loop as one long F). All three get confidence 0.
 *
 * 4. Coverage: when more than `MAX_UNCOVERED_SHARE` of the speech the phone
 *    loop hears lies outside the recognised words, the speaker said something
 *    else around a grammar sentence ("the weather is lovely..." came back as
 *    "when is my next meeting" with 88 of 272 speech frames uncovered, while
 *    in-grammar commands left at most 7). Confidence 0.
 *
 * 5. Leading words: speech the phone loop hears just before the first recognised word,
 *    that the grammar calls silence or noise, longer than `MAX_LEADING_UNCOVERED` frames.
 *    A "don't" that the grammar path dropped sits there ("do not close breaker ten..."
 *    came back as "close breaker ten..." with 9 such frames, a British "don't close" with
 *    24), while the shipped commands had at most 3. Confidence 0: the command is refused
 *    rather than run without the word that negated it.
 *
 * The combined per-frame score (`ConfidenceFacts.score`) maps to 0..1 with a
 * logistic curve: 0.5 at `MIDPOINT`, and `SLOPE` units per e-fold of the odds.
 * Calibrated on espeak-ng speech (voices en-us, en-us+f3, en-us+m3, en at 140
 * and 180 words per minute) against a small command grammar: in-grammar
 * commands scored -14 to -42 per frame (confidence 0.51 to 1.0, the British
 * `en` voice lowest), unrelated sentences forced onto the grammar -40 to -60
 * (at most 0.32 in the tests; 1 of 64 reached 0.61 in a wider run), white,
 * pink and brown noise 0, babble of three or four voices mostly 0 to 0.2 (2 of
 * 8 reached 0.72 and 0.81). 0.5 is the recommended acceptance threshold;
 * test/unit/stt-pocketsphinx.test.ts holds the engine to it.
 */
export const UNCOVERED_FRAME_SCORE = -50;
export const MIDPOINT = -42;
export const SLOPE = 4;
export const MIN_FRAMES_PER_PHONE = 4.5;
export const MAX_FRAMES_PER_PHONE = 40;
export const MIN_LOOP_PHONE_RATIO = 0.25;
export const MAX_UNCOVERED_SHARE = 0.2;
export const MAX_LEADING_UNCOVERED = 8;

export interface ConfidenceFacts {
  /** Combined per-frame score difference (grammar minus phone loop). */
  readonly score: number;
  readonly wordFrames: number;
  /** Frames of phone-loop speech that the grammar assigned to fillers. */
  readonly uncoveredFrames: number;
  /** Of those, the frames before the first recognised word. */
  readonly leadingUncovered: number;
  readonly framesPerPhone: number;
  /** Speech phones the loop found inside the words, per phone of their pronunciations. */
  readonly loopPhoneRatio: number;
}

function overlap(p: PhoneSegment, start: number, end: number): number {
  return Math.max(0, Math.min(p.endFrame, end) - Math.max(p.startFrame, start) + 1);
}

/** The phone loop's score over frames [start, end], spreading each phone's score evenly. */
function loopScore(phones: readonly PhoneSegment[], start: number, end: number): number {
  let sum = 0;
  for (const p of phones) {
    const n = overlap(p, start, end);
    if (n > 0) sum += (p.ascr * n) / (p.endFrame - p.startFrame + 1);
  }
  return sum;
}

function loopSpeechFrames(phones: readonly PhoneSegment[], start: number, end: number): number {
  let n = 0;
  for (const p of phones) {
    if (isSpeechPhone(p)) n += overlap(p, start, end);
  }
  return n;
}

function isSpeechPhone(p: PhoneSegment): boolean {
  return p.phone !== 'SIL' && !isFiller(p.phone);
}

/** Loop phones whose middle frame lies inside one of the words. */
function loopPhonesInside(phones: readonly PhoneSegment[], words: readonly WordSegment[]): number {
  return phones.filter((p) => {
    const mid = (p.startFrame + p.endFrame) / 2;
    return isSpeechPhone(p) && words.some((w) => w.startFrame <= mid && mid <= w.endFrame);
  }).length;
}

export function confidenceFacts(result: DecodeResult): ConfidenceFacts | null {
  const words = spokenWords(result);
  if (words.length === 0) return null;
  let wordFrames = 0;
  let diff = 0;
  let phoneCount = 0;
  for (const w of words) {
    wordFrames += w.endFrame - w.startFrame + 1;
    diff += w.ascr - loopScore(result.phones, w.startFrame, w.endFrame);
    phoneCount += w.phones;
  }
  let uncoveredFrames = 0;
  let leadingUncovered = 0;
  const firstStart = words[0]?.startFrame ?? 0;
  for (const f of result.words) {
    if (!isFiller(f.word)) continue;
    const n = loopSpeechFrames(result.phones, f.startFrame, f.endFrame);
    uncoveredFrames += n;
    if (f.endFrame < firstStart) leadingUncovered += n;
  }
  const score = (diff + UNCOVERED_FRAME_SCORE * uncoveredFrames) / (wordFrames + uncoveredFrames);
  const framesPerPhone = phoneCount > 0 ? wordFrames / phoneCount : 0;
  const loopPhoneRatio = phoneCount > 0 ? loopPhonesInside(result.phones, words) / phoneCount : 0;
  return {
    score, wordFrames, uncoveredFrames, leadingUncovered, framesPerPhone, loopPhoneRatio,
  };
}

export function scoreToConfidence(facts: ConfidenceFacts | null): number {
  if (facts === null) return 0;
  const fpp = facts.framesPerPhone;
  if (fpp < MIN_FRAMES_PER_PHONE || fpp > MAX_FRAMES_PER_PHONE) return 0;
  if (facts.loopPhoneRatio < MIN_LOOP_PHONE_RATIO) return 0;
  if (facts.leadingUncovered > MAX_LEADING_UNCOVERED) return 0;
  if (facts.uncoveredFrames > MAX_UNCOVERED_SHARE * (facts.wordFrames + facts.uncoveredFrames)) {
    return 0;
  }
  return 1 / (1 + Math.exp(-(facts.score - MIDPOINT) / SLOPE));
}

/** 0..1; 0 when nothing but fillers was recognised. */
export function grammarConfidence(result: DecodeResult): number {
  return scoreToConfidence(confidenceFacts(result));
}
