/** Fills read-back and response templates: `{slot}` placeholders and optional `[...]` parts. */
import { GatewayError } from '../errors.js';
import type { SlotList } from './model.js';
import { MAX_SPOKEN_NUMBER, numberToWords } from './numbers.js';
import { ordinalToWords } from './quantity.js';
import { amountToWords, moneyToWords } from './quantity-words.js';
import type { SlotValue } from './types.js';

const PLACEHOLDER = /\{([^{}]*)\}/g;
/** An optional part: left out when a placeholder inside it has no value. Not nested. */
const OPTIONAL_PART = /\[([^[\]]*)\]/g;

/** Checks a template's `[...]` parts; returns a problem or null. */
export function optionalPartProblem(template: string): string | null {
  const rest = template.replace(OPTIONAL_PART, '');
  return /[[\]]/.test(rest) ? '"[" and "]" must pair up, one level deep' : null;
}

function spokenNumber(n: number, list: SlotList | undefined): string {
  if (list?.kind === 'ordinal' && Number.isInteger(n) && n >= 1 && n <= 999) {
    return ordinalToWords(n);
  }
  if (Number.isInteger(n) && n >= 0 && n <= MAX_SPOKEN_NUMBER) return numberToWords(n);
  return amountToWords(n);
}

function spokenString(slot: string, value: string, list: SlotList | undefined): string {
  if (list?.kind === 'values') {
    // The first spoken form that means this value alone: "sam patel", not "sam", when two
    // contacts are called Sam, so that a read-back never repeats the ambiguity.
    const forms = list.values.filter((v) => v.out === value && v.spoken);
    const meansOnlyThis = (f: (typeof forms)[number]): boolean => list.values.every((v) =>
      v.out === value || v.words.join(' ') !== f.words.join(' '));
    const hit = forms.find(meansOnlyThis) ?? forms[0];
    if (hit !== undefined) return hit.words.join(' ');
  }
  if (list?.kind === 'free_text' || slot === 'result') return value;
  return value.replace(/_/g, ' ');
}

/** One slot value in words, as its list speaks it. */
export function spokenValue(slot: string, value: SlotValue, list: SlotList | undefined): string {
  if (typeof value === 'number') return spokenNumber(value, list);
  if (typeof value === 'string') return spokenString(slot, value, list);
  return moneyToWords(value);
}

/**
 * Fills `template`: each `{slot}` becomes its value in words; a `[...]` part is kept (without
 * its brackets) only when every placeholder in it has a value. A placeholder without a value
 * outside such a part throws GW_INTENTS_INVALID. The first letter is made upper case.
 */
export function renderTemplate(
  template: string,
  slots: Readonly<Record<string, SlotValue>>,
  listOf: (slot: string) => SlotList | undefined,
): string {
  const fill = (part: string): string => part.replace(PLACEHOLDER, (_m, raw: string) => {
    const name = raw.trim();
    const value = slots[name];
    if (value === undefined) {
      throw new GatewayError('GW_INTENTS_INVALID',
        `template placeholder {${name}} has no value to fill it`);
    }
    return spokenValue(name, value, listOf(name));
  });
  const withParts = template.replace(OPTIONAL_PART, (_m, inner: string) => {
    const names = [...inner.matchAll(PLACEHOLDER)].map((m) => (m[1] ?? '').trim());
    return names.every((n) => slots[n] !== undefined) ? inner : '';
  });
  const text = fill(withParts).replace(/ {2,}/g, ' ').replace(/ ([.,!?])/g, '$1').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}
