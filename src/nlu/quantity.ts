/**
 * Amounts, ordinals and money, written or said, as the matcher sees them (normalised
 * tokens): "10000", "10k", "1.5", "ten thousand", "one point five", "half a", "two and a half
 * thousand", "3rd", "twenty first", "$ 10000", "ten thousand dollars", "fifty quid".
 * English only, like the rest of the number words.
 */
import { parseSpokenNumber, TENS, UNITS } from './numbers.js';
import type { Currency, MoneyValue } from './types.js';

/** Longest phrase tried for one amount ("nine hundred and ninety nine thousand and ..."). */
export const MAX_AMOUNT_WORDS = 20;
/** Digits accepted after "point" or a decimal point. */
export const MAX_DECIMAL_DIGITS = 6;
/** Largest whole part of a written number: more digits than this is not an amount. */
const MAX_WRITTEN_DIGITS = 12;

export const CURRENCIES: readonly Currency[] = ['USD', 'GBP', 'EUR'];

interface CurrencyWords {
  readonly symbol: string;
  /** Words that follow an amount; the first two are the singular and plural spoken back. */
  readonly words: readonly string[];
  /** Sub-unit (singular, plural), spoken back for the decimal part. */
  readonly minor: readonly [string, string];
}

export const CURRENCY_WORDS: Readonly<Record<Currency, CurrencyWords>> = {
  USD: { symbol: '$', words: ['dollar', 'dollars', 'bucks'], minor: ['cent', 'cents'] },
  GBP: { symbol: '£', words: ['pound', 'pounds', 'quid'], minor: ['penny', 'pence'] },
  EUR: { symbol: '€', words: ['euro', 'euros'], minor: ['cent', 'cents'] },
};

const DIGIT_WORDS = new Map<string, string>(UNITS.slice(0, 10).map((w, i) => [w, String(i)]));

/** "10000", "1.5", "10k", "-7" (negative: outside every range). */
const WRITTEN = new RegExp(`^(-?)(\\d{1,${MAX_WRITTEN_DIGITS}})`
  + `(?:\\.(\\d{1,${MAX_DECIMAL_DIGITS}}))?(k?)$`);

/** Words after a written number that multiply it: "10k", "10 k", "10 thousand". */
const MULTIPLIERS = new Map<string, number>([['k', 1e3], ['thousand', 1e3], ['million', 1e6]]);

/** Multiplies by 10^k exactly for decimals written with few digits. */
function scale(n: number, factor: number): number {
  return Number((n * factor).toFixed(MAX_DECIMAL_DIGITS));
}

/** "one million and two thousand three hundred": whole numbers up to 999,999,999. */
export function parseCardinal(words: readonly string[]): number | null {
  if (words.length === 1 && words[0] === 'zero') return 0;
  let rest = words;
  let total = 0;
  for (const [word, mult] of [['million', 1e6], ['thousand', 1e3]] as const) {
    const at = rest.indexOf(word);
    if (at === -1) continue;
    const head = rest.slice(0, at);
    const count = head.length === 1 && head[0] === 'a' ? 1 : parseSpokenNumber(head);
    if (count === null || count === 0) return null;
    total += count * mult;
    rest = rest.slice(at + 1);
    if (rest[0] === 'and' && rest.length > 1) rest = rest.slice(1);
  }
  if (rest.length === 0) return total > 0 ? total : null;
  const tail = parseSpokenNumber(rest);
  return tail === null || tail === 0 ? null : total + tail;
}

/** "one point five", "point two five", "zero point five". */
function parsePointWords(words: readonly string[]): number | null {
  const p = words.indexOf('point');
  if (p === -1) return parseCardinal(words);
  const whole = p === 0 ? 0 : parseCardinal(words.slice(0, p));
  const digits = words.slice(p + 1).map((w) => DIGIT_WORDS.get(w));
  if (whole === null || digits.length === 0 || digits.length > MAX_DECIMAL_DIGITS) return null;
  if (digits.some((d) => d === undefined)) return null;
  return Number(`${whole}.${digits.join('')}`);
}

/** "half a", "a half", "two and a half", "two and a half thousand". */
function parseHalves(words: readonly string[]): number | null {
  const joined = words.join(' ');
  if (joined === 'half a' || joined === 'a half') return 0.5;
  const at = words.lastIndexOf('and');
  if (at < 1 || words[at + 1] !== 'a' || words[at + 2] !== 'half') return null;
  const whole = parseCardinal(words.slice(0, at));
  if (whole === null || whole >= 1000) return null;
  const mult = words.slice(at + 3);
  if (mult.length === 0) return whole + 0.5;
  if (mult.length !== 1) return null;
  const factor = mult[0] === 'thousand' ? 1e3 : mult[0] === 'million' ? 1e6 : null;
  return factor === null ? null : (whole + 0.5) * factor;
}

