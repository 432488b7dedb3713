import { fault, type Fault } from './fault.js';

/**
 * DNP3 object headers and the object formats this master reads (IEEE 1815 clause 4.2.2.7
 * and the object library). Each header is group, variation, qualifier, then a range. The
 * qualifier's low nibble says how the range is written; its bits 4..6 say what prefixes
 * each object (nothing, or an index of 1, 2 or 4 octets).
 */

export type Value =
  /** Binary input or output status, events included; `flags` null for the packed form. */
  | { readonly kind: 'binary'; readonly state: boolean; readonly flags: number | null }
  /** Double-bit binary input: 0 intermediate, 1 off, 2 on, 3 indeterminate. */
  | { readonly kind: 'double_bit'; readonly state: number; readonly flags: number | null }
  | { readonly kind: 'crob'; readonly crob: Crob }
  | { readonly kind: 'number'; readonly value: number; readonly flags: number | null }
  /** An object this master does not interpret, kept as its octets. */
  | { readonly kind: 'raw'; readonly bytes: Uint8Array };

export interface Point {
  readonly index: number;
  readonly value: Value;
}

export interface ObjectBlock {
  readonly group: number;
  readonly variation: number;
  readonly qualifier: number;
  readonly points: readonly Point[];
}

/** Control relay output block, group 12 variation 1. */
export interface Crob {
  /** Op type (bits 0..3), queue, clear, trip-close code (bits 6..7). */
  readonly code: number;
  readonly count: number;
  readonly onTimeMs: number;
  readonly offTimeMs: number;
  readonly status: number;
}

type Layout =
  | { readonly type: 'bits'; readonly width: 1 | 2 }
  | { readonly type: 'binary'; readonly size: number }
  | { readonly type: 'double_bit'; readonly size: number }
  | { readonly type: 'crob' }
  | { readonly type: 'number'; readonly flags: boolean; readonly num: NumType;
      readonly size: number }
  | { readonly type: 'raw'; readonly size: number };

type NumType = 'i16' | 'i32' | 'u16' | 'u32' | 'f32' | 'f64';
const NUM_SIZE: Record<NumType, number> = { i16: 2, i32: 4, u16: 2, u32: 4, f32: 4, f64: 8 };

const num = (flags: boolean, n: NumType, extra = 0): Layout =>
  ({ type: 'number', flags, num: n, size: (flags ? 1 : 0) + NUM_SIZE[n] + extra });

/** Counters, frozen counters, and their events: 32/16-bit, with or without flags/time. */
const counterLayouts = (frozen: boolean): Record<number, Layout> => ({
  1: num(true, 'u32'), 2: num(true, 'u16'),
  ...(frozen ? { 5: num(true, 'u32', 6), 6: num(true, 'u16', 6), 9: num(false, 'u32'),
    10: num(false, 'u16') } : { 5: num(false, 'u32'), 6: num(false, 'u16') }),
});
const counterEventLayouts: Record<number, Layout> = {
  1: num(true, 'u32'), 2: num(true, 'u16'), 5: num(true, 'u32', 6), 6: num(true, 'u16', 6),
};

/** The formats this master can size, by group then variation. */
const LAYOUTS: Readonly<Record<number, Readonly<Record<number, Layout>>>> = {
  1: { 1: { type: 'bits', width: 1 }, 2: { type: 'binary', size: 1 } },
  2: { 1: { type: 'binary', size: 1 }, 2: { type: 'binary', size: 7 },
    3: { type: 'binary', size: 3 } },
  3: { 1: { type: 'bits', width: 2 }, 2: { type: 'double_bit', size: 1 } },
  4: { 1: { type: 'double_bit', size: 1 }, 2: { type: 'double_bit', size: 7 },
    3: { type: 'double_bit', size: 3 } },
  10: { 1: { type: 'bits', width: 1 }, 2: { type: 'binary', size: 1 } },
  11: { 1: { type: 'binary', size: 1 }, 2: { type: 'binary', size: 7 } },
  12: { 1: { type: 'crob' } },
  20: counterLayouts(false),
  21: counterLayouts(true),
  22: counterEventLayouts,
  23: counterEventLayouts,
  30: { 1: num(true, 'i32'), 2: num(true, 'i16'), 3: num(false, 'i32'), 4: num(false, 'i16'),
    5: num(true, 'f32'), 6: num(true, 'f64') },
  32: { 1: num(true, 'i32'), 2: num(true, 'i16'), 3: num(true, 'i32', 6), 4: num(true, 'i16', 6),
    5: num(true, 'f32'), 6: num(true, 'f64'), 7: num(true, 'f32', 6), 8: num(true, 'f64', 6) },
  40: { 1: num(true, 'i32'), 2: num(true, 'i16'), 3: num(true, 'f32'), 4: num(true, 'f64') },
  // Analog output blocks: the value, then a control status octet.
  41: { 1: num(false, 'i32', 1), 2: num(false, 'i16', 1), 3: num(false, 'f32', 1),
    4: num(false, 'f64', 1) },
  50: { 1: { type: 'raw', size: 6 } },
  51: { 1: { type: 'raw', size: 6 }, 2: { type: 'raw', size: 6 } },
  52: { 1: { type: 'raw', size: 2 }, 2: { type: 'raw', size: 2 } },
  80: { 1: { type: 'bits', width: 1 } },
};

