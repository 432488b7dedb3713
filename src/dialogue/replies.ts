/** What the dialogue says, in words: read-backs, ranges, lists. */
import { MAX_WORDED_AMOUNT, amountToWords } from '../nlu/quantity-words.js';
import type { IntentMatch, IntentSet, NotUnderstood } from '../nlu/types.js';

/**
 * The intent's read-back template filled with the slots, or, when it has none or cannot be
 * filled from these slots (an LLM proposal may carry another shape), the intent's name and
 * every slot, spoken.
 */
export function readBack(intents: IntentSet, template: string | null, u: IntentMatch): string {
  if (template) {
    try {
      return intents.render(template, u.slots);
    } catch {
      // fall through to the generic read-back, which names every slot
    }
  }
  const name = u.intent.replace(/[._]/g, ' ');
  const slots = Object.entries(u.slots).map(([k, v]) => {
    let value: string;
    try {
      value = intents.render(`{${k}}`, u.slots);
    } catch {
      value = typeof v === 'object' ? `${v.amount} ${v.currency}` : String(v);
    }
    return `${k.replace(/_/g, ' ')} ${value.charAt(0).toLowerCase()}${value.slice(1)}`;
  });
  return capitalise(slots.length ? `${name}, ${slots.join(', ')}.` : `${name}.`);
}

/** "Breaker must be from one to ninety nine." */
export function outOfRange(u: NotUnderstood): string {
  const d = u.detail;
  if (!d) return 'That number is outside the range I accept.';
  return capitalise(`${d.slot.replace(/_/g, ' ')} must be from ${spoken(d.min)} to ` +
    `${spoken(d.max)}.`);
}

/** "a, b or c" */
export function listOr(items: readonly string[]): string {
  const head = items.slice(0, -1);
  const last = items.at(-1) ?? '';
  return head.length > 0 ? `${head.join(', ')} or ${last}` : last;
}

function spoken(n: number): string {
  return n >= 0 && n <= MAX_WORDED_AMOUNT ? amountToWords(n) : String(n);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
