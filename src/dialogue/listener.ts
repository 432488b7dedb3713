import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { concatSamples, msToSamples, samplesToMs } from '../audio/pcm.js';
import { Endpointer } from '../endpoint/endpointer.js';
import type { EndpointerOptions, VoiceActivityDetector } from '../endpoint/types.js';
import type { SpeechToText, SttStream, Transcript } from '../stt/types.js';
import type { WakeDetector, WakeEvent } from '../wake/types.js';

/**
 * The words of the default wake phrase. The recogniser's grammar may hear them before a
 * command (the detector fires near the phrase's end), and they are stripped from the text.
 */
export const WAKE_PHRASE = 'hey jarvis';

/** 80 ms: the wake word model's step, and the unit audio moves through the pipeline in. */
export const CHUNK_SAMPLES = 1280;
/** Audio kept from before the detected start of speech, so the first phoneme is not cut. */
const PREROLL_MS = 300;
const PREROLL_CHUNKS = Math.ceil(msToSamples(PREROLL_MS) / CHUNK_SAMPLES) + 1;
/**
 * The wake detector fires near the end of the wake phrase, sometimes before its
 * last sound. Listening for the command starts at the first quiet chunk after
 * the wake word, or after this long if the speaker runs straight on.
 */
const SETTLE_MS = 640;
/**
 * Audio heard before an utterance that the recogniser adapts to (not
 * transcribed): the wake phrase, or the end of the previous turn.
 */
const CONTEXT_MS = 1_600;
const HISTORY_CHUNKS = Math.ceil(msToSamples(CONTEXT_MS) / CHUNK_SAMPLES) + PREROLL_CHUNKS;

export interface Heard {
  readonly wake: WakeEvent | null;
  readonly transcript: Transcript | null;
  /**
   * How listening ended: `speech_end`, `no_speech`, `end_of_audio`, or null when no wake
   * word came.
   */
  readonly ended: 'speech_end' | 'no_speech' | 'end_of_audio' | null;
  /** Samples consumed from the source during this turn. */
  readonly samples: number;
  readonly timings: Record<string, number>;
}

/** Splits a buffer into CHUNK_SAMPLES pieces, optionally at real-time pace. */
export async function* chunksOf(samples: Int16Array, pace = false): AsyncGenerator<Int16Array> {
  const t0 = performance.now();
  for (let i = 0; i < samples.length; i += CHUNK_SAMPLES) {
    if (pace) {
      const wait = t0 + samplesToMs(i) - performance.now();
      if (wait > 1) await sleep(wait);
    }
    yield samples.subarray(i, i + CHUNK_SAMPLES);
  }
}

