import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/nlu/normalise.js';
import { amountToWords, moneyToWords } from '../../src/nlu/quantity-words.js';
import {
  ordinalToWords, parseAmount, parseMoney, parseOrdinal,
} from '../../src/nlu/quantity.js';

const amount = (text: string): number | null => parseAmount(normalise(text));
const money = (text: string): unknown => parseMoney(normalise(text));
const ordinal = (text: string): number | null => parseOrdinal(normalise(text));

describe('normalising written numbers and currency symbols', () => {
  it('keeps decimal points, drops thousands separators and splits symbols off', () => {
    expect(normalise('Buy $10,000 of BTC.')).toEqual(['buy', '$', '10000', 'of', 'btc']);
    expect(normalise('sell 1.5k ETH')).toEqual(['sell', '1.5k', 'eth']);
    expect(normalise('pay £50.25, now')).toEqual(['pay', '£', '50.25', 'now']);
    expect(normalise('€20')).toEqual(['€', '20']);
    expect(normalise('the 3rd one')).toEqual(['the', '3rd', 'one']);
  });

  it('still splits words on stray dots and commas', () => {
    expect(normalise('close breaker 7. at 12,')).toEqual(['close', 'breaker', '7', 'at', '12']);
    expect(normalise('hello.world')).toEqual(['hello', 'world']);
  });

  it('makes digits with a point or comma in no number shape match nothing', () => {
    // "10,00" may mean ten in some locales; splitting it gave "10" and "00".
    expect(normalise('1,2,3')).toEqual(['_']);
    expect(normalise('10,00')).toEqual(['_']);
    expect(normalise('.5')).toEqual(['_']);
  });

  it('keeps a minus sign in front of a currency symbol attached', () => {
    // Guards against "-$5" losing its sign and reading as five dollars.
    expect(normalise('pay bob -$5')).toEqual(['pay', 'bob', '-$5']);
    expect(money('-$5')).toBeNull();
  });
});

describe('amounts', () => {
  it.each([
    ['10,000', 10000], ['10000', 10000], ['10k', 10000], ['10 k', 10000], ['ten k', 10000],
    ['10 thousand', 10000], ['ten thousand', 10000], ['1.5', 1.5], ['one point five', 1.5],
    ['point five', 0.5], ['zero point two five', 0.25], ['half a', 0.5], ['a half', 0.5],
    ['two and a half', 2.5], ['two and a half thousand', 2500], ['1.5k', 1500],
    ['one point five k', 1500], ['a thousand and one', 1001],
    ['one hundred and five thousand three hundred', 105300], ['a million', 1e6],
    ['two million and fifty thousand', 2050000], ['seven', 7], ['zero', 0], ['-7', -7],
    ['one hundred and five and a half', 105.5],
  ])('reads "%s" as %d', (text, want) => {
    expect(amount(text)).toBe(want);
  });

  it.each([
    'ten thousand thousand', 'point', 'one point', 'one point ten', 'thousand', 'and five',
    'five and', 'half', 'k', '10 k k', '10kk', 'zero thousand', 'one two', 'ten dollars',
    'a', 'one thousand million',
  ])('reads "%s" as no amount', (text) => {
    expect(amount(text)).toBeNull();
  });
});

describe('money', () => {
  it.each([
    ['$10,000', 10000, 'USD'], ['$10k', 10000, 'USD'], ['ten thousand dollars', 10000, 'USD'],
    ['10k dollars', 10000, 'USD'], ['fifty pounds', 50, 'GBP'], ['fifty quid', 50, 'GBP'],
    ['€20', 20, 'EUR'], ['20 euros', 20, 'EUR'], ['£50.25', 50.25, 'GBP'],
    ['one point five dollars', 1.5, 'USD'], ['a hundred bucks', 100, 'USD'],
  ])('reads "%s" as %d %s', (text, want, currency) => {
    expect(money(text)).toEqual({ amount: want, currency });
  });

  it.each(['$', 'ten', '$ten', 'ten $', 'dollars', '$1.005', 'ten dollars dollars', '£ £ 5'])(
    'reads "%s" as no money', (text) => {
      expect(money(text)).toBeNull();
    });
});

describe('ordinals', () => {
  it.each([
    ['first', 1], ['third', 3], ['twelfth', 12], ['twentieth', 20], ['twenty first', 21],
    ['twenty-first', 21], ['3rd', 3], ['21st', 21], ['12th', 12], ['112th', 112],
    ['one hundredth', 100], ['a hundredth', 100], ['one hundred and first', 101],
    ['one hundred first', 101],
  ])('reads "%s" as %d', (text, want) => {
    expect(ordinal(text)).toBe(want);
  });

  it.each(['3th', '1nd', '12nd', '0th', 'one', 'twenty', 'first second', 'three'])(
    'reads "%s" as no ordinal', (text) => {
      expect(ordinal(text)).toBeNull();
    });

  it('spells every ordinal so that it reads back as itself', () => {
    for (let n = 1; n <= 999; n += 1) expect(parseOrdinal(ordinalToWords(n).split(' '))).toBe(n);
  });
});

describe('speaking amounts and money', () => {
  it.each([
    [10000, 'ten thousand'], [1.5, 'one point five'], [0.25, 'zero point two five'],
    [1005, 'one thousand and five'], [2500, 'two thousand five hundred'],
    [1000000, 'one million'], [-3, 'minus three'], [21, 'twenty one'],
  ])('says %d as "%s"', (n, want) => {
    expect(amountToWords(n)).toBe(want);
  });

  it('reads every amount it says back as the same number', () => {
    for (const n of [0, 7, 99, 100, 101, 999, 1000, 1001, 12345, 999999, 1000000, 2050000,
      123456789, 0.5, 1.25, 3.141]) {
      expect(parseAmount(amountToWords(n).split(' '))).toBe(n);
    }
  });

  it.each([
    [{ amount: 10000, currency: 'USD' }, 'ten thousand dollars'],
    [{ amount: 1, currency: 'GBP' }, 'one pound'],
    [{ amount: 10.5, currency: 'USD' }, 'ten dollars and fifty cents'],
    [{ amount: 0.5, currency: 'GBP' }, 'fifty pence'],
    [{ amount: 20, currency: 'EUR' }, 'twenty euros'],
  ] as const)('says %o as "%s"', (m, want) => {
    expect(moneyToWords(m)).toBe(want);
  });
});
