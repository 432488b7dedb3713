import { normalise } from './normalise.js';
import { parseSpokenNumber } from './numbers.js';
import type { SlotValue } from './types.js';

/**
 * Checks around the LLM fallback. The model only ever sees sentences no template
 * understood; these keep it from turning a refusal into an action:
 * - a sentence with a negation or a hesitation is never offered to it;
 * - a sentence that may hold two commands is never offered to it;
 * - a proposal is kept only if every number in it was said.
 */
const NOT_FOR_LLM = new Set([
  "don't", 'dont', 'not', 'never', 'no', 'cancel', 'wait', 'stop', 'actually', 'and', 'then',
]);

/** True when the sentence may be offered to the LLM at all. */
export function mayAskLlm(text: string): boolean {
  return !normalise(text).some((w) => NOT_FOR_LLM.has(w));
}

const MAX_NUMBER_WORDS = 8;

/** Every number the sentence says, in digits or in words. */
export function numbersSaid(text: string): Set<number> {
  const words = normalise(text);
  const found = new Set<number>();
  for (const [i, w] of words.entries()) {
    const digits = Number(w.replace(/k$/, '000'));
    if (/^\d/.test(w) && Number.isFinite(digits)) found.add(digits);
    for (let n = 1; n <= MAX_NUMBER_WORDS && i + n <= words.length; n++) {
      const value = parseSpokenNumber(words.slice(i, i + n));
      if (value !== null) found.add(value);
    }
  }
  return found;
}

/** True when every number in the proposed slots (money amounts too) was said. */
export function proposalGrounded(
  text: string,
  slots: Readonly<Record<string, SlotValue>>,
): boolean {
  const said = numbersSaid(text);
  return Object.values(slots).every((v) => {
    if (typeof v === 'number') return said.has(v);
    if (typeof v === 'object' && v !== null && 'amount' in v) return said.has(v.amount);
    return true;
  });
}
