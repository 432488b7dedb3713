/**
 * Frames on the pipes between the gateway and a sandboxed worker: a 4-byte big-endian length,
 * then that many bytes of UTF-8 JSON. One frame each way per call (plus the worker's "ready"),
 * so the reader needs no streaming parser, only a size cap that it enforces before buffering.
 */
import type { Readable } from 'node:stream';

/** Largest frame either side accepts (request with input and secrets, or result). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  if (body.length > MAX_FRAME_BYTES) {
    throw new RangeError(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Collects frames from a byte stream. `push` returns the frames completed so far; a length
 * above the cap throws at once, before the body is buffered.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): unknown[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: unknown[] = [];
    while (this.pending.length >= 4) {
      const size = this.pending.readUInt32BE(0);
      if (size > this.maxBytes) throw new RangeError(`frame of ${size} bytes exceeds the cap`);
      if (this.pending.length < 4 + size) break;
      frames.push(JSON.parse(this.pending.subarray(4, 4 + size).toString('utf8')));
      this.pending = this.pending.subarray(4 + size);
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Reads exactly one frame from a stream, then stops reading. */
export function readOneFrame(stream: Readable, maxBytes = MAX_FRAME_BYTES): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader(maxBytes);
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      try {
        const [frame] = reader.push(chunk);
        if (frame !== undefined) {
          cleanup();
          stream.pause();
          resolve(frame);
        }
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('stream ended before a whole frame'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
