/**
 * Cardinal numbers in English words, both ways, for 0..999.
 *
 * Speech recognisers and templates see numbers as words ("twenty one"); slots carry
 * them as JS numbers; replies speak them as words again.
 */

export const MAX_SPOKEN_NUMBER = 999;

export const UNITS = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
  'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen',
  'eighteen', 'nineteen',
] as const;

/** Index i holds the word for i * 10; indexes 0 and 1 are unused. */
export const TENS = [
  '', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety',
] as const;

const UNIT_VALUE = new Map<string, number>(UNITS.map((w, i) => [w, i]));
const TENS_VALUE = new Map<string, number>(
  TENS.flatMap((w, i) => (w === '' ? [] : [[w, i * 10] as [string, number]])),
);

function below100(n: number): string {
  if (n < 20) return UNITS[n] ?? '';
  const unit = n % 10;
  const tens = TENS[Math.floor(n / 10)] ?? '';
  return unit === 0 ? tens : `${tens} ${UNITS[unit] ?? ''}`;
}

/**
 * Spells an integer 0..999 the way a person says it: 7 -> "seven", 21 -> "twenty one",
 * 105 -> "one hundred and five". Throws a RangeError for anything else.
 */
export function numberToWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > MAX_SPOKEN_NUMBER) {
    throw new RangeError(`numberToWords supports integers 0..${MAX_SPOKEN_NUMBER}, got ${n}`);
  }
  if (n < 100) return below100(n);
  const hundreds = `${UNITS[Math.floor(n / 100)] ?? ''} hundred`;
  const rest = n % 100;
  return rest === 0 ? hundreds : `${hundreds} and ${below100(rest)}`;
}

/** Parses 1..99 words, or returns null. */
function parseBelow100(words: readonly string[]): number | null {
  const [first, second, ...more] = words;
  if (first === undefined || more.length > 0) return null;
  const unit = UNIT_VALUE.get(first);
  if (unit !== undefined) return second === undefined && unit > 0 ? unit : null;
  const tens = TENS_VALUE.get(first);
  if (tens === undefined) return null;
  if (second === undefined) return tens;
  const u = UNIT_VALUE.get(second);
  return u !== undefined && u >= 1 && u <= 9 ? tens + u : null;
}

/**
 * Parses a number said in words, 0..999: "seven", "twenty one", "ninety-nine" (already split
 * on the hyphen or not), "one hundred", "a hundred and five", "two hundred twelve".
 * Accepts a string or its words; returns null when the words are not exactly one number.
 */
export function parseSpokenNumber(words: string | readonly string[]): number | null {
  const list = typeof words === 'string'
    ? words.toLowerCase().split(/[\s-]+/).filter((w) => w !== '')
    : words;
  if (list.length === 0) return null;
  if (list.length === 1 && list[0] === 'zero') return 0;
  const h = list.indexOf('hundred');
  if (h === -1) return parseBelow100(list);
  if (h !== 1) return null;
  const head = list[0] ?? '';
  const count = head === 'a' ? 1 : UNIT_VALUE.get(head);
  if (count === undefined || count < 1 || count > 9) return null;
  let rest = list.slice(2);
  if (rest.length === 0) return count * 100;
  if (rest[0] === 'and') rest = rest.slice(1);
  const tail = parseBelow100(rest);
  return tail === null ? null : count * 100 + tail;
}
