import { SAMPLE_RATE } from '../audio/pcm.js';
import { resample } from '../audio/resample.js';
import { encodeWav } from '../audio/wav.js';
import type { SpeechAudio } from './types.js';

/** The samples at the gateway's internal 16 kHz (for WebSocket clients, echo reference). */
export function speechTo16k(audio: SpeechAudio): Int16Array {
  return audio.sampleRate === SAMPLE_RATE
    ? audio.samples
    : resample(audio.samples, audio.sampleRate, SAMPLE_RATE);
}

/** A PCM WAV of the audio at its own rate, as players and files want it. */
export function speechToWav(audio: SpeechAudio): Buffer {
  return encodeWav(audio.samples, audio.sampleRate);
}

export function speechDurationMs(audio: SpeechAudio): number {
  return (audio.samples.length * 1000) / audio.sampleRate;
}
