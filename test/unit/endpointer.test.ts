import { describe, expect, test } from 'vitest';
import { DEFAULT_ENDPOINTER_OPTIONS, Endpointer } from '../../src/endpoint/endpointer.js';
import type { VoiceActivityDetector } from '../../src/endpoint/types.js';

const FRAME = 160; // 10 ms frames keep the arithmetic readable

/**
 * A VAD that reads its verdict from the audio itself: a frame is speech exactly when its
 * first sample is non-zero. It keeps partial frames like a real VAD.
 */
class ScriptedVad implements VoiceActivityDetector {
  readonly engine = 'energy' as const;
  readonly frameSamples = FRAME;
  resets = 0;
  private carry: number[] = [];

  process(samples: Int16Array): Promise<number[]> {
    this.carry.push(...samples);
    const out: number[] = [];
    while (this.carry.length >= FRAME) {
      out.push(this.carry[0] === 0 ? 0.1 : 0.9);
      this.carry = this.carry.slice(FRAME);
    }
    return Promise.resolve(out);
  }

  reset(): void {
    this.carry = [];
    this.resets++;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Audio for a pattern of 10 ms frames: '#' speech, '.' silence. */
function frames(pattern: string): Int16Array {
  const out = new Int16Array(pattern.length * FRAME);
  [...pattern].forEach((c, i) => out.fill(c === '#' ? 1000 : 0, i * FRAME, (i + 1) * FRAME));
  return out;
}

const options = {
  threshold: 0.5,
  minSpeechMs: 30,
  trailingSilenceMs: 50,
  maxUtteranceMs: 200,
  noSpeechTimeoutMs: 150,
};

describe('Endpointer state machine', () => {
  test('opens after minSpeechMs of speech, closes after trailingSilenceMs of silence', async () => {
    const e = new Endpointer(new ScriptedVad(), options);
    const events = await e.process(frames('.....######.##.........'));
    expect(events).toEqual([
      { type: 'speech_start', atSample: 8 * FRAME, speechStartSample: 5 * FRAME },
      {
        type: 'speech_end',
        atSample: 19 * FRAME,
        reason: 'silence',
        speechEndSample: 14 * FRAME,
        speechStartSample: 5 * FRAME,
      },
    ]);
    expect(e.state).toBe('ended');
  });

  test('ignores a burst shorter than minSpeechMs', async () => {
    const e = new Endpointer(new ScriptedVad(), options);
    expect(await e.process(frames('..##..#.##....'))).toEqual([]);
    expect(e.state).toBe('waiting');
  });

  test('reports no_speech when nothing starts within noSpeechTimeoutMs', async () => {
    const e = new Endpointer(new ScriptedVad(), options);
    expect(await e.process(frames('.'.repeat(14)))).toEqual([]);
    expect(await e.process(frames('.'.repeat(5)))).toEqual([
      { type: 'no_speech', atSample: 15 * FRAME },
    ]);
  });

  test('cuts an utterance at maxUtteranceMs', async () => {
    const e = new Endpointer(new ScriptedVad(), options);
    const events = await e.process(frames('..' + '#'.repeat(40)));
    expect(events.map((x) => x.type)).toEqual(['speech_start', 'speech_end']);
    expect(events[1]).toEqual({
      type: 'speech_end',
      atSample: 22 * FRAME,
      reason: 'max_length',
      speechEndSample: 22 * FRAME,
      speechStartSample: 2 * FRAME,
    });
  });

  test('gives the same events when audio arrives in odd-sized pieces', async () => {
    const audio = frames('...####..#####......##');
    const e = new Endpointer(new ScriptedVad(), options);
    const whole = await e.process(audio);
    e.reset();
    const pieces = [];
    for (let at = 0; at < audio.length; at += 37) {
      pieces.push(...(await e.process(audio.subarray(at, at + 37))));
    }
    expect(pieces).toEqual(whole);
  });

  test('ignores audio after the end until reset, then starts over at sample 0', async () => {
    const vad = new ScriptedVad();
    const e = new Endpointer(vad, options);
    await e.process(frames('####......'));
    expect(await e.process(frames('#####'))).toEqual([]);
    e.reset();
    expect(vad.resets).toBe(1);
    expect(await e.process(frames('####'))).toEqual([
      { type: 'speech_start', atSample: 3 * FRAME, speechStartSample: 0 },
    ]);
  });

  test('rejects options out of range with GW_CONFIG_INVALID', () => {
    expect(() => new Endpointer(new ScriptedVad(), { threshold: 0 })).toThrow(
      expect.objectContaining({ code: 'GW_CONFIG_INVALID' }),
    );
    expect(() => new Endpointer(new ScriptedVad(), { trailingSilenceMs: -1 })).toThrow(
      expect.objectContaining({ code: 'GW_CONFIG_INVALID' }),
    );
  });

  test('documents its defaults', () => {
    expect(DEFAULT_ENDPOINTER_OPTIONS).toEqual({
      threshold: 0.5,
      trailingSilenceMs: 300,
      maxUtteranceMs: 10_000,
      noSpeechTimeoutMs: 4_000,
      minSpeechMs: 120,
    });
    expect(new Endpointer(new ScriptedVad()).options).toEqual(DEFAULT_ENDPOINTER_OPTIONS);
  });
});
