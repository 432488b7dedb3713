import { GatewayError } from '../errors.js';

/** The sample encodings the decoder reads. */
export type WavEncoding = 'pcm' | 'float';

export interface WavHeader {
  readonly encoding: WavEncoding;
  readonly channels: number;
  readonly sampleRate: number;
  /** Bits per sample as stored (the container size). */
  readonly bitsPerSample: number;
  readonly blockAlign: number;
  /** Byte offset of the first sample in the buffer. */
  readonly dataOffset: number;
  /** Bytes of sample data present in the buffer (whole frames only). */
  readonly dataBytes: number;
  /** Bytes the data chunk says it holds, or null for a streamed header of unknown length. */
  readonly declaredDataBytes: number | null;
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Data sizes that programs writing to a pipe put in the header because they cannot
 * seek back: sox and `espeak-ng --stdout` write 0x7ffff000, others 0xffffffff.
 */
const STREAMED_SIZES = new Set([0x7ffff000, 0xffffffff]);

/** The tail shared by the KSDATAFORMAT_SUBTYPE GUIDs for PCM and IEEE float. */
const SUBTYPE_TAIL = Buffer.from([
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
]);

const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0055: 'MP3',
};

function unsupported(message: string): GatewayError {
  return new GatewayError('GW_AUDIO_UNSUPPORTED', message);
}

function truncated(message: string): GatewayError {
  return new GatewayError('GW_AUDIO_TRUNCATED', message);
}

interface FmtFields {
  encoding: WavEncoding;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function formatName(tag: number): string {
  return FORMAT_NAMES[tag] ?? `format tag 0x${tag.toString(16).padStart(4, '0')}`;
}

function parseFmt(buf: Buffer, start: number, size: number): FmtFields {
  if (size < 16) throw truncated(`fmt chunk is ${size} bytes; at least 16 are needed`);
  let tag = buf.readUInt16LE(start);
  const channels = buf.readUInt16LE(start + 2);
  const sampleRate = buf.readUInt32LE(start + 4);
  const blockAlign = buf.readUInt16LE(start + 12);
  const bitsPerSample = buf.readUInt16LE(start + 14);
  let validBits = bitsPerSample;
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw truncated('WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes');
    validBits = buf.readUInt16LE(start + 18);
    const guid = buf.subarray(start + 24, start + 40);
    if (!guid.subarray(2).equals(SUBTYPE_TAIL)) {
      throw unsupported('WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID');
    }
    tag = guid.readUInt16LE(0);
    if (validBits === 0) validBits = bitsPerSample;
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_FLOAT) {
    throw unsupported(`${formatName(tag)} WAV files are not supported; use PCM or IEEE float`);
  }
  const encoding: WavEncoding = tag === FORMAT_PCM ? 'pcm' : 'float';
  const sizes = encoding === 'pcm' ? [8, 16, 24, 32] : [32, 64];
  if (!sizes.includes(bitsPerSample) || validBits > bitsPerSample || validBits < 1) {
    throw unsupported(`${bitsPerSample}-bit ${encoding} samples are not supported`);
  }
  if (channels < 1) throw unsupported('the fmt chunk declares zero channels');
  if (sampleRate < 1) throw unsupported('the fmt chunk declares a sample rate of zero');
  if (blockAlign !== (channels * bitsPerSample) / 8) {
    throw unsupported(
      `block align ${blockAlign} does not match ${channels} x ${bitsPerSample} bits`,
    );
  }
  return { encoding, channels, sampleRate, bitsPerSample, blockAlign };
}

export interface ParseOptions {
  /** Seconds above which the file is refused, judged from the header alone. */
  readonly maxSeconds?: number;
  /** The buffer holds only the start of the file: skip checks that need the whole data. */
  readonly partial?: boolean;
}

/** Refuses `bytes` of samples in this format when they last longer than `maxSeconds`. */
export function checkDuration(
  fmt: Pick<FmtFields, 'sampleRate' | 'blockAlign'>,
  bytes: number,
  maxSeconds: number | undefined,
): void {
  if (maxSeconds === undefined) return;
  const seconds = bytes / (fmt.sampleRate * fmt.blockAlign);
  if (seconds > maxSeconds) {
    throw new GatewayError(
      'GW_AUDIO_TOO_LONG',
      `the audio lasts ${seconds.toFixed(1)} s; the limit is ${maxSeconds} s`,
    );
  }
}

/**
 * Checks the first 12 bytes of a file (all of them when it is shorter): an empty file,
 * RF64, anything but RIFF/WAVE, or a file that ends inside those 12 bytes is refused.
 */
export function checkRiffStart(buf: Buffer): void {
  if (buf.length === 0) throw new GatewayError('GW_AUDIO_EMPTY', 'the audio file is empty');
  if (buf.length >= 4 && buf.toString('latin1', 0, 4) === 'RF64') {
    throw unsupported('RF64 (64-bit WAV) files are not supported');
  }
  const isRiff = buf.length >= 4 && buf.toString('latin1', 0, 4) === 'RIFF';
  if (!isRiff && !'RIFF'.startsWith(buf.toString('latin1', 0, Math.min(4, buf.length)))) {
    throw new GatewayError('GW_AUDIO_NOT_WAV', 'the file does not start with a RIFF header');
  }
  if (buf.length < 12) throw truncated('the file ends inside the RIFF header');
  if (buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new GatewayError('GW_AUDIO_NOT_WAV', 'the RIFF file is not of type WAVE');
  }
}

/**
 * Walks the RIFF chunks (skipping LIST, fact, cue and any others, honouring the pad
 * byte after odd-sized chunks) and returns where the samples are and how they are
 * encoded. Reads no sample data, so a huge declared length is refused cheaply.
 */
export function parseWavHeader(buf: Buffer, opts: ParseOptions = {}): WavHeader {
  checkRiffStart(buf);
  let fmt: FmtFields | undefined;
  let data: { body: number; size: number } | undefined;
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (body + size > buf.length) throw truncated('the file ends inside the fmt chunk');
      fmt = parseFmt(buf, body, size);
    } else if (id === 'data' && !data) {
      data = { body, size };
    }
    // The usual layout: fmt, then data running to the end of the file.
    if (fmt && data) return dataHeader(buf, fmt, data.body, data.size, opts);
    pos = body + size + (size % 2);
  }
  if (!fmt) throw truncated('the file has no fmt chunk');
  throw truncated('the file has no data chunk');
}

function dataHeader(
  buf: Buffer,
  fmt: FmtFields,
  body: number,
  size: number,
  opts: ParseOptions,
): WavHeader {
  const available = Math.max(0, buf.length - body);
  const streamed = STREAMED_SIZES.has(size) && (opts.partial || size > available);
  const declared = streamed ? null : size;
  checkDuration(fmt, declared ?? available, opts.maxSeconds);
  if (declared !== null && declared > available && !opts.partial) {
    throw truncated(`the data chunk declares ${declared} bytes but only ${available} follow`);
  }
  const present = Math.min(declared ?? available, available);
  const dataBytes = present - (present % fmt.blockAlign);
  return { ...fmt, dataOffset: body, dataBytes, declaredDataBytes: declared };
}
