import type { FileHandle } from 'node:fs/promises';
import { GatewayError } from '../errors.js';
import { checkRiffStart } from './wav-header.js';

/**
 * Most chunks walked before the samples are found. Real files hold two to five; the
 * bound keeps a file of millions of tiny chunks from costing millions of reads.
 */
export const MAX_CHUNKS_BEFORE_DATA = 1024;
/** Bytes of a fmt chunk that are read: WAVE_FORMAT_EXTENSIBLE, the longest used, needs 40. */
const FMT_READ_BYTES = 40;

/** Where the samples of a WAV file are, and a small header that describes them. */
export interface WavLayout {
  /**
   * A self-contained header: the RIFF/WAVE start, the fmt chunk and the data chunk's own
   * 8 bytes (its declared size as the file gives it), with the chunks between left out.
   */
  readonly head: Buffer;
  /** File offset of the first sample. */
  readonly dataPos: number;
}

/** Reads up to `length` bytes at `position` into `target` at `offset`; returns bytes read. */
export async function readInto(
  handle: FileHandle,
  target: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(target, offset + done, length - done,
      position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const got = await readInto(handle, buf, 0, length, position);
  return buf.subarray(0, got);
}

function truncated(message: string): GatewayError {
  return new GatewayError('GW_AUDIO_TRUNCATED', message);
}

function compactHead(start: Buffer, fmt: Buffer, dataSize: number): Buffer {
  const pad = fmt.length % 2;
  const head = Buffer.alloc(12 + 8 + fmt.length + pad + 8);
  start.copy(head, 0, 0, 12);
  head.write('fmt ', 12, 'latin1');
  head.writeUInt32LE(fmt.length, 16);
  fmt.copy(head, 20);
  const data = 20 + fmt.length + pad;
  head.write('data', data, 'latin1');
  head.writeUInt32LE(dataSize, data + 4);
  return head;
}

/**
 * Walks the RIFF chunks of a `size`-byte file with small positional reads, the way
 * parseWavHeader walks a buffer, and reads no sample data. Throws the same codes.
 */
export async function readWavLayout(handle: FileHandle, size: number): Promise<WavLayout> {
  const start = await readAt(handle, 0, Math.min(size, 12));
  checkRiffStart(start);
  let fmt: Buffer | undefined;
  let data: { pos: number; size: number } | undefined;
  let pos = 12;
  for (let chunks = 0; pos + 8 <= size; chunks += 1) {
    if (chunks === MAX_CHUNKS_BEFORE_DATA) {
      throw new GatewayError('GW_AUDIO_UNSUPPORTED',
        `more than ${MAX_CHUNKS_BEFORE_DATA} chunks come before the samples`);
    }
    const chunk = await readAt(handle, pos, 8);
    const id = chunk.toString('latin1', 0, 4);
    const chunkSize = chunk.readUInt32LE(4);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (body + chunkSize > size) throw truncated('the file ends inside the fmt chunk');
      fmt = await readAt(handle, body, Math.min(chunkSize, FMT_READ_BYTES));
    } else if (id === 'data' && !data) {
      data = { pos: body, size: chunkSize };
    }
    if (fmt && data) return { head: compactHead(start, fmt, data.size), dataPos: data.pos };
    pos = body + chunkSize + (chunkSize % 2);
  }
  if (!fmt) throw truncated('the file has no fmt chunk');
  throw truncated('the file has no data chunk');
}
