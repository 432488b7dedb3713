import { execFileSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, readWavFile, writeWavFile } from '../../src/audio/wav.js';
import { GatewayError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'wav-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Generates a WAV with sox, e.g. soxWav('-r 44100 -c 2 -b 24', 'sine 440'). */
function soxWav(format: string, synth: string, seconds = 0.5): Buffer {
  const out = join(dir, 'sox.wav');
  const effect = ['synth', String(seconds), ...synth.split(' ')];
  execFileSync('sox', ['-n', ...format.split(' '), out, ...effect]);
  return readFileSync(out);
}

/** Power of one frequency (Goertzel), normalised per sample. */
function tonePower(x: Int16Array, freq: number, rate = 16000): number {
  const w = (2 * Math.PI * freq) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const v of x) {
    const s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (x.length * x.length);
}

function rms(x: Int16Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / x.length);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
  return 'no error';
}

/** Builds a WAV from raw chunks: [id, body] pairs after the RIFF/WAVE header. */
function riff(chunks: Array<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [id, body] of chunks) {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    parts.push(head, body);
    if (body.length % 2) parts.push(Buffer.alloc(1));
  }
  const payload = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(4 + payload.length, 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, payload]);
}

function fmtChunk(
  tag: number,
  channels: number,
  rate: number,
  bits: number,
  extra?: Buffer,
): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return extra ? Buffer.concat([b, extra]) : b;
}

