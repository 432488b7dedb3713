export { loadIntents } from './intent-set.js';
export { MAX_TEXT_CHARS, MAX_WORDS, type NotUnderstoodReason } from './matcher.js';
export { NEGATION_PREFIXES } from './negation.js';
export { normalise } from './normalise.js';
export { numberToWords, parseSpokenNumber, MAX_SPOKEN_NUMBER } from './numbers.js';
export type * from './types.js';
