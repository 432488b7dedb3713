import { describe, expect, it } from 'vitest';
import {
  confidenceFacts, grammarConfidence, MIDPOINT, scoreToConfidence,
} from '../../src/stt/confidence.js';
import {
  baseWord, isFiller, parseDecodeResult, transcriptWords, type DecodeResult,
} from '../../src/stt/ps-result.js';

type Word = DecodeResult['words'][number];
type Phone = DecodeResult['phones'][number];

const word = (w: string, startFrame: number, endFrame: number, ascr: number,
  phones: number): Word => ({ word: w, startFrame, endFrame, ascr, lscr: 0, phones });
const phone = (p: string, startFrame: number, endFrame: number, ascr: number): Phone =>
  ({ phone: p, startFrame, endFrame, ascr, lscr: 0 });

/** "no" over frames 10..29 (2 phones), the loop finding N and OW there. */
function result(words: Word[], phones: Phone[]): DecodeResult {
  return {
    text: words.filter((w) => !isFiller(w.word)).map((w) => w.word).join(' '),
    hasHypothesis: words.length > 0,
    frames: 40,
    samples: 6400,
    grammar: { pathScore: 0, ascr: 0, lscr: 0 },
    phoneLoop: { pathScore: 0, ascr: 0, lscr: 0 },
    words,
    phones,
  };
}

const loop = [phone('SIL', 0, 9, -100), phone('N', 10, 19, -400), phone('OW', 20, 29, -400),
  phone('SIL', 30, 39, -100)];

describe('grammar confidence', () => {
  it('is high when the grammar path scores like the phone loop', () => {
    const r = result([word('<sil>', 0, 9, -100, 1), word('no', 10, 29, -900, 2)], loop);
    expect(confidenceFacts(r)?.score).toBeCloseTo(-5, 5);
    expect(grammarConfidence(r)).toBeGreaterThan(0.99);
  });

  it('is low when the grammar path scores far below the phone loop', () => {
    const r = result([word('no', 10, 29, -800 - 20 * 70, 2)], loop);
    expect(grammarConfidence(r)).toBeLessThan(0.01);
  });

  it('is 0.5 at the calibrated midpoint', () => {
    const r = result([word('no', 10, 29, -800 + 20 * MIDPOINT, 2)], loop);
    expect(grammarConfidence(r)).toBeCloseTo(0.5, 5);
  });

  it('counts loop speech that the grammar calls silence against the transcript', () => {
    const covered = result([word('no', 10, 19, -400, 2), word('<sil>', 20, 29, -400, 1)], loop);
    const facts = confidenceFacts(covered);
    expect(facts?.uncoveredFrames).toBe(10);
    expect(facts?.score).toBeCloseTo(-25, 5);
  });

  it('is 0 for a transcript squeezed into the decoder\'s minimum duration', () => {
    const r = result([word('no', 10, 15, -240, 2)], loop);
    expect(confidenceFacts(r)?.framesPerPhone).toBe(3);
    expect(grammarConfidence(r)).toBe(0);
  });

  it('is 0 when the loop hears one steady sound under a long word', () => {
    const steady = [phone('F', 0, 59, -2400)];
    const r = result([word('confirm', 0, 59, -2400, 6)], steady);
    expect(confidenceFacts(r)?.loopPhoneRatio).toBeCloseTo(1 / 6, 5);
    expect(grammarConfidence(r)).toBe(0);
  });

  it('is 0 when speech just before the first word was called silence (a dropped "don\'t")',
    () => {
      // The loop hears D OW N T over frames 0..11; the grammar path calls them silence.
      const leading = [phone('D', 0, 2, -100), phone('OW', 3, 6, -100), phone('N', 7, 9, -100),
        phone('T', 10, 11, -100), ...loop.slice(1)];
      const words = [word('<sil>', 0, 9, -100, 1), word('no', 10, 29, -900, 2)];
      expect(confidenceFacts(result(words, leading))?.leadingUncovered).toBe(10);
      expect(grammarConfidence(result(words, leading))).toBe(0);
      // The same audio with only silence before the word keeps its confidence.
      expect(grammarConfidence(result(words, loop))).toBeGreaterThan(0.99);
    });

  it('is 0 when only fillers were recognised', () => {
    expect(grammarConfidence(result([word('<sil>', 0, 39, -800, 1)], loop))).toBe(0);
    expect(scoreToConfidence(null)).toBe(0);
  });
});

describe('decode results', () => {
  it('recognises the decoder\'s filler tokens', () => {
    for (const t of ['<sil>', '<s>', '</s>', '[NOISE]', '[SPEECH]', '(NULL)', '+NSN+']) {
      expect(isFiller(t)).toBe(true);
    }
    expect(isFiller("what's")).toBe(false);
  });

  it('strips alternate-pronunciation markers and lower-cases', () => {
    expect(baseWord('jarvis(2)')).toBe('jarvis');
    expect(baseWord('OPEN')).toBe('open');
  });

  it('converts frames to milliseconds, end exclusive', () => {
    const r = result([word('(NULL)', -1, -1, 0, 0), word('no', 10, 29, -800, 2)], loop);
    expect(transcriptWords(r)).toEqual([{ word: 'no', startMs: 100, endMs: 300 }]);
  });

  it('refuses output that is not one result line with GW_ENGINE_FAILED', () => {
    const failed = expect.objectContaining({ code: 'GW_ENGINE_FAILED' });
    expect(() => parseDecodeResult('')).toThrow(failed);
    expect(() => parseDecodeResult('{"text":1}')).toThrow(failed);
    expect(parseDecodeResult(`${JSON.stringify(result([], loop))}\n`).phones).toHaveLength(4);
  });
});