/**
 * An amount in normalised tokens: one written number ("10000", "1.5", "10k", "10 thousand",
 * "-7"), or words
 * ("ten thousand", "one point five", "ten k", "half a"). Returns null when the tokens are not
 * exactly one amount. Negative numbers come back negative, for the caller's range check.
 */
export function parseAmount(toks: readonly string[]): number | null {
  const [first, ...more] = toks;
  if (first === undefined) return null;
  const written = WRITTEN.exec(first);
  if (written !== null) {
    if (more.length > 1 || (more.length === 1 && written[4] === 'k')) return null;
    const factor = written[4] === 'k' ? 1e3 : more[0] === undefined ? 1 : MULTIPLIERS.get(more[0]);
    if (factor === undefined) return null;
    const n = Number(`${written[2] ?? ''}${written[3] === undefined ? '' : `.${written[3]}`}`);
    const value = scale(n, factor);
    return written[1] === '-' ? -value : value;
  }
  if (toks.length > MAX_AMOUNT_WORDS) return null;
  if (toks[toks.length - 1] === 'k') {
    const n = parsePointWords(toks.slice(0, -1));
    return n === null || n === 0 ? null : scale(n, 1000);
  }
  return parseHalves(toks) ?? parsePointWords(toks);
}

/** Number of decimal places of a JS number as written in its shortest form. */
export function decimalPlaces(n: number): number {
  const [, frac = ''] = String(n).split('.');
  return frac.length;
}

const SYMBOLS = new Map<string, Currency>(
  CURRENCIES.map((c) => [CURRENCY_WORDS[c].symbol, c]),
);
const NAMES = new Map<string, Currency>(
  CURRENCIES.flatMap((c) => CURRENCY_WORDS[c].words.map((w) => [w, c] as [string, Currency])),
);

/**
 * Money: a currency symbol before a written amount ("$ 10000", "£ 50", "€ 20": the
 * normaliser splits the symbol off), or an amount followed by a currency word ("ten thousand
 * dollars", "10k dollars", "fifty quid"). At most two decimal places. Null otherwise.
 */
export function parseMoney(toks: readonly string[]): MoneyValue | null {
  const [first, ...rest] = toks;
  const last = toks[toks.length - 1];
  if (first === undefined || last === undefined || toks.length < 2) return null;
  let currency = SYMBOLS.get(first);
  let amount: number | null;
  if (currency !== undefined) {
    if (!/^-?\d/.test(rest[0] ?? '')) return null;
    amount = parseAmount(rest);
  } else {
    currency = NAMES.get(last);
    if (currency === undefined) return null;
    amount = parseAmount(toks.slice(0, -1));
  }
  if (amount === null || decimalPlaces(amount) > 2) return null;
  // "1.000" is a thousand where a point separates thousands, and one elsewhere: money
  // written with more than two decimals is not guessed at, whatever its value.
  if (toks.some((t) => /^-?\d+\.\d{3,}k?$/.test(t))) return null;
  return { amount, currency };
}

const ORDINAL_UNITS = [
  '', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth',
  'tenth', 'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth',
  'seventeenth', 'eighteenth', 'nineteenth',
] as const;
const ORDINAL_TENS = [
  '', '', 'twentieth', 'thirtieth', 'fortieth', 'fiftieth', 'sixtieth', 'seventieth',
  'eightieth', 'ninetieth',
] as const;

/** 1 -> "first", 21 -> "twenty first", 100 -> "one hundredth", 0..999 only. */
export function ordinalToWords(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 999) {
    throw new RangeError(`ordinalToWords supports integers 1..999, got ${n}`);
  }
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  const head = hundreds > 0 ? `${UNITS[hundreds] ?? ''} hundred` : '';
  if (rest === 0) return `${head}th`;
  let tail: string;
  if (rest < 20) tail = ORDINAL_UNITS[rest] ?? '';
  else if (rest % 10 === 0) tail = ORDINAL_TENS[rest / 10] ?? '';
  else tail = `${TENS[Math.floor(rest / 10)] ?? ''} ${ORDINAL_UNITS[rest % 10] ?? ''}`;
  return head === '' ? tail : `${head} and ${tail}`;
}

const ORDINAL_VALUE = new Map<string, number>();
for (let n = 1; n <= 999; n += 1) ORDINAL_VALUE.set(ordinalToWords(n), n);

function suffixOf(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
}

/** "third", "twenty first", "one hundred and first", "3rd", "21st"; null otherwise. */
export function parseOrdinal(toks: readonly string[]): number | null {
  const written = toks.length === 1 ? /^(\d{1,3})(st|nd|rd|th)$/.exec(toks[0] ?? '') : null;
  if (written !== null) {
    const n = Number(written[1]);
    return n > 0 && suffixOf(n) === written[2] ? n : null;
  }
  const words = toks[0] === 'a' ? ['one', ...toks.slice(1)] : toks;
  const said = words.join(' ');
  return ORDINAL_VALUE.get(said) ?? ORDINAL_VALUE.get(said.replace(/ hundred (?!and)/,
    ' hundred and ')) ?? null;
}