function int16Data(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

describe('decodeWav format variants', () => {
  const variants = [
    { format: '-r 16000 -c 1 -b 16', rate: 16000, channels: 1, bits: 16 },
    { format: '-r 44100 -c 2 -b 24', rate: 44100, channels: 2, bits: 24 },
    { format: '-r 48000 -c 1 -b 32', rate: 48000, channels: 1, bits: 32 },
    { format: '-r 22050 -c 1 -b 8', rate: 22050, channels: 1, bits: 8 },
    { format: '-r 8000 -c 1 -b 16', rate: 8000, channels: 1, bits: 16 },
    { format: '-r 44100 -c 1 -e floating-point -b 32', rate: 44100, channels: 1, bits: 32 },
    { format: '-r 32000 -c 6 -b 16', rate: 32000, channels: 6, bits: 16 },
  ];
  for (const v of variants) {
    it(`reads ${v.bits}-bit ${v.channels}-channel ${v.rate} Hz as 16 kHz mono`, () => {
      const wav = decodeWav(soxWav(v.format, 'sine 440'));
      expect(wav.sourceRate).toBe(v.rate);
      expect(wav.channels).toBe(v.channels);
      expect(wav.bitsPerSample).toBe(v.bits);
      expect(wav.durationMs).toBeCloseTo(500, 0);
      expect(Math.abs(wav.samples.length - 8000)).toBeLessThanOrEqual(1);
      // sox's sine peaks near 23100 (about -3 dBFS), so its RMS is near 16330.
      expect(rms(wav.samples.subarray(400, 7600))).toBeGreaterThan(16000);
      expect(tonePower(wav.samples, 440)).toBeGreaterThan(100 * tonePower(wav.samples, 880));
    });
  }

  it('sox writes WAVE_FORMAT_EXTENSIBLE for 24-bit stereo, so that path is exercised', () => {
    expect(soxWav('-r 44100 -c 2 -b 24', 'sine 440').readUInt16LE(20)).toBe(0xfffe);
  });

  it('reads a hand-made WAVE_FORMAT_EXTENSIBLE float header', () => {
    const ext = Buffer.alloc(24);
    ext.writeUInt16LE(22, 0);
    ext.writeUInt16LE(32, 2);
    ext.writeUInt32LE(4, 4);
    Buffer.from('0300000000001000800000aa00389b71', 'hex').copy(ext, 8);
    const data = Buffer.alloc(8);
    data.writeFloatLE(0.5, 0);
    data.writeFloatLE(-0.25, 4);
    const wav = decodeWav(riff([['fmt ', fmtChunk(0xfffe, 1, 16000, 32, ext)], ['data', data]]));
    expect(Array.from(wav.samples)).toEqual([16384, -8192]);
  });

  it('mixes channels down by averaging them', () => {
    const data = int16Data([1000, -1000, 2000, 0, -3000, -1000]);
    const wav = decodeWav(riff([['fmt ', fmtChunk(1, 2, 16000, 16)], ['data', data]]));
    expect(Array.from(wav.samples)).toEqual([0, 1000, -2000]);
  });

  it('maps 8-bit unsigned and 24-bit signed samples to 16-bit values', () => {
    const bytes = Buffer.from([0, 128, 255, 64]);
    const u8 = decodeWav(riff([['fmt ', fmtChunk(1, 1, 16000, 8)], ['data', bytes]]));
    expect(Array.from(u8.samples)).toEqual([-32768, 0, 32512, -16384]);
    const s24 = Buffer.from([0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x00]);
    const w24 = decodeWav(riff([['fmt ', fmtChunk(1, 1, 16000, 24)], ['data', s24]]));
    expect(Array.from(w24.samples)).toEqual([-32768, 32767, 1]);
  });

  it('skips LIST and other chunks and honours the pad byte after an odd-sized chunk', () => {
    const wav = decodeWav(
      riff([
        ['LIST', Buffer.from('abc')],
        ['fmt ', fmtChunk(1, 1, 16000, 16)],
        ['junk', Buffer.from('x')],
        ['data', int16Data([7, -7, 300])],
      ]),
    );
    expect(Array.from(wav.samples)).toEqual([7, -7, 300]);
  });

  it('reads a streamed header (sizes unknown) up to the end of the buffer', () => {
    const buf = execFileSync('espeak-ng', ['-v', 'en-us', '--stdout', 'hello there']);
    expect(buf.readUInt32LE(40)).toBe(0x7ffff000);
    const wav = decodeWav(buf);
    expect(wav.sourceRate).toBe(22050);
    expect(wav.durationMs).toBeCloseTo(((buf.length - 44) / 2 / 22050) * 1000, 3);
    expect(rms(wav.samples)).toBeGreaterThan(500);
  });
});

describe('decodeWav errors', () => {
  it('refuses an empty buffer with GW_AUDIO_EMPTY', () => {
    expect(codeOf(() => decodeWav(Buffer.alloc(0)))).toBe('GW_AUDIO_EMPTY');
  });

  it('refuses a WAV with a zero-length data chunk with GW_AUDIO_EMPTY', () => {
    const buf = riff([['fmt ', fmtChunk(1, 1, 16000, 16)], ['data', Buffer.alloc(0)]]);
    expect(codeOf(() => decodeWav(buf))).toBe('GW_AUDIO_EMPTY');
  });

  it('refuses non-WAV bytes with GW_AUDIO_NOT_WAV', () => {
    expect(codeOf(() => decodeWav(Buffer.from('ID3\x03 this is an mp3')))).toBe('GW_AUDIO_NOT_WAV');
    const avi = riff([['fmt ', fmtChunk(1, 1, 16000, 16)]]);
    avi.write('AVI ', 8, 'latin1');
    expect(codeOf(() => decodeWav(avi))).toBe('GW_AUDIO_NOT_WAV');
  });

  it('refuses a data chunk shorter than declared with GW_AUDIO_TRUNCATED', () => {
    const full = soxWav('-r 16000 -c 1 -b 16', 'sine 440', 0.1);
    expect(codeOf(() => decodeWav(full.subarray(0, full.length - 100)))).toBe('GW_AUDIO_TRUNCATED');
    expect(codeOf(() => decodeWav(full.subarray(0, 30)))).toBe('GW_AUDIO_TRUNCATED');
  });

  it('refuses a file without a fmt chunk with GW_AUDIO_TRUNCATED', () => {
    const buf = riff([['data', int16Data([1, 2, 3])]]);
    expect(codeOf(() => decodeWav(buf))).toBe('GW_AUDIO_TRUNCATED');
  });

  it('refuses mu-law, A-law and ADPCM with GW_AUDIO_UNSUPPORTED', () => {
    for (const enc of ['u-law', 'a-law', 'ms-adpcm', 'ima-adpcm']) {
      const buf = soxWav(`-r 8000 -c 1 -e ${enc}`, 'sine 440', 0.1);
      expect(codeOf(() => decodeWav(buf)), enc).toBe('GW_AUDIO_UNSUPPORTED');
    }
  });

  it('refuses 12-bit PCM with GW_AUDIO_UNSUPPORTED', () => {
    const fmt = fmtChunk(1, 1, 16000, 16);
    fmt.writeUInt16LE(12, 14);
    const buf = riff([['fmt ', fmt], ['data', int16Data([1, 2])]]);
    expect(codeOf(() => decodeWav(buf))).toBe('GW_AUDIO_UNSUPPORTED');
  });

  it('refuses a 10-minute header from the header alone with GW_AUDIO_TOO_LONG', () => {
    // Only the 44-byte header exists: decoding anything would have failed as truncated.
    const head = encodeWav(new Int16Array(0), 16000);
    head.writeUInt32LE(600 * 16000 * 2, 40);
    expect(codeOf(() => decodeWav(head, { maxSeconds: 60 }))).toBe('GW_AUDIO_TOO_LONG');
    expect(codeOf(() => decodeWav(head))).toBe('GW_AUDIO_TOO_LONG');
  });

  it('accepts audio exactly within maxSeconds', () => {
    const buf = encodeWav(new Int16Array(16000).fill(5), 16000);
    expect(decodeWav(buf, { maxSeconds: 1 }).samples.length).toBe(16000);
    expect(codeOf(() => decodeWav(buf, { maxSeconds: 0.99 }))).toBe('GW_AUDIO_TOO_LONG');
  });
});

describe('WAV files', () => {
  it('round-trips samples through writeWavFile and readWavFile', async () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const path = join(dir, 'rt.wav');
    await writeWavFile(path, samples, 16000);
    const wav = await readWavFile(path);
    expect(Array.from(wav.samples)).toEqual(Array.from(samples));
    expect(readFileSync(path).length).toBe(44 + 12);
  });

  it('reports a missing file as GW_AUDIO_NOT_FOUND', async () => {
    await expect(readWavFile(join(dir, 'absent.wav'))).rejects.toMatchObject({
      code: 'GW_AUDIO_NOT_FOUND',
    });
  });

  it('refuses a 10-minute file from its first bytes', async () => {
    const path = join(dir, 'long.wav');
    const head = encodeWav(new Int16Array(0), 16000);
    const bytes = 600 * 16000 * 2;
    head.writeUInt32LE(bytes, 40);
    writeFileSync(path, head);
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, 44 + bytes); // sparse: nothing is written
    closeSync(fd);
    await expect(readWavFile(path, { maxSeconds: 30 })).rejects.toMatchObject({
      code: 'GW_AUDIO_TOO_LONG',
    });
  });
});
