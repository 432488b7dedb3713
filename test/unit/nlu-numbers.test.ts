import { describe, expect, it } from 'vitest';
import { numberToWords, parseSpokenNumber } from '../../src/nlu/numbers.js';

describe('numberToWords', () => {
  it('spells units, teens, tens and compounds', () => {
    expect(numberToWords(0)).toBe('zero');
    expect(numberToWords(7)).toBe('seven');
    expect(numberToWords(12)).toBe('twelve');
    expect(numberToWords(40)).toBe('forty');
    expect(numberToWords(21)).toBe('twenty one');
    expect(numberToWords(99)).toBe('ninety nine');
  });

  it('spells hundreds with "and" before the rest', () => {
    expect(numberToWords(100)).toBe('one hundred');
    expect(numberToWords(105)).toBe('one hundred and five');
    expect(numberToWords(999)).toBe('nine hundred and ninety nine');
  });

  it('refuses negative, fractional and too large numbers', () => {
    expect(() => numberToWords(-1)).toThrow(RangeError);
    expect(() => numberToWords(1.5)).toThrow(RangeError);
    expect(() => numberToWords(1000)).toThrow(RangeError);
  });
});

describe('parseSpokenNumber', () => {
  it('reads single words and two-word compounds', () => {
    expect(parseSpokenNumber('seven')).toBe(7);
    expect(parseSpokenNumber('twelve')).toBe(12);
    expect(parseSpokenNumber('twenty one')).toBe(21);
    expect(parseSpokenNumber(['ninety', 'nine'])).toBe(99);
    expect(parseSpokenNumber('Twenty-One')).toBe(21);
    expect(parseSpokenNumber('zero')).toBe(0);
  });

  it('reads hundreds with or without "and", and "a hundred"', () => {
    expect(parseSpokenNumber('one hundred')).toBe(100);
    expect(parseSpokenNumber('a hundred and five')).toBe(105);
    expect(parseSpokenNumber('two hundred twelve')).toBe(212);
    expect(parseSpokenNumber('nine hundred and ninety nine')).toBe(999);
  });

  it('returns null for words that are not exactly one number', () => {
    for (const bad of ['', 'seven seven', 'twelve one', 'twenty zero', 'one twenty',
      'hundred', 'zero hundred', 'ten hundred', 'one hundred and', 'breaker', 'and five']) {
      expect(parseSpokenNumber(bad), bad).toBeNull();
    }
  });

  it('round-trips every number 0..999 through words', () => {
    for (let n = 0; n <= 999; n += 1) expect(parseSpokenNumber(numberToWords(n))).toBe(n);
  });
});
