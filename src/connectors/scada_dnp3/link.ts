import { crc16dnp, crcMatches } from './crc.js';
import { fault, failed, parsed, type Fault, type Parsed } from './fault.js';

/**
 * DNP3 data link layer (IEEE 1815 clause 9): 0x05 0x64, length, control, destination,
 * source, header CRC, then the user data in blocks of at most 16 octets, each followed by
 * its own CRC. The length octet counts control, addresses and user data, not the CRCs.
 */
export const START = [0x05, 0x64] as const;
export const HEADER_SIZE = 10;
export const MAX_USER_DATA = 250;
const BLOCK = 16;
/** The largest frame on the wire: header, 250 octets of data and 16 block CRCs. */
export const MAX_FRAME_SIZE = HEADER_SIZE + MAX_USER_DATA + 2 * Math.ceil(MAX_USER_DATA / BLOCK);

/** Primary (PRM = 1) function codes. */
export const LinkPrimary = {
  RESET_LINK_STATES: 0,
  TEST_LINK_STATES: 2,
  CONFIRMED_USER_DATA: 3,
  UNCONFIRMED_USER_DATA: 4,
  REQUEST_LINK_STATUS: 9,
} as const;

/** Secondary (PRM = 0) function codes. */
export const LinkSecondary = { ACK: 0, NACK: 1, LINK_STATUS: 11, NOT_SUPPORTED: 15 } as const;

export interface LinkFrame {
  /** DIR: 1 when the frame comes from a master. */
  readonly dir: boolean;
  /** PRM: 1 for a primary (initiating) frame, 0 for a secondary (answering) one. */
  readonly prm: boolean;
  /** FCB in primary frames; unused (0) in secondary frames. */
  readonly fcb: boolean;
  /** FCV in primary frames, DFC in secondary frames. */
  readonly fcv: boolean;
  readonly func: number;
  readonly destination: number;
  readonly source: number;
  readonly data: Uint8Array;
}

