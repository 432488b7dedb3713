import { failed, parsed, type Parsed } from './fault.js';

/**
 * DNP3 transport function (IEEE 1815 clause 8): one header octet (FIN 0x80, FIR 0x40,
 * sequence 0..63) before at most 249 octets of an application fragment, so that a segment
 * fits one link frame.
 */
export const MAX_SEGMENT_DATA = 249;
/** Default largest fragment accepted: the standard's default receive fragment size. */
export const DEFAULT_MAX_FRAGMENT = 2048;

export interface Segmented {
  readonly segments: Uint8Array[];
  /** The sequence number for the next fragment's first segment. */
  readonly nextSeq: number;
}

/** Cuts one fragment into transport segments numbered from `seq`. */
export function segmentFragment(fragment: Uint8Array, seq: number): Segmented {
  const segments: Uint8Array[] = [];
  let s = seq & 0x3f;
  let offset = 0;
  do {
    const n = Math.min(MAX_SEGMENT_DATA, fragment.length - offset);
    const seg = new Uint8Array(n + 1);
    const fir = offset === 0 ? 0x40 : 0;
    const fin = offset + n >= fragment.length ? 0x80 : 0;
    seg[0] = fin | fir | s;
    seg.set(fragment.subarray(offset, offset + n), 1);
    segments.push(seg);
    offset += n;
    s = (s + 1) & 0x3f;
  } while (offset < fragment.length);
  return { segments, nextSeq: s };
}

/**
 * Reassembles fragments from segments. A segment out of sequence, without a first
 * segment, or beyond the size limit drops the partial fragment (the standard's rule);
 * memory held is bounded by `maxFragment`.
 */
export class Reassembler {
  private parts: Uint8Array[] = [];
  private size = 0;
  private expected: number | null = null;

  constructor(private readonly maxFragment = DEFAULT_MAX_FRAGMENT) {}

  /** A whole fragment once its last segment arrives, null while one is building. */
  push(segment: Uint8Array): Parsed<Uint8Array | null> {
    const header = segment[0];
    if (header === undefined) return failed('transport_empty', 'segment without a header');
    const fin = (header & 0x80) !== 0;
    const fir = (header & 0x40) !== 0;
    const seq = header & 0x3f;
    const body = segment.subarray(1);
    if (fir) {
      this.reset();
    } else if (this.expected === null) {
      return failed('transport_no_first', `segment ${seq} without a first segment`);
    } else if (seq !== this.expected) {
      const detail = `segment ${seq} where ${this.expected} was due`;
      this.reset();
      return failed('transport_sequence', detail);
    }
    if (this.size + body.length > this.maxFragment) {
      this.reset();
      return failed('fragment_too_large', `fragment above ${this.maxFragment} octets`);
    }
    this.parts.push(body.slice());
    this.size += body.length;
    this.expected = (seq + 1) & 0x3f;
    if (!fin) return parsed(null);
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.reset();
    return parsed(out);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.expected = null;
  }
}
