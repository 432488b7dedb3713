import { describe, expect, it } from 'vitest';
import { crc16dnp } from '../../src/connectors/scada_dnp3/crc.js';
import {
  LinkParser, MAX_FRAME_SIZE, decodeLinkFrame, encodeLinkFrame, frameSize, type LinkFrame,
} from '../../src/connectors/scada_dnp3/link.js';
import { Reassembler, segmentFragment } from '../../src/connectors/scada_dnp3/transport.js';
import { simCrc } from '../support/dnp3-sim-link.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const frame = (data: Uint8Array, over: Partial<LinkFrame> = {}): LinkFrame => ({
  dir: true, prm: true, fcb: false, fcv: false, func: 4, destination: 12, source: 1, data,
  ...over,
});

describe('CRC-16/DNP', () => {
  it('gives E9 21 for the header in REFERENCE.md, low octet first', () => {
    const crc = crc16dnp(hex('05 64 05 C0 01 00 00 04'));
    expect([crc & 0xff, crc >>> 8]).toEqual([0xe9, 0x21]);
  });

  it('agrees with the simulator\'s independent bitwise CRC on random data', () => {
    let seed = 7;
    for (let n = 0; n < 200; n++) {
      const len = n % 40;
      const data = new Uint8Array(len).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
      expect(crc16dnp(data)).toBe(simCrc(Buffer.from(data)));
    }
  });

  it('gives the standard check value of CRC-16/DNP for "123456789"', () => {
    expect(crc16dnp(new TextEncoder().encode('123456789'))).toBe(0xea82);
  });
});

describe('link frames', () => {
  it('encodes the REFERENCE.md reset-link header exactly', () => {
    const f = encodeLinkFrame({
      dir: true, prm: true, fcb: false, fcv: false, func: 0, destination: 1, source: 1024,
      data: new Uint8Array(0),
    });
    expect(toHex(f)).toBe('056405c001000004e921');
  });

  it('round-trips every data length 0..250 with a CRC after each 16-octet block', () => {
    for (let n = 0; n <= 250; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      const raw = encodeLinkFrame(frame(data, { fcb: n % 2 === 0, fcv: n % 3 === 0 }));
      expect(raw.length).toBe(frameSize(n));
      const back = decodeLinkFrame(raw);
      expect(back.ok).toBe(true);
      if (back.ok) {
        expect(toHex(back.value.data)).toBe(toHex(data));
        expect(back.value).toMatchObject({ dir: true, prm: true, fcb: n % 2 === 0,
          fcv: n % 3 === 0, func: 4, destination: 12, source: 1 });
      }
    }
    expect(frameSize(250)).toBe(MAX_FRAME_SIZE);
    expect(MAX_FRAME_SIZE).toBe(292);
  });

  it('refuses frames it cannot carry', () => {
    expect(() => encodeLinkFrame(frame(new Uint8Array(251)))).toThrow(RangeError);
    expect(() => encodeLinkFrame(frame(new Uint8Array(1), { destination: 70_000 })))
      .toThrow(RangeError);
  });

  it('reports a bad header CRC, a bad block CRC and a short length as typed faults', () => {
    const raw = encodeLinkFrame(frame(new Uint8Array(20).fill(9)));
    const badHeader = raw.slice();
    badHeader[8]! ^= 1;
    expect(decodeLinkFrame(badHeader)).toMatchObject({ ok: false,
      fault: { kind: 'link_header_crc' } });
    const badBlock = raw.slice();
    badBlock[12]! ^= 0x40;
    expect(decodeLinkFrame(badBlock)).toMatchObject({ ok: false,
      fault: { kind: 'link_data_crc' } });
    expect(decodeLinkFrame(raw.subarray(0, 20))).toMatchObject({ ok: false,
      fault: { kind: 'link_length' } });
  });
});

describe('LinkParser', () => {
  it('finds frames split at every octet, after garbage, and skips a frame with a bad CRC', () => {
    const a = encodeLinkFrame(frame(Uint8Array.of(1, 2, 3)));
    const b = encodeLinkFrame(frame(new Uint8Array(40).fill(0x05)));
    const bad = encodeLinkFrame(frame(new Uint8Array(18).fill(0x64)));
    bad[bad.length - 1]! ^= 0xff;
    const stream = new Uint8Array([0x05, 0x00, 0x64, 0x05, ...a, ...bad, ...b]);
    const parser = new LinkParser();
    const events = [...stream].flatMap((octet) => parser.push(Uint8Array.of(octet)));
    const frames = events.filter((e) => e.type === 'frame');
    expect(frames.map((e) => (e.type === 'frame' ? e.frame.data.length : 0))).toEqual([3, 40]);
    const kinds = events.flatMap((e) => (e.type === 'fault' ? [e.fault.kind] : []));
    expect(kinds).toContain('link_sync');
    expect(kinds).toContain('link_data_crc');
  });
});

describe('transport segments', () => {
  it('splits a 600-octet fragment into 249-octet segments and joins them back', () => {
    const fragment = new Uint8Array(600).map((_, i) => i & 0xff);
    const { segments, nextSeq } = segmentFragment(fragment, 62);
    expect(segments.map((s) => s.length)).toEqual([250, 250, 103]);
    expect(segments.map((s) => s[0])).toEqual([0x40 | 62, 63, 0x80 | 0]);
    expect(nextSeq).toBe(1);
    const r = new Reassembler();
    const results = segments.map((s) => r.push(s));
    const last = results.at(-1);
    expect(last?.ok && last.value ? toHex(last.value) : null).toBe(toHex(fragment));
  });

  it('drops a fragment on a sequence gap, a missing first segment or an overflow', () => {
    const r = new Reassembler(300);
    expect(r.push(Uint8Array.of(0x05, 1))).toMatchObject({ ok: false,
      fault: { kind: 'transport_no_first' } });
    expect(r.push(Uint8Array.of(0x40 | 3, 1))).toMatchObject({ ok: true, value: null });
    expect(r.push(Uint8Array.of(0x80 | 5, 1))).toMatchObject({ ok: false,
      fault: { kind: 'transport_sequence' } });
    const big = segmentFragment(new Uint8Array(400), 0).segments;
    expect(r.push(big[0]!).ok).toBe(true);
    expect(r.push(big[1]!)).toMatchObject({ ok: false, fault: { kind: 'fragment_too_large' } });
    expect(r.push(new Uint8Array(0))).toMatchObject({ ok: false,
      fault: { kind: 'transport_empty' } });
  });
});