/** Link addresses 0xFFF0..0xFFFF are reserved (broadcast, self address). */
export function isAddress(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

/** Wire size of a frame that carries `dataLength` octets of user data. */
export function frameSize(dataLength: number): number {
  return HEADER_SIZE + dataLength + 2 * Math.ceil(dataLength / BLOCK);
}

function putCrc(out: Uint8Array, start: number, end: number): void {
  const crc = crc16dnp(out, start, end);
  out[end] = crc & 0xff;
  out[end + 1] = crc >>> 8;
}

/** The wire bytes of one frame. Throws a RangeError on a value no frame can carry. */
export function encodeLinkFrame(f: LinkFrame): Uint8Array {
  if (f.data.length > MAX_USER_DATA) throw new RangeError('link user data above 250 octets');
  if (!isAddress(f.destination) || !isAddress(f.source)) throw new RangeError('bad address');
  if (!Number.isInteger(f.func) || f.func < 0 || f.func > 15) throw new RangeError('bad function');
  const out = new Uint8Array(frameSize(f.data.length));
  out[0] = START[0];
  out[1] = START[1];
  out[2] = 5 + f.data.length;
  out[3] = (f.dir ? 0x80 : 0) | (f.prm ? 0x40 : 0) | (f.fcb ? 0x20 : 0) | (f.fcv ? 0x10 : 0)
    | f.func;
  out[4] = f.destination & 0xff;
  out[5] = f.destination >>> 8;
  out[6] = f.source & 0xff;
  out[7] = f.source >>> 8;
  putCrc(out, 0, 8);
  let at = HEADER_SIZE;
  for (let i = 0; i < f.data.length; i += BLOCK) {
    const block = f.data.subarray(i, Math.min(i + BLOCK, f.data.length));
    out.set(block, at);
    putCrc(out, at, at + block.length);
    at += block.length + 2;
  }
  return out;
}

function headerFields(b: Uint8Array): Omit<LinkFrame, 'data'> {
  const control = b[3] ?? 0;
  return {
    dir: (control & 0x80) !== 0,
    prm: (control & 0x40) !== 0,
    fcb: (control & 0x20) !== 0,
    fcv: (control & 0x10) !== 0,
    func: control & 0x0f,
    destination: (b[4] ?? 0) | ((b[5] ?? 0) << 8),
    source: (b[6] ?? 0) | ((b[7] ?? 0) << 8),
  };
}

/** Checks the header at the start of `b` (at least 10 octets); returns the user data size. */
function checkHeader(b: Uint8Array): Parsed<number> {
  if (b[0] !== START[0] || b[1] !== START[1]) return failed('link_sync', 'no 0x0564 start');
  if (!crcMatches(b, 0, 8)) return failed('link_header_crc', 'header CRC does not match');
  const length = b[2] ?? 0;
  if (length < 5) return failed('link_length', `length octet ${length} is below 5`);
  return parsed(length - 5);
}

/** Strips and checks the block CRCs of a frame whose header is already checked. */
function userData(b: Uint8Array, size: number): Parsed<Uint8Array> {
  const data = new Uint8Array(size);
  let at = HEADER_SIZE;
  for (let i = 0; i < size; i += BLOCK) {
    const n = Math.min(BLOCK, size - i);
    if (!crcMatches(b, at, at + n)) {
      return failed('link_data_crc', `CRC of data block ${i / BLOCK} does not match`);
    }
    data.set(b.subarray(at, at + n), i);
    at += n + 2;
  }
  return parsed(data);
}

/** Decodes exactly one complete frame (no leading or trailing octets). */
export function decodeLinkFrame(b: Uint8Array): Parsed<LinkFrame> {
  if (b.length < HEADER_SIZE) return failed('link_length', `${b.length} octets, below a header`);
  const header = checkHeader(b);
  if (!header.ok) return header;
  if (b.length !== frameSize(header.value)) {
    return failed('link_length', `frame of ${b.length} octets, length octet says ` +
      `${frameSize(header.value)}`);
  }
  const data = userData(b, header.value);
  if (!data.ok) return data;
  return parsed({ ...headerFields(b), data: data.value });
}

export type LinkEvent =
  | { readonly type: 'frame'; readonly frame: LinkFrame; readonly raw: Uint8Array }
  | { readonly type: 'fault'; readonly fault: Fault };

/**
 * Splits a TCP byte stream into frames. Garbage, bad header CRCs and impossible lengths
 * make it resynchronise on the next 0x05 0x64; a bad data CRC drops that frame only. It
 * never holds more than one frame's worth of octets between calls.
 */
export class LinkParser {
  private buf = new Uint8Array(0);

  /** Octets held for an incomplete frame; never more than one frame's worth. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): LinkEvent[] {
    const events: LinkEvent[] = [];
    let b = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    for (;;) {
      const start = findStart(b);
      if (start !== 0) {
        // Keep a trailing 0x05: it may be the first half of the next start pair.
        const skip = start < 0 ? (b[b.length - 1] === START[0] ? b.length - 1 : b.length) : start;
        if (skip > 0) {
          events.push({ type: 'fault', fault: fault('link_sync', `${skip} octets skipped`) });
          b = b.subarray(skip);
        }
        if (start < 0) break;
      }
      if (b.length < HEADER_SIZE) break;
      const header = checkHeader(b);
      if (!header.ok) {
        events.push({ type: 'fault', fault: header.fault });
        b = b.subarray(1);
        continue;
      }
      const size = frameSize(header.value);
      if (b.length < size) break;
      const raw = b.slice(0, size);
      b = b.subarray(size);
      const data = userData(raw, header.value);
      events.push(data.ok
        ? { type: 'frame', frame: { ...headerFields(raw), data: data.value }, raw }
        : { type: 'fault', fault: data.fault });
    }
    this.buf = b.slice();
    return events;
  }
}

function findStart(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === START[0] && b[i + 1] === START[1]) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
