import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Endpointer } from '../../src/endpoint/endpointer.js';
import { EnergyVad } from '../../src/endpoint/energy.js';
import { createVad } from '../../src/endpoint/index.js';
import { SileroVad } from '../../src/endpoint/silero.js';
import type { EndpointEvent, VoiceActivityDetector } from '../../src/endpoint/types.js';
import { concat, msToTestSamples, noise, silence, speak, withNoise } from '../helpers/speech.js';

let silero: SileroVad;
let command: Int16Array;

beforeAll(async () => {
  silero = await SileroVad.create();
  command = await speak('close breaker seven at substation twelve', { voice: 'en-us' });
});

afterAll(async () => {
  await silero.close();
});

/** Feeds audio in 20 ms chunks and collects the events. */
async function run(e: Endpointer, audio: Int16Array): Promise<EndpointEvent[]> {
  const events: EndpointEvent[] = [];
  for (let at = 0; at < audio.length; at += 320) {
    events.push(...(await e.process(audio.subarray(at, at + 320))));
  }
  return events;
}

/** Where the synthesised words really are: first and last sample louder than 1/50 of the peak. */
function voicedSpan(audio: Int16Array): { first: number; last: number } {
  const peak = audio.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
  const loud = (s: number): boolean => Math.abs(s) > peak / 50;
  let last = audio.length - 1;
  while (last > 0 && !loud(audio[last] ?? 0)) last--;
  return { first: audio.findIndex(loud), last };
}

const vads: Array<[string, () => VoiceActivityDetector]> = [
  ['silero', () => silero],
  ['energy', () => new EnergyVad()],
];

describe.each(vads)('Endpointer with the %s VAD', (_name, vadOf) => {
  test('finds the end of a command followed by silence', async () => {
    const lead = silence(600);
    const audio = concat(lead, command, silence(2000));
    const e = new Endpointer(vadOf());
    e.reset();
    const events = await run(e, audio);
    expect(events.map((x) => x.type)).toEqual(['speech_start', 'speech_end']);
    const [start, end] = events;
    const span = voicedSpan(command);
    if (start?.type !== 'speech_start' || end?.type !== 'speech_end') throw new Error('order');
    expect(end.reason).toBe('silence');
    // Speech is found where the words are, within 150 ms.
    const slack = msToTestSamples(150);
    const startError = (start.speechStartSample ?? -1) - (lead.length + span.first);
    expect(Math.abs(startError)).toBeLessThan(slack);
    const endError = (end.speechEndSample ?? -1) - (lead.length + span.last);
    expect(Math.abs(endError)).toBeLessThan(slack);
    expect(end.atSample - (end.speechEndSample ?? 0)).toBeGreaterThanOrEqual(msToTestSamples(300));
  });

  test('finds the same utterance in white noise at 15 dB SNR', async () => {
    const lead = silence(600);
    const audio = withNoise(concat(lead, command, silence(2000)), 15, 21);
    const e = new Endpointer(vadOf());
    e.reset();
    const events = await run(e, audio);
    expect(events.map((x) => x.type)).toEqual(['speech_start', 'speech_end']);
    const end = events[1];
    if (end?.type !== 'speech_end') throw new Error('order');
    expect(end.reason).toBe('silence');
    // The end lies in the last word, not in an early pause between words.
    const span = voicedSpan(command);
    expect(end.speechEndSample).toBeGreaterThan(lead.length + span.last - msToTestSamples(400));
  });

  test('reports no_speech on pure silence after noSpeechTimeoutMs', async () => {
    const e = new Endpointer(vadOf(), { noSpeechTimeoutMs: 2000 });
    e.reset();
    const events = await run(e, silence(3000));
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('no_speech');
    expect(events[0]?.atSample).toBeGreaterThanOrEqual(msToTestSamples(2000));
  });

  test('caps a long utterance at maxUtteranceMs', async () => {
    const long = await speak(
      'close breaker seven at substation twelve and then open breaker eight at substation four',
      { voice: 'en-us+m3', speed: 150 },
    );
    const e = new Endpointer(vadOf(), { maxUtteranceMs: 2500 });
    e.reset();
    const events = await run(e, concat(silence(300), long, silence(1000)));
    expect(events.map((x) => x.type)).toEqual(['speech_start', 'speech_end']);
    const end = events[1];
    if (end?.type !== 'speech_end') throw new Error('order');
    expect(end.reason).toBe('max_length');
    const length = end.atSample - (end.speechStartSample ?? 0);
    expect(length).toBeGreaterThanOrEqual(msToTestSamples(2500));
  });
});

describe('Silero VAD', () => {
  test('keeps a partial frame until it is complete', async () => {
    silero.reset();
    expect(await silero.process(new Int16Array(500))).toEqual([]);
    expect(await silero.process(new Int16Array(24))).toHaveLength(1);
    expect(silero.frameSamples).toBe(512);
  });

  test('scores speech high and white noise and silence low', async () => {
    silero.reset();
    const onSpeech = await silero.process(command);
    silero.reset();
    const onNoise = await silero.process(noise(2000, 1500, 5));
    silero.reset();
    const onSilence = await silero.process(silence(1000));
    expect(Math.max(...onSpeech)).toBeGreaterThan(0.9);
    expect(Math.max(...onNoise)).toBeLessThan(0.5);
    expect(Math.max(...onSilence)).toBeLessThan(0.5);
  });

  test('createVad builds either engine', async () => {
    const energy = await createVad('energy');
    expect(energy.engine).toBe('energy');
    const own = await createVad('silero');
    expect(own.engine).toBe('silero');
    await own.close();
    await expect(own.process(silence(100))).rejects.toMatchObject({ code: 'GW_ENGINE_FAILED' });
  });
});

describe('Energy VAD', () => {
  test('tracks the noise floor and does not call steady noise speech', async () => {
    const vad = new EnergyVad();
    const p = await vad.process(noise(3000, 300, 9));
    expect(Math.max(...p)).toBeLessThan(0.5);
    // White noise of RMS 300 sits near -40.8 dBFS.
    expect(vad.noiseFloorDbfs).toBeGreaterThan(-43);
    expect(vad.noiseFloorDbfs).toBeLessThan(-40);
  });

  test('never calls faint sound below minSpeechDbfs speech', async () => {
    const vad = new EnergyVad();
    const p = await vad.process(concat(silence(1000), noise(500, 50, 2)));
    expect(Math.max(...p)).toBeLessThan(0.5);
  });
});
