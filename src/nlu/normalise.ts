/**
 * Replaces a character that stands for a number without being an ASCII digit: NFKC folds
 * superscripts (⁷), full-width digits (７) and circled numbers into ASCII digits, and other
 * scripts' digits would be dropped as punctuation, splitting "1٧" into "1". A typed command
 * takes numbers only as ASCII digits or words, so the mark keeps its word from matching.
 */
const NUMBER_MARK = '_';

/**
 * A minus sign or dash attached to the front of a word ("-7", "−7", "-seven"): the word is
 * kept whole with a leading "-", so that it never reads as the positive number.
 */
const LEADING_SIGN = /(?<![a-z0-9'_])[-\u2010-\u2015\u2212]+(?=[a-z0-9_$£€])/g;

/**
 * A written number keeps its decimal point and thousands separators: "10,000" becomes
 * "10000", "1.5" and "1.5k" stay whole. Any other "." or "," separates words.
 */
const WRITTEN_NUMBER = /^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?(k|st|nd|rd|th)?$/;

/** Currency symbols become words of their own ("$10" -> "$ 10"), unless after a sign. */
const CURRENCY_SYMBOL = /(?<!-)[$£€]/g;

function splitWord(w: string): string[] {
  const core = w.replace(/[.,]+$/, '');
  if (WRITTEN_NUMBER.test(core)) return [core.replace(/,/g, '')];
  // Digits with a point or comma in a shape no written number has (".5", "$,5", "1.2.3"):
  // splitting there would turn ".5" into 5. Such a word matches nothing.
  if (/\d/.test(core) && /[.,]/.test(core)) return [NUMBER_MARK];
  return w.split(/[.,]+/);
}

function standsForNumber(c: string): boolean {
  return /\p{N}/u.test(c) || /[0-9]/.test(c.normalize('NFKC'));
}

/**
 * Lower case, curly apostrophes straightened, hyphens and other punctuation turned into
 * spaces, apostrophes kept only inside words, spaces collapsed. Written numbers keep their
 * decimal point ("1.5") and lose their thousands separators ("10,000" -> "10000"); "$", "£"
 * and "€" are words of their own. Only ASCII digits count as
 * digits; a word with a leading minus sign stays one word ("-7"), which the matcher takes
 * as a negative number.
 */
export function normalise(text: string): string[] {
  return text
    .replace(/_|[^\p{ASCII}]/gu, (c) => {
      if (c === '_') return ' ';
      return standsForNumber(c) ? NUMBER_MARK : c;
    })
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(LEADING_SIGN, ' -')
    .replace(CURRENCY_SYMBOL, ' $& ')
    .replace(/[^a-z0-9'_$£€.,-]+/g, ' ')
    .split(' ')
    .flatMap((w) => (w.startsWith('-') ? [w] : w.split('-')))
    .flatMap(splitWord)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '' && w !== '-');
}