/** Regroups audio of any frame size into CHUNK_SAMPLES pieces (the last may be short). */
export async function* rechunk(source: AsyncIterable<Int16Array>): AsyncGenerator<Int16Array> {
  let buf = new Int16Array(CHUNK_SAMPLES);
  let fill = 0;
  for await (const frame of source) {
    let off = 0;
    while (off < frame.length) {
      const n = Math.min(CHUNK_SAMPLES - fill, frame.length - off);
      buf.set(frame.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === CHUNK_SAMPLES) {
        yield buf;
        buf = new Int16Array(CHUNK_SAMPLES);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/**
 * The audio front of a turn: wait for the wake word (unless the turn is
 * already addressed), find the utterance with the endpointer, and stream it
 * into the recogniser while it is being spoken, so that little is left to
 * decode when the speaker stops.
 */
export class Listener {
  /** The most recent audio heard, across turns, newest last. */
  private readonly history: Int16Array[] = [];

  constructor(
    private readonly wake: WakeDetector | null,
    private readonly vad: VoiceActivityDetector,
    private readonly stt: SpeechToText,
    private readonly endpointer: EndpointerOptions,
  ) {}

  private remember(chunk: Int16Array): void {
    this.history.push(chunk);
    if (this.history.length > HISTORY_CHUNKS) this.history.shift();
  }

  /** Reads one chunk and remembers it; null at the end of the source. */
  private async read(source: AsyncIterator<Int16Array>): Promise<Int16Array | null> {
    const next = await source.next();
    if (next.done) return null;
    this.remember(next.value);
    return next.value;
  }

  async hear(source: AsyncIterator<Int16Array>, addressed: boolean): Promise<Heard> {
    const timings: Record<string, number> = {};
    let consumed = 0;
    let event: WakeEvent | null = null;
    if (!addressed && this.wake) {
      this.wake.reset();
      let spent = 0;
      for (;;) {
        const chunk = await this.read(source);
        if (!chunk) break;
        consumed += chunk.length;
        const w0 = performance.now();
        event = await this.wake.process(chunk);
        spent += performance.now() - w0;
        if (event) break;
      }
      timings.wake = spent;
      if (!event) return { wake: null, transcript: null, ended: null, samples: consumed, timings };
    }
    let settled = 0;
    if (event) {
      const s = await this.settle(source);
      consumed += s.samples;
      settled = s.chunks;
    }
    let rest = await this.listen(source, settled > 0 ? 1 : 0, event !== null, timings);
    if (rest.rewoke) {
      // An answer that starts with the wake word is a new command: listen again after it.
      event = rest.rewoke;
      consumed += rest.samples;
      const s = await this.settle(source);
      consumed += s.samples;
      rest = await this.listen(source, s.chunks > 0 ? 1 : 0, true, timings);
    }
    const { transcript, ended } = rest;
    return { wake: event, transcript, ended, samples: consumed + rest.samples, timings };
  }

  /** Reads past the tail of the wake phrase. */
  private async settle(
    source: AsyncIterator<Int16Array>,
  ): Promise<{ samples: number; chunks: number }> {
    this.vad.reset();
    let samples = 0;
    let chunks = 0;
    while (samples < msToSamples(SETTLE_MS)) {
      const chunk = await this.read(source);
      if (!chunk) break;
      samples += chunk.length;
      chunks += 1;
      const probs = await this.vad.process(chunk);
      if (probs.length > 0 && probs.every((p) => p < this.endpointer.threshold)) break;
    }
    return { samples, chunks };
  }

  /**
   * Endpointing, streaming speech into the recogniser once it starts. `quiet`
   * chunks already read (the quiet end of the wake phrase) may serve as pre-roll.
   */
  private async listen(
    source: AsyncIterator<Int16Array>,
    quiet: number,
    woke: boolean,
    timings: Record<string, number>,
  ): Promise<Pick<Heard, 'transcript' | 'ended' | 'samples'> & { rewoke?: WakeEvent }> {
    this.vad.reset();
    const endpointer = new Endpointer(this.vad, this.endpointer);
    // Without a wake word (a follow-up answer), still watch for one.
    const watch = woke ? null : this.wake;
    watch?.reset();
    let stream: SttStream | null = null;
    let sinceStart = quiet;
    let ended: Heard['ended'] = null;
    let consumed = 0;
    let epMs = 0;
    try {
      while (ended === null) {
        const chunk = await this.read(source);
        if (!chunk) break;
        consumed += chunk.length;
        sinceStart += 1;
        const rewoke = watch ? await watch.process(chunk) : null;
        if (rewoke) {
          stream?.abort();
          stream = null;
          return { transcript: null, ended: null, samples: consumed, rewoke };
        }
        const e0 = performance.now();
        const events = await endpointer.process(chunk);
        epMs += performance.now() - e0;
        if (stream) stream.write(chunk);
        for (const ev of events) {
          if (ev.type === 'speech_start' && !stream) {
            // Pre-roll (this chunk included) is transcribed; what came before is context.
            const preroll = Math.min(PREROLL_CHUNKS, sinceStart, this.history.length);
            const cut = this.history.length - preroll;
            // An answer without a wake word has mostly silence before it: adapt to its start.
            stream = this.stt.start({
              context: concatSamples(this.history.slice(0, cut)), adaptToStart: !woke,
            });
            for (const c of this.history.slice(cut)) stream.write(c);
          } else if (ev.type === 'speech_end') {
            ended = 'speech_end';
            const speechEnd = ev.speechEndSample ?? ev.atSample;
            timings.trailing_silence = samplesToMs(ev.atSample - speechEnd);
          } else if (ev.type === 'no_speech') {
            ended = 'no_speech';
          }
        }
      }
      timings.endpoint = epMs;
      if (!stream) return { transcript: null, ended: 'no_speech', samples: consumed };
      if (ended === null) {
        ended = 'end_of_audio';
        timings.trailing_silence = 0;
      }
      const s0 = performance.now();
      const active: SttStream = stream;
      stream = null;
      const transcript = await active.end();
      timings.stt = performance.now() - s0;
      return { transcript, ended, samples: consumed };
    } finally {
      stream?.abort();
    }
  }
}
