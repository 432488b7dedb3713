import { constants as bufferConstants } from 'node:buffer';
import { constants, type Stats } from 'node:fs';
import { open, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { GatewayError } from '../errors.js';
import { SAMPLE_RATE } from './pcm.js';
import { resample } from './resample.js';
import { checkDuration, parseWavHeader, type WavHeader } from './wav-header.js';
import { readInto, readWavLayout } from './wav-layout.js';

export { parseWavHeader, type WavHeader } from './wav-header.js';

/** Longest audio decoded when the caller sets no limit: five minutes. */
export const DEFAULT_MAX_WAV_SECONDS = 300;

export interface DecodeWavOptions {
  /** Refuse audio longer than this, judged from the header (default 300 s). */
  readonly maxSeconds?: number;
}

export interface DecodedWav {
  /** 16 kHz mono signed 16-bit samples. */
  readonly samples: Int16Array;
  readonly sourceRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  /** Duration of the source audio. */
  readonly durationMs: number;
}

type SampleReader = (view: DataView, offset: number) => number;

/** Readers scaled to 16-bit sample units. */
function readerFor(h: WavHeader): SampleReader {
  if (h.encoding === 'float') {
    return h.bitsPerSample === 64
      ? (v, o) => v.getFloat64(o, true) * 32768
      : (v, o) => v.getFloat32(o, true) * 32768;
  }
  switch (h.bitsPerSample) {
    case 8:
      return (v, o) => (v.getUint8(o) - 128) * 256;
    case 16:
      return (v, o) => v.getInt16(o, true);
    case 24:
      return (v, o) => ((v.getUint8(o + 2) << 24) | (v.getUint16(o, true) << 8)) / 65536;
    default:
      return (v, o) => v.getInt32(o, true) / 65536;
  }
}

/** Decodes every frame to one value per frame, averaging the channels. */
function mixDown(buf: Buffer, h: WavHeader): Float32Array {
  const frames = h.dataBytes / h.blockAlign;
  const view = new DataView(buf.buffer, buf.byteOffset + h.dataOffset, h.dataBytes);
  const read = readerFor(h);
  const width = h.bitsPerSample / 8;
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const base = f * h.blockAlign;
    let sum = 0;
    for (let c = 0; c < h.channels; c++) sum += read(view, base + c * width);
    out[f] = sum / h.channels;
  }
  return out;
}

function toInt16(values: Float32Array): Int16Array {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const r = Math.round(values[i] ?? 0);
    out[i] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
  }
  return out;
}

export interface DecodedWavMono {
  /** Mono signed 16-bit samples at the file's own rate. */
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  readonly durationMs: number;
}

function decodeFloat(buf: Buffer, opts: DecodeWavOptions): { h: WavHeader; mono: Float32Array } {
  const h = parseWavHeader(buf, { maxSeconds: opts.maxSeconds ?? DEFAULT_MAX_WAV_SECONDS });
  if (h.dataBytes === 0) {
    throw new GatewayError('GW_AUDIO_EMPTY', 'the WAV file holds no samples');
  }
  return { h, mono: mixDown(buf, h) };
}

/** Like decodeWav, but keeps the file's sample rate (for playback of engine output). */
export function decodeWavMono(buf: Buffer, opts: DecodeWavOptions = {}): DecodedWavMono {
  const { h, mono } = decodeFloat(buf, opts);
  return {
    samples: toInt16(mono),
    sampleRate: h.sampleRate,
    channels: h.channels,
    bitsPerSample: h.bitsPerSample,
    durationMs: (mono.length * 1000) / h.sampleRate,
  };
}

/**
 * Decodes a RIFF/WAVE buffer (PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or
 * WAVE_FORMAT_EXTENSIBLE, any channel count and rate) to 16 kHz mono 16-bit.
 */
export function decodeWav(buf: Buffer, opts: DecodeWavOptions = {}): DecodedWav {
  const { h, mono } = decodeFloat(buf, opts);
  const samples = h.sampleRate === SAMPLE_RATE ? toInt16(mono) : resample(mono, h.sampleRate);
  return {
    samples,
    sourceRate: h.sampleRate,
    channels: h.channels,
    bitsPerSample: h.bitsPerSample,
    durationMs: (mono.length * 1000) / h.sampleRate,
  };
}

function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'another special file';
}

function notFile(path: string, info: Stats): GatewayError {
  return new GatewayError('GW_AUDIO_NOT_FILE',
    `${path} is not a regular file (it is ${fileKind(info)})`);
}

/** Stats `path` and refuses anything but a regular file, without opening it. */
async function statRegular(path: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' || code === 'ENOTDIR'
      ? `no audio file at ${path}`
      : `cannot open ${path}: ${code ?? 'error'}`;
    throw new GatewayError('GW_AUDIO_NOT_FOUND', message, { cause: err });
  }
  if (!info.isFile()) throw notFile(path, info);
}

/**
 * Reads and decodes a WAV file. The path must be a regular file (a pipe or device is
 * refused before it is opened). Only the chunk headers and the samples the data chunk
 * declares are read, so memory follows the declared length, never the file size; audio
 * longer than `maxSeconds` is refused from the header before any sample is read.
 */
export async function readWavFile(path: string, opts: DecodeWavOptions = {}): Promise<DecodedWav> {
  await statRegular(path);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should a pipe replace the file after the check, opening it cannot hang.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GatewayError('GW_AUDIO_NOT_FOUND', `cannot open ${path}: ${code ?? 'error'}`, {
      cause: err,
    });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notFile(path, info);
    const { head, dataPos } = await readWavLayout(handle, info.size);
    const maxSeconds = opts.maxSeconds ?? DEFAULT_MAX_WAV_SECONDS;
    const h = parseWavHeader(head, { maxSeconds, partial: true });
    const available = Math.max(0, info.size - dataPos);
    const declared = h.declaredDataBytes;
    // A streamed header declares no length: the samples run to the end of the file.
    checkDuration(h, declared ?? available, maxSeconds);
    if (declared !== null && declared > available) {
      throw new GatewayError('GW_AUDIO_TRUNCATED',
        `the data chunk declares ${declared} bytes but only ${available} follow`);
    }
    const wanted = declared ?? available;
    if (head.length + wanted > bufferConstants.MAX_LENGTH) {
      throw new GatewayError('GW_AUDIO_TOO_LONG',
        `the audio holds ${wanted} bytes, more than one buffer can hold`);
    }
    const whole = Buffer.allocUnsafe(head.length + wanted);
    head.copy(whole);
    const got = await readInto(handle, whole, head.length, wanted, dataPos);
    return decodeWav(whole.subarray(0, head.length + got), opts);
  } finally {
    await handle.close();
  }
}

/** A canonical 44-byte-header PCM WAV of mono signed 16-bit samples. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'latin1');
  out.write('fmt ', 12, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] ?? 0, 44 + i * 2);
  return out;
}

/** Written readable by its owner only: a reply can read back a message or a balance. */
export async function writeWavFile(
  path: string,
  samples: Int16Array,
  sampleRate: number,
): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate), { mode: 0o600 });
}
