export { loadIntents } from './intent-set.js';
export { normalise, MAX_TEXT_CHARS, MAX_WORDS, type NotUnderstoodReason } from './matcher.js';
export { numberToWords, parseSpokenNumber, MAX_SPOKEN_NUMBER } from './numbers.js';
export type * from './types.js';
