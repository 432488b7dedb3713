/**
 * Amounts and money spoken back in words: 10000 -> "ten thousand", 1.5 -> "one point five",
 * { amount: 10000, currency: 'USD' } -> "ten thousand dollars".
 */
import { numberToWords, UNITS } from './numbers.js';
import { CURRENCY_WORDS } from './quantity.js';
import type { MoneyValue } from './types.js';

/** Largest whole number spoken in words; anything bigger is read as digits. */
export const MAX_WORDED_AMOUNT = 999_999_999;

/** 0..999,999,999 in words: 2500 -> "two thousand five hundred", 1005 -> "one thousand and
 * five". */
function wholeToWords(n: number): string {
  const parts: string[] = [];
  let rest = n;
  for (const [word, mult] of [['million', 1e6], ['thousand', 1e3]] as const) {
    const count = Math.floor(rest / mult);
    if (count > 0) parts.push(`${numberToWords(count)} ${word}`);
    rest %= mult;
  }
  if (rest > 0 || parts.length === 0) {
    parts.push(parts.length > 0 && rest < 100 ? `and ${numberToWords(rest)}` : numberToWords(rest));
  }
  return parts.join(' ');
}

/**
 * A number in words: whole numbers as said ("ten thousand"), decimals digit by digit after
 * "point" ("one point five", "zero point two five"), negatives after "minus". Numbers too
 * large to say sensibly, and non-finite ones, come back as written digits.
 */
export function amountToWords(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) > MAX_WORDED_AMOUNT) return String(n);
  if (n < 0) return `minus ${amountToWords(-n)}`;
  const [whole = '0', frac = ''] = String(n).split('.');
  if (/e/i.test(whole) || /e/i.test(frac)) return String(n);
  const words = wholeToWords(Number(whole));
  if (frac === '') return words;
  return `${words} point ${[...frac].map((d) => UNITS[Number(d)] ?? d).join(' ')}`;
}

/**
 * Money in words: "ten thousand dollars", "one pound", "ten dollars and fifty cents",
 * "fifty pence".
 */
export function moneyToWords(m: MoneyValue): string {
  const names = CURRENCY_WORDS[m.currency];
  if (!Number.isFinite(m.amount) || Math.abs(m.amount) > MAX_WORDED_AMOUNT) {
    return `${String(m.amount)} ${names.words[1] ?? ''}`;
  }
  const sign = m.amount < 0 ? 'minus ' : '';
  const cents = Math.round(Math.abs(m.amount) * 100);
  const major = Math.floor(cents / 100);
  const minor = cents % 100;
  const unit = (major === 1 ? names.words[0] : names.words[1]) ?? '';
  const majorWords = `${wholeToWords(major)} ${unit}`;
  const minorWords = `${numberToWords(minor)} ${names.minor[minor === 1 ? 0 : 1]}`;
  if (minor === 0) return `${sign}${majorWords}`;
  return major === 0 ? `${sign}${minorWords}` : `${sign}${majorWords} and ${minorWords}`;
}
