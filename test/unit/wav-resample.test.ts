import { describe, expect, it } from 'vitest';
import { createResampler, resample } from '../../src/audio/resample.js';
import { GatewayError } from '../../src/errors.js';

function sine(freq: number, rate: number, seconds: number, amp = 10000): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Amplitude of one frequency component (Goertzel). */
function amplitudeAt(x: Int16Array, freq: number, rate = 16000): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const v of x) {
    const s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - coeff * s1 * s2))) / x.length;
}

/** Frequency of the strongest component on a 10 Hz grid up to 8 kHz. */
function peakFrequency(x: Int16Array): number {
  let best = 0;
  let bestAmp = -1;
  for (let f = 10; f < 8000; f += 10) {
    const a = amplitudeAt(x, f);
    if (a > bestAmp) [best, bestAmp] = [f, a];
  }
  return best;
}

function rms(x: Int16Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / x.length);
}

describe('resample', () => {
  for (const [rate, freq] of [
    [44100, 1000],
    [48000, 3000],
    [22050, 440],
    [8000, 2500],
    [11025, 1230],
  ] as const) {
    it(`keeps a ${freq} Hz sine at ${freq} Hz when converting ${rate} Hz to 16 kHz`, () => {
      const out = resample(sine(freq, rate, 1), rate);
      expect(out.length).toBe(16000);
      expect(peakFrequency(out.subarray(800, 15200))).toBe(freq);
      expect(amplitudeAt(out.subarray(800, 15200), freq)).toBeGreaterThan(9500);
      expect(amplitudeAt(out.subarray(800, 15200), freq)).toBeLessThan(10500);
    });
  }

  for (const freq of [9000, 12000, 15000, 20000]) {
    it(`removes a ${freq} Hz tone (above 8 kHz) instead of aliasing it`, () => {
      const out = resample(sine(freq, 44100, 1), 44100);
      // Without a low-pass this tone would fold back at full amplitude (10000).
      expect(rms(out.subarray(800, 15200))).toBeLessThan(10);
    });
  }

  it('passes 16 kHz through unchanged', () => {
    const x = Int16Array.from([1, -2, 3, 32767, -32768]);
    expect(Array.from(resample(x, 16000))).toEqual(Array.from(x));
  });

  it('refuses an absurd rate with GW_AUDIO_UNSUPPORTED', () => {
    expect(() => createResampler(5)).toThrow(GatewayError);
    expect(() => createResampler(10_000_000)).toThrow(/outside/);
  });
});

describe('createResampler streaming', () => {
  it('gives the same samples in chunks of any size as in one piece', () => {
    const input = Int16Array.from(sine(700, 44100, 0.5), (v) => Math.round(v));
    const whole = resample(input, 44100);
    const r = createResampler(44100);
    const parts: number[] = [];
    let pos = 0;
    for (const size of [1, 7, 441, 1000, 3, 4410, 20000]) {
      parts.push(...r.push(input.subarray(pos, pos + size)));
      pos += size;
    }
    parts.push(...r.push(input.subarray(pos)));
    parts.push(...r.flush());
    expect(parts.length).toBe(whole.length);
    expect(parts).toEqual(Array.from(whole));
  });

  it('converts 48 kHz phone PCM to 16 kHz with output trailing input by a few ms', () => {
    const r = createResampler(48000);
    const chunk = Int16Array.from(sine(500, 48000, 0.02), (v) => Math.round(v));
    let produced = 0;
    for (let i = 0; i < 50; i++) produced += r.push(chunk).length;
    produced += r.flush().length;
    expect(produced).toBe(16000);
  });
});
