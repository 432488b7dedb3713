import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { MAX_CHUNKS_BEFORE_DATA } from '../../src/audio/wav-layout.js';
import { encodeWav, readWavFile } from '../../src/audio/wav.js';

const dir = mkdtempSync(join(tmpdir(), 'wav-file-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GB = 1024 ** 3;
/** One second of a 16 kHz mono ramp: a valid header declaring 32,000 bytes of samples. */
const ONE_SECOND = encodeWav(Int16Array.from({ length: 16000 }, (_, i) => i % 1000), 16000);

/** Writes `bytes` to a new file, then grows it to `size` without writing (a sparse file). */
function sparseFile(name: string, bytes: Buffer, size: number): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  truncateSync(path, size);
  onTestFinished(() => rmSync(path, { force: true }));
  return path;
}

/** Largest buffer asked of Buffer.alloc / Buffer.allocUnsafe while `fn` runs. */
async function largestAllocation<T>(fn: () => Promise<T>): Promise<{ value: T; max: number }> {
  let max = 0;
  const note = (size: number): void => { max = Math.max(max, size); };
  const alloc = Buffer.alloc.bind(Buffer);
  const allocUnsafe = Buffer.allocUnsafe.bind(Buffer);
  const a = vi.spyOn(Buffer, 'alloc').mockImplementation((size, fill, enc) => {
    note(size);
    return alloc(size, fill, enc);
  });
  const u = vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size) => {
    note(size);
    return allocUnsafe(size);
  });
  try {
    return { value: await fn(), max };
  } finally {
    a.mockRestore();
    u.mockRestore();
  }
}

describe('readWavFile refuses what is not a regular file', () => {
  it('refuses a named pipe with GW_AUDIO_NOT_FILE without waiting for a writer', async () => {
    // Guards against open() on a FIFO blocking `gateway replay` forever.
    const fifo = join(dir, 'pipe.wav');
    execFileSync('mkfifo', [fifo]);
    onTestFinished(() => rmSync(fifo, { force: true }));
    await expect(readWavFile(fifo)).rejects.toMatchObject({ code: 'GW_AUDIO_NOT_FILE' });
  });

  it('refuses a directory and a character device with GW_AUDIO_NOT_FILE', async () => {
    // Guards against a directory or /dev/zero being reported as a missing file.
    await expect(readWavFile(dir)).rejects.toMatchObject({ code: 'GW_AUDIO_NOT_FILE' });
    await expect(readWavFile('/dev/zero')).rejects.toMatchObject({ code: 'GW_AUDIO_NOT_FILE' });
  });

  it('still reports a missing file as GW_AUDIO_NOT_FOUND', async () => {
    // Guards against the new stat step changing the code of a plain missing file.
    await expect(readWavFile(join(dir, 'absent', 'x.wav'))).rejects.toMatchObject({
      code: 'GW_AUDIO_NOT_FOUND',
    });
  });
});

describe('readWavFile memory follows the header, not the file size', () => {
  it('decodes a 1 GB sparse file with a 1-second header using about 1 second of memory',
    async () => {
      // Guards against reading the whole file into one buffer whatever the header says.
      const path = sparseFile('big.wav', ONE_SECOND, GB);
      const before = process.memoryUsage().arrayBuffers;
      const { value: wav, max } = await largestAllocation(() => readWavFile(path));
      const grown = process.memoryUsage().arrayBuffers - before;
      expect(wav.samples.length).toBe(16000);
      expect(wav.samples[999]).toBe(999);
      expect(max).toBeLessThan(64 * 1024);
      expect(grown).toBeLessThan(16 * 1024 * 1024);
    });

  it('decodes a 5 GB sparse file with a 1-second header instead of a Node range error',
    async () => {
      // Guards against 'The value of "size" is out of range' from a whole-file buffer.
      const path = sparseFile('huge.wav', ONE_SECOND, 5 * GB);
      const wav = await readWavFile(path);
      expect(wav.samples.length).toBe(16000);
      expect(wav.durationMs).toBe(1000);
    });

  it('refuses a streamed header on a 1 GB file as GW_AUDIO_TOO_LONG before reading samples',
    async () => {
      // Guards against a header of unknown length making the whole file count as samples.
      const head = Buffer.from(ONE_SECOND.subarray(0, 44));
      head.writeUInt32LE(0xffffffff, 40);
      const path = sparseFile('streamed.wav', head, GB);
      const { max } = await largestAllocation(async () => {
        await expect(readWavFile(path)).rejects.toMatchObject({ code: 'GW_AUDIO_TOO_LONG' });
      });
      expect(max).toBeLessThan(64 * 1024);
    });

  it('reads a streamed espeak-ng file to its end', async () => {
    // Guards against streamed headers (size 0x7ffff000) being refused as truncated.
    const path = join(dir, 'espeak.wav');
    const bytes = execFileSync('espeak-ng', ['-v', 'en-us', '--stdout', 'hello']);
    expect(bytes.readUInt32LE(40)).toBe(0x7ffff000);
    writeFileSync(path, bytes);
    const wav = await readWavFile(path);
    expect(wav.sourceRate).toBe(22050);
    expect(wav.durationMs).toBeCloseTo(((bytes.length - 44) / 2 / 22050) * 1000, 3);
  });
});

