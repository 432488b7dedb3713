import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createWakeDetector } from '../../src/wake/index.js';
import { defaultModelDir } from '../../src/wake/models.js';
import { OpenWakeWordDetector } from '../../src/wake/openwakeword.js';
import type { WakeEvent } from '../../src/wake/types.js';
import { concat, noise, silence, speak, withNoise } from '../helpers/speech.js';

let detector: OpenWakeWordDetector;

beforeAll(async () => {
  detector = await OpenWakeWordDetector.create({ keyword: 'hey_jarvis', threshold: 0.5 });
});

afterAll(async () => {
  await detector.close();
});

/** Feeds audio in 20 ms chunks, as a microphone would, and collects every detection. */
async function detections(audio: Int16Array): Promise<WakeEvent[]> {
  const events: WakeEvent[] = [];
  for (let at = 0; at < audio.length; at += 320) {
    const event = await detector.process(audio.subarray(at, at + 320));
    if (event) events.push(event);
  }
  return events;
}

describe('openWakeWord "hey jarvis"', () => {
  const voices = ['en-us', 'en-us+f3', 'en-us+m3', 'en'];
  const speeds = [150, 185];
  // Two leads half a step (40 ms) apart put the words at different places on the 80 ms grid.
  const leads = [500, 540];
  const cases = voices.flatMap((voice) =>
    speeds.flatMap((speed) => leads.map((leadMs) => ({ voice, speed, leadMs }))),
  );

  const title = 'fires once on "hey jarvis" by $voice at $speed wpm after $leadMs ms';
  test.each(cases)(title, async (c) => {
    const lead = silence(c.leadMs);
    const words = await speak('hey jarvis', c);
    detector.reset();
    const events = await detections(concat(lead, words, silence(2000)));
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.keyword).toBe('hey_jarvis');
    expect(event?.engine).toBe('openwakeword');
    expect(event?.score).toBeGreaterThanOrEqual(0.5);
    // It fires after the words began and within a second of their end.
    expect(event?.atSample).toBeGreaterThan(lead.length);
    expect(event?.atSample).toBeLessThanOrEqual(lead.length + words.length + 16_000);
  });

  test.each([
    'close breaker seven at substation twelve',
    'hello there',
    'what is the weather tomorrow',
    'open valve three',
  ])('stays silent on "%s"', async (text) => {
    const audio = concat(silence(300), await speak(text, { voice: 'en-us', speed: 160 }));
    detector.reset();
    expect(await detector.process(concat(audio, silence(1000)))).toBeNull();
    expect(detector.peakScore).toBeLessThan(0.2);
  });

  test('stays silent on white noise and on digital silence', async () => {
    detector.reset();
    expect(await detector.process(noise(5000, 2000, 11))).toBeNull();
    expect(detector.peakScore).toBeLessThan(0.5);
    detector.reset();
    expect(await detector.process(silence(3000))).toBeNull();
    expect(detector.peakScore).toBeLessThan(0.5);
  });

  test('fires on "hey jarvis" with white noise at 15 dB SNR', async () => {
    const clean = concat(silence(500), await speak('hey jarvis', { voice: 'en-us+m3' }));
    detector.reset();
    const event = await detector.process(withNoise(concat(clean, silence(1500)), 15, 3));
    expect(event).not.toBeNull();
  });

  test('fires again on a second "hey jarvis" after reset', async () => {
    const audio = concat(silence(300), await speak('hey jarvis', { voice: 'en' }), silence(1500));
    detector.reset();
    expect(await detections(audio)).toHaveLength(1);
    detector.reset();
    const again = await detections(audio);
    expect(again).toHaveLength(1);
    expect(again[0]?.atSample).toBeLessThan(audio.length);
  });

  test('fires twice for two utterances in one stream, once each', async () => {
    const phrase = await speak('hey jarvis', { voice: 'en-us' });
    const stream = concat(silence(300), phrase, silence(2500), phrase, silence(1500));
    detector.reset();
    const events = await detections(stream);
    expect(events).toHaveLength(2);
    const [first, second] = events;
    expect((second?.atSample ?? 0) - (first?.atSample ?? 0)).toBeGreaterThan(phrase.length);
  });

  test('gives the same peak score whatever the chunk size', async () => {
    const audio = concat(silence(200), await speak('hey jarvis', { voice: 'en-us+f3' }));
    detector.reset();
    await detector.process(audio);
    const whole = detector.peakScore;
    detector.reset();
    for (let at = 0; at < audio.length; at += 777) {
      await detector.process(audio.subarray(at, at + 777));
    }
    expect(detector.peakScore).toBeCloseTo(whole, 5);
  });

  test('reports GW_MODEL_MISSING, naming the available keywords, for unknown ones', async () => {
    const err = await OpenWakeWordDetector.create({ keyword: 'hey_toaster' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'GW_MODEL_MISSING' });
    expect(String(err.message)).toContain('hey_jarvis');
  });

  test('reports GW_MODEL_MISSING when the model folder lacks the shared models', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oww-'));
    try {
      const classifier = 'hey_jarvis_v0.1.onnx';
      await copyFile(join(defaultModelDir(), classifier), join(dir, classifier));
      const err = await OpenWakeWordDetector.create({ modelDir: dir }).catch((e) => e);
      expect(err).toMatchObject({ code: 'GW_MODEL_MISSING' });
      expect(String(err.message)).toContain('melspectrogram');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses to process after close', async () => {
    const own = await OpenWakeWordDetector.create({ keyword: 'alexa' });
    await own.close();
    await expect(own.process(silence(100))).rejects.toMatchObject({ code: 'GW_ENGINE_FAILED' });
  });
});

describe('createWakeDetector', () => {
  test('returns null for push-to-talk', async () => {
    expect(await createWakeDetector({ engine: 'none', keyword: 'x', threshold: 0.5 })).toBeNull();
  });

  test('does not load the Porcupine library on the openWakeWord path', async () => {
    const made = await createWakeDetector({
      engine: 'openwakeword',
      keyword: 'hey_jarvis',
      threshold: 0.5,
    });
    await made?.close();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((k) => k.includes('porcupine'))).toBe(false);
    expect(loaded.some((k) => k.includes('onnxruntime'))).toBe(true);
  });

  test('builds an openWakeWord detector for the configured keyword', async () => {
    const made = await createWakeDetector({
      engine: 'openwakeword',
      keyword: 'hey_mycroft',
      threshold: 0.6,
    });
    expect(made?.engine).toBe('openwakeword');
    expect(made?.keyword).toBe('hey_mycroft');
    await made?.close();
  });
});