/** Octet strings (groups 110 and 111): the variation is the string's length. */
function layoutOf(group: number, variation: number): Layout | null {
  if ((group === 110 || group === 111) && variation > 0) return { type: 'raw', size: variation };
  return LAYOUTS[group]?.[variation] ?? null;
}

/** A bounded little-endian reader; every read checks the remaining length first. */
class Reader {
  constructor(private readonly b: Uint8Array, public at = 0) {}
  get left(): number {
    return this.b.length - this.at;
  }
  uint(n: 1 | 2 | 4): number | null {
    if (this.left < n) return null;
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + (this.b[this.at + i] ?? 0);
    this.at += n;
    return v;
  }
  take(n: number): Uint8Array | null {
    if (this.left < n) return null;
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

const RANGE_SIZES: Readonly<Record<number, 1 | 2 | 4>> = { 0: 1, 1: 2, 2: 4, 7: 1, 8: 2, 9: 4 };
const PREFIX_SIZES: Readonly<Record<number, 0 | 1 | 2 | 4>> = { 0: 0, 1: 1, 2: 2, 3: 4 };

function decodeNumber(b: Uint8Array, t: NumType, at: number): number {
  const v = new DataView(b.buffer, b.byteOffset + at, NUM_SIZE[t]);
  switch (t) {
    case 'i16': return v.getInt16(0, true);
    case 'i32': return v.getInt32(0, true);
    case 'u16': return v.getUint16(0, true);
    case 'u32': return v.getUint32(0, true);
    case 'f32': return v.getFloat32(0, true);
    case 'f64': return v.getFloat64(0, true);
  }
}

export function decodeCrob(b: Uint8Array): Crob {
  const v = new DataView(b.buffer, b.byteOffset, 11);
  return {
    code: v.getUint8(0),
    count: v.getUint8(1),
    onTimeMs: v.getUint32(2, true),
    offTimeMs: v.getUint32(6, true),
    status: v.getUint8(10),
  };
}

function decodeFixed(layout: Exclude<Layout, { type: 'bits' }>, b: Uint8Array): Value {
  switch (layout.type) {
    case 'binary': return { kind: 'binary', state: ((b[0] ?? 0) & 0x80) !== 0, flags: b[0] ?? 0 };
    case 'double_bit': return { kind: 'double_bit', state: (b[0] ?? 0) >>> 6, flags: b[0] ?? 0 };
    case 'crob': return { kind: 'crob', crob: decodeCrob(b) };
    case 'number': return {
      kind: 'number',
      value: decodeNumber(b, layout.num, layout.flags ? 1 : 0),
      flags: layout.flags ? b[0] ?? 0 : null,
    };
    case 'raw': return { kind: 'raw', bytes: b.slice() };
  }
}

function sizeOf(layout: Exclude<Layout, { type: 'bits' }>): number {
  return layout.type === 'crob' ? 11 : layout.size;
}

interface Range {
  readonly start: number;
  readonly count: number;
  /** True for count qualifiers 0x07..0x09, whose objects carry no index of their own. */
  readonly counted: boolean;
}

function readRange(r: Reader, code: number): Range | Fault {
  const size = RANGE_SIZES[code];
  if (size === undefined) return fault('app_qualifier', `range code 0x${code.toString(16)}`);
  if (code <= 2) {
    const start = r.uint(size);
    const stop = r.uint(size);
    if (start === null || stop === null) return fault('app_truncated', 'range cut short');
    if (stop < start) return fault('app_range', `stop ${stop} below start ${start}`);
    return { start, count: stop - start + 1, counted: false };
  }
  const count = r.uint(size);
  if (count === null) return fault('app_truncated', 'count cut short');
  return { start: 0, count, counted: true };
}

/** Reads the objects of one header. Object counts are checked against the octets left. */
function readPoints(r: Reader, layout: Layout, range: Range, prefix: 0 | 1 | 2 | 4):
Point[] | Fault {
  if (layout.type === 'bits') {
    if (prefix !== 0) return fault('app_qualifier', 'an index prefix on packed objects');
    const bytes = r.take(Math.ceil((range.count * layout.width) / 8));
    if (bytes === null) return fault('app_truncated', 'packed objects cut short');
    const points: Point[] = [];
    for (let i = 0; i < range.count; i++) {
      const bit = i * layout.width;
      const v = ((bytes[bit >>> 3] ?? 0) >>> (bit & 7)) & (layout.width === 1 ? 1 : 3);
      points.push({ index: range.start + i, value: layout.width === 1
        ? { kind: 'binary', state: v === 1, flags: null }
        : { kind: 'double_bit', state: v, flags: null } });
    }
    return points;
  }
  const each = prefix + sizeOf(layout);
  if (range.count * each > r.left) return fault('app_truncated', 'objects cut short');
  const points: Point[] = [];
  for (let i = 0; i < range.count; i++) {
    const index = prefix === 0 ? range.start + i : r.uint(prefix) ?? 0;
    points.push({ index, value: decodeFixed(layout, r.take(sizeOf(layout)) ?? new Uint8Array(0)) });
  }
  return points;
}

export interface ParsedObjects {
  readonly blocks: ObjectBlock[];
  /** Why parsing stopped early, or null when every octet was read. */
  readonly fault: Fault | null;
}

/**
 * Parses the object headers of a response. Total: whatever the octets, it returns the
 * blocks it could read and, when it had to stop (an unknown object whose size it cannot
 * know, a bad qualifier, too few octets), the reason.
 */
export function parseObjects(bytes: Uint8Array): ParsedObjects {
  const r = new Reader(bytes);
  const blocks: ObjectBlock[] = [];
  while (r.left > 0) {
    const group = r.uint(1);
    const variation = r.uint(1);
    const qualifier = r.uint(1);
    if (group === null || variation === null || qualifier === null) {
      return { blocks, fault: fault('app_truncated', 'object header cut short') };
    }
    const prefix = PREFIX_SIZES[(qualifier >>> 4) & 0x07];
    if (prefix === undefined || (qualifier & 0x80) !== 0) {
      return { blocks, fault: fault('app_qualifier', `qualifier 0x${qualifier.toString(16)}`) };
    }
    if ((qualifier & 0x0f) === 0x06) {
      blocks.push({ group, variation, qualifier, points: [] });
      continue;
    }
    const range = readRange(r, qualifier & 0x0f);
    if ('kind' in range) return { blocks, fault: range };
    if (!range.counted && prefix !== 0) {
      // A start-stop range already says which points; an index prefix on top is invalid.
      const q = `qualifier 0x${qualifier.toString(16)}`;
      return { blocks, fault: fault('app_qualifier', `${q} has a range and an index prefix`) };
    }
    const layout = layoutOf(group, variation);
    if (layout === null) {
      const what = `group ${group} variation ${variation}`;
      return { blocks, fault: fault('app_object_unknown', what) };
    }
    const points = readPoints(r, layout, range, prefix);
    if ('kind' in points) return { blocks, fault: points };
    blocks.push({ group, variation, qualifier, points });
  }
  return { blocks, fault: null };
}

/** Header asking for all objects of a group and variation (qualifier 0x06). */
export function allObjects(group: number, variation: number): Uint8Array {
  return Uint8Array.of(group, variation, 0x06);
}

/** Header for a start-stop range of indexes, with 1-octet or 2-octet bounds as needed. */
export function rangeHeader(group: number, variation: number, start: number, stop: number):
Uint8Array {
  if (stop <= 0xff) return Uint8Array.of(group, variation, 0x00, start, stop);
  return Uint8Array.of(group, variation, 0x01, start & 0xff, start >>> 8, stop & 0xff, stop >>> 8);
}

/** Group 12 variation 1, one object, qualifier 0x28: count and index of 2 octets each. */
export function crobObject(index: number, crob: Crob): Uint8Array {
  const out = new Uint8Array(7 + 11);
  const v = new DataView(out.buffer);
  out.set([12, 1, 0x28], 0);
  v.setUint16(3, 1, true);
  v.setUint16(5, index, true);
  v.setUint8(7, crob.code);
  v.setUint8(8, crob.count);
  v.setUint32(9, crob.onTimeMs, true);
  v.setUint32(13, crob.offTimeMs, true);
  v.setUint8(17, crob.status);
  return out;
}
