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
const LEADING_SIGN = /(?<![a-z0-9'_])[-\u2010-\u2015\u2212]+(?=[a-z0-9_])/g;

function standsForNumber(c: string): boolean {
  return /\p{N}/u.test(c) || /[0-9]/.test(c.normalize('NFKC'));
}

/**
 * Lower case, curly apostrophes straightened, hyphens and other punctuation turned into
 * spaces, apostrophes kept only inside words, spaces collapsed. Only ASCII digits count as
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
    .replace(/[^a-z0-9'_-]+/g, ' ')
    .split(' ')
    .flatMap((w) => (w.startsWith('-') ? [w] : w.split('-')))
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w !== '' && w !== '-');
}