describe('readWavFile keeps the decoder error codes', () => {
  it('refuses a file shorter than its data chunk declares with GW_AUDIO_TRUNCATED', async () => {
    // Guards against positional reads silently decoding a short read.
    const path = join(dir, 'short.wav');
    writeFileSync(path, ONE_SECOND.subarray(0, ONE_SECOND.length - 100));
    await expect(readWavFile(path)).rejects.toMatchObject({ code: 'GW_AUDIO_TRUNCATED' });
  });

  it('refuses empty and non-WAV files with GW_AUDIO_EMPTY and GW_AUDIO_NOT_WAV', async () => {
    // Guards against the chunk walker skipping the checks on the first 12 bytes.
    const empty = join(dir, 'empty.wav');
    const text = join(dir, 'text.wav');
    writeFileSync(empty, '');
    writeFileSync(text, 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n');
    await expect(readWavFile(empty)).rejects.toMatchObject({ code: 'GW_AUDIO_EMPTY' });
    await expect(readWavFile(text)).rejects.toMatchObject({ code: 'GW_AUDIO_NOT_WAV' });
  });

  it('skips a LIST chunk larger than 64 KiB before the samples', async () => {
    // Guards against losing files whose metadata comes before fmt and data.
    const list = Buffer.alloc(8 + 100_001);
    list.write('LIST', 0, 'latin1');
    list.writeUInt32LE(100_001, 4);
    const body = ONE_SECOND.subarray(12);
    const wav = Buffer.concat([ONE_SECOND.subarray(0, 12), list, Buffer.alloc(1), body]);
    const path = join(dir, 'list.wav');
    writeFileSync(path, wav);
    const got = await readWavFile(path);
    expect(Array.from(got.samples.subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it('refuses more chunks before the samples than the bound with GW_AUDIO_UNSUPPORTED',
    async () => {
      // Guards against a file of tiny chunks costing one read per 8 bytes of a huge file.
      const junk = Buffer.alloc(8 * (MAX_CHUNKS_BEFORE_DATA + 1));
      for (let i = 0; i <= MAX_CHUNKS_BEFORE_DATA; i += 1) junk.write('junk', i * 8, 'latin1');
      const wav = Buffer.concat([ONE_SECOND.subarray(0, 12), junk, ONE_SECOND.subarray(12)]);
      const path = join(dir, 'chunks.wav');
      writeFileSync(path, wav);
      await expect(readWavFile(path)).rejects.toMatchObject({ code: 'GW_AUDIO_UNSUPPORTED' });
    });

  it('refuses a header longer than maxSeconds before reading the samples', async () => {
    // Guards against the length limit being judged only after the samples are in memory.
    const path = sparseFile('long.wav', ONE_SECOND, GB);
    const { max } = await largestAllocation(async () => {
      await expect(readWavFile(path, { maxSeconds: 0.5 })).rejects.toMatchObject({
        code: 'GW_AUDIO_TOO_LONG',
      });
    });
    expect(max).toBeLessThan(1024);
  });
});
