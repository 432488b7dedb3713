import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { SAMPLE_RATE } from './pcm.js';

export type RecorderProgram = 'sox' | 'rec' | 'arecord';

export interface MicrophoneOptions {
  /** Program node-record-lpcm16 runs: sox and rec come from `sox`, arecord from `alsa-utils`. */
  readonly recorder?: RecorderProgram;
  /** ALSA device for arecord (`-D`), or AUDIODEV for sox; the system default when absent. */
  readonly device?: string;
  /** Stops the recording program and ends the iteration without an error. */
  readonly signal?: AbortSignal;
  /** Samples per yielded frame; default 1280 (80 ms, one wake-word step). */
  readonly frameSamples?: number;
  /** Frames held while the consumer is busy; default 64 (about 5 s). The oldest go first. */
  readonly maxQueuedFrames?: number;
  readonly log?: Logger;
}

export const DEFAULT_FRAME_SAMPLES = 1280;
export const DEFAULT_MAX_QUEUED_FRAMES = 64;
/** Bytes of the recorder's stderr kept for the error message. */
const STDERR_TAIL_BYTES = 2048;
/** After SIGTERM, how long the recorder gets before SIGKILL. */
const KILL_GRACE_MS = 2000;

const DEBIAN_PACKAGE: Record<RecorderProgram, string> = {
  sox: 'sox',
  rec: 'sox',
  arecord: 'alsa-utils',
};

interface Recording {
  readonly process: ChildProcess;
  stream(): Readable;
  stop(): void;
}
interface RecordModule {
  record(options: Record<string, unknown>): Recording;
}

const require = createRequire(import.meta.url);

function deviceError(message: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_AUDIO_DEVICE', message, cause ? { cause } : undefined);
}

/** Collects raw s16le bytes into fixed-size frames, carrying odd bytes over. */
class Framer {
  private carry = Buffer.alloc(0);
  constructor(private readonly frameBytes: number) {}

  push(chunk: Buffer): Int16Array[] {
    const bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const frames: Int16Array[] = [];
    let pos = 0;
    for (; pos + this.frameBytes <= bytes.length; pos += this.frameBytes) {
      frames.push(toSamples(bytes.subarray(pos, pos + this.frameBytes)));
    }
    this.carry = Buffer.from(bytes.subarray(pos));
    return frames;
  }

  rest(): Int16Array | null {
    const usable = this.carry.length - (this.carry.length % 2);
    return usable > 0 ? toSamples(this.carry.subarray(0, usable)) : null;
  }
}

function toSamples(bytes: Buffer): Int16Array {
  const out = new Int16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

function stopProcess(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, KILL_GRACE_MS);
  timer.unref();
  child.once('close', () => clearTimeout(timer));
}

/**
 * Captures 16 kHz mono signed 16-bit audio from the microphone through
 * node-record-lpcm16. The recording program starts on the first `next()`; it is
 * stopped when the signal aborts or the consumer leaves the loop.
 */
export async function* openMicrophone(opts: MicrophoneOptions = {}): AsyncGenerator<Int16Array> {
  const { signal, log } = opts;
  if (signal?.aborted) return;
  const program = opts.recorder ?? 'sox';
  const maxQueued = opts.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES;
  const frameSamples = opts.frameSamples ?? DEFAULT_FRAME_SAMPLES;
  if (!Number.isInteger(frameSamples) || frameSamples < 1 || maxQueued < 1) {
    throw new GatewayError('GW_CONFIG_INVALID', 'microphone frame and queue sizes must be >= 1');
  }
  const framer = new Framer(frameSamples * 2);
  const { record } = require('node-record-lpcm16') as RecordModule;

  const queue: Int16Array[] = [];
  let failure: GatewayError | undefined;
  let ended = false;
  let stopping = false;
  let dropped = 0;
  let stderrTail = '';
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };

  const recording = record({
    sampleRate: SAMPLE_RATE,
    channels: 1,
    recorder: program,
    device: opts.device ?? null,
    audioType: 'raw',
  });
  const child = recording.process;
  const stream = recording.stream();

  child.on('error', (err: NodeJS.ErrnoException) => {
    const missing = err.code === 'ENOENT';
    failure ??= deviceError(
      missing
        ? `the recording program ${program} is not installed (Debian package ` +
            `${DEBIAN_PACKAGE[program]})`
        : `cannot start the recording program ${program}: ${err.message}`,
      err,
    );
    notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  // node-record-lpcm16 reports a non-zero exit as an 'error' on the stream; 'close' below
  // turns it into a GatewayError with the program's own words.
  stream.on('error', () => undefined);
  stream.on('data', (chunk: Buffer) => {
    for (const frame of framer.push(chunk)) {
      if (queue.length >= maxQueued) {
        queue.shift();
        if (dropped++ === 0) log?.warn({ program, maxQueued }, 'microphone frames dropped');
      }
      queue.push(frame);
    }
    notify();
  });
  child.on('close', (code: number | null, sig: NodeJS.Signals | null) => {
    ended = true;
    const rest = framer.rest();
    if (rest) queue.push(rest);
    if (!stopping && code !== 0 && !failure) {
      const said = stderrTail.trim().split('\n').slice(-3).join(' / ');
      const how = code === null ? `signal ${sig ?? 'unknown'}` : `status ${code}`;
      failure = deviceError(`the recording program ${program} exited with ${how}: ${said}`);
    }
    notify();
  });

  const onAbort = (): void => {
    stopping = true;
    stopProcess(child);
    notify();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  log?.debug({ program, device: opts.device }, 'microphone opened');
  try {
    for (;;) {
      if (stopping) return;
      const frame = queue.shift();
      if (frame) {
        yield frame;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stopping = true;
    stopProcess(child);
    log?.debug({ program, dropped }, 'microphone closed');
  }
}
