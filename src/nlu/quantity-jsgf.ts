/**
 * JSGF for amounts, money and ordinals. A decimal or money range cannot be listed, so the
 * grammar builds numbers from parts (units, tens, hundred, thousand, million, "point" and
 * digits, "half"); the matcher's range check (out_of_range) does the rest.
 */
import type { SlotList } from './model.js';
import { TENS, UNITS } from './numbers.js';
import { CURRENCY_WORDS, MAX_DECIMAL_DIGITS, ordinalToWords } from './quantity.js';

/** Shared rules, emitted once when any list uses them. */
export const NUMBER_RULES: readonly (readonly [string, string])[] = [
  ['n_units', UNITS.slice(1).join(' | ')],
  ['n_below100', `<n_units> | ( ${TENS.slice(2).join(' | ')} ) [ <digit> ]`],
  ['n_below1000', '<n_below100> | ( <digit> | a ) hundred [ [ and ] <n_below100> ]'],
  ['n_thousands', '<n_below1000> | ( <n_below1000> | a ) thousand [ [ and ] <n_below1000> ]'],
  ['n_millions', '<n_thousands> | ( <n_below1000> | a ) million [ [ and ] <n_thousands> ]'],
  ['n_point', `point <n_decimal_digit>${' [ <n_decimal_digit>'.repeat(2)}${' ]'.repeat(2)}`],
  ['n_cents', 'point <n_decimal_digit> [ <n_decimal_digit> ]'],
  ['n_decimal_digit', 'zero | <digit>'],
];

if (MAX_DECIMAL_DIGITS < 3) throw new Error('n_point says up to three decimal digits');

/** The cardinal rule that covers 0..max. */
function cardinalRule(max: number): string {
  if (max < 100) return 'n_below100';
  if (max < 1000) return 'n_below1000';
  return max < 1e6 ? 'n_thousands' : 'n_millions';
}

/** `places`: digits said after "point", 3 for amounts, 2 for money. */
function amountBody(min: number, max: number, decimals: boolean, places: 2 | 3 = 3): string[] {
  const card = `<${cardinalRule(max)}>`;
  const alts = [card];
  if (min <= 0) alts.push('zero');
  if (max >= 1000) alts.push(`<n_below1000> k`);
  if (decimals) {
    alts.push(`( ${card} | zero ) <${places === 2 ? 'n_cents' : 'n_point'}>`);
    if (min < 1) alts.push('half a | a half');
    alts.push(`<n_below1000> and a half${max >= 1000 ? ' [ thousand ]' : ''}`);
  }
  return alts;
}

/** The body of a list rule for number, currency and ordinal lists; null for other kinds. */
export function quantityBody(list: SlotList): string | null {
  switch (list.kind) {
    case 'number':
      return amountBody(list.min, list.max, list.decimals).join(' | ');
    case 'currency': {
      const amount = `( ${amountBody(list.min, list.max, true, 2).join(' | ')} )`;
      const names = list.currencies.flatMap((c) => CURRENCY_WORDS[c].words);
      return `${amount} ( ${names.join(' | ')} )`;
    }
    case 'ordinal': {
      const forms: string[] = [];
      for (let n = list.from; n <= list.to; n += 1) forms.push(ordinalToWords(n));
      return forms.join(' | ');
    }
    default:
      return null;
  }
}

/** The shared number rules that `grammar` refers to, directly or not, as JSGF lines. */
export function numberRulesUsed(grammar: string): string[] {
  const used = new Set<string>();
  let text = grammar;
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, body] of NUMBER_RULES) {
      if (used.has(name) || !text.includes(`<${name}>`)) continue;
      used.add(name);
      text += `\n${body}`;
      changed = true;
    }
  }
  return NUMBER_RULES.filter(([name]) => used.has(name)).map(([n, b]) => `<${n}> = ${b};`);
}
