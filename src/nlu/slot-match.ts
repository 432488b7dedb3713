/** Matching one slot of a template against the tokens at a position. */
import type { SlotList } from './model.js';
import { MAX_SPOKEN_NUMBER, parseSpokenNumber } from './numbers.js';
import { MAX_AMOUNT_WORDS, parseAmount, parseMoney, parseOrdinal } from './quantity.js';
import type { RangeDetail, SlotValue } from './types.js';

/** A whole number beyond the spoken-number words (only ever outside a range), or null. */
function largeInteger(n: number | null): number | null {
  return n !== null && Number.isInteger(n) && n > MAX_SPOKEN_NUMBER ? n : null;
}
/** Longest ordinal phrase ("nine hundred and ninety ninth"). */
const MAX_ORDINAL_WORDS = 5;

export interface State {
  readonly pos: number;
  readonly slots: Readonly<Record<string, SlotValue>>;
  /** Slots whose value fell outside the list's bounds. */
  readonly outside: readonly RangeDetail[];
  /** A free-text slot took more words than its list allows. */
  readonly tooLong: boolean;
}

function bounds(list: SlotList, slot: string): RangeDetail {
  switch (list.kind) {
    case 'range':
    case 'ordinal':
      return { slot, min: list.from, max: list.to };
    case 'number':
    case 'currency':
      return { slot, min: list.min, max: list.max };
    default:
      return { slot, min: 0, max: 0 };
  }
}

/** Every way the slot can take words from `st.pos` on, with its value. */
export function* matchSlot(list: SlotList, slot: string, toks: readonly string[], st: State):
Generator<State> {
  const emit = (value: SlotValue, used: number, inside: boolean): State => ({
    ...st,
    pos: st.pos + used,
    slots: { ...st.slots, [slot]: value },
    outside: inside ? st.outside : [...st.outside, bounds(list, slot)],
  });
  const left = toks.length - st.pos;
  switch (list.kind) {
    case 'values':
      for (const v of list.values) {
        if (!v.words.every((w, i) => toks[st.pos + i] === w)) continue;
        yield emit(v.out, v.words.length, true);
      }
      return;
    case 'range': {
      const digits = /^(-?)(\d{1,15})$/.exec(toks[st.pos] ?? '');
      if (digits !== null) {
        // A typed "-7" is a negative number, outside every range (even "-0").
        const n = digits[1] === '-' ? -Number(digits[2]) : Number(digits[2]);
        yield emit(n, 1, digits[1] !== '-' && n >= list.from && n <= list.to);
        return;
      }
      for (let len = 1; len <= Math.min(MAX_AMOUNT_WORDS, left); len += 1) {
        const words = toks.slice(st.pos, st.pos + len);
        // Numbers past what a range can hold ("one thousand", "10k") are still read, so
        // that the reply can say the range instead of "I didn't catch that".
        const n = parseSpokenNumber(words) ?? largeInteger(parseAmount(words));
        if (n !== null) yield emit(n, len, n >= list.from && n <= list.to);
      }
      return;
    }
    case 'number':
      for (let len = 1; len <= Math.min(MAX_AMOUNT_WORDS, left); len += 1) {
        const n = parseAmount(toks.slice(st.pos, st.pos + len));
        if (n === null) continue;
        const whole = list.decimals || Number.isInteger(n);
        yield emit(n, len, whole && n >= list.min && n <= list.max);
      }
      return;
    case 'currency':
      for (let len = 2; len <= Math.min(MAX_AMOUNT_WORDS + 1, left); len += 1) {
        const m = parseMoney(toks.slice(st.pos, st.pos + len));
        if (m === null || !list.currencies.includes(m.currency)) continue;
        yield emit(m, len, m.amount >= list.min && m.amount <= list.max);
      }
      return;
    case 'ordinal':
      for (let len = 1; len <= Math.min(MAX_ORDINAL_WORDS, left); len += 1) {
        const n = parseOrdinal(toks.slice(st.pos, st.pos + len));
        if (n !== null) yield emit(n, len, n >= list.from && n <= list.to);
      }
      return;
    case 'free_text':
      for (let len = 1; len <= left; len += 1) {
        const state = emit(toks.slice(st.pos, st.pos + len).join(' '), len, true);
        yield len > list.maxWords ? { ...state, tooLong: true } : state;
      }
      return;
  }
}
