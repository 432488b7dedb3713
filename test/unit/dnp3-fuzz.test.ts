import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseResponse } from '../../src/connectors/scada_dnp3/app.js';
import { Dnp3Error } from '../../src/connectors/scada_dnp3/fault.js';
import {
  LinkParser, MAX_FRAME_SIZE, encodeLinkFrame,
} from '../../src/connectors/scada_dnp3/link.js';
import { Dnp3Master } from '../../src/connectors/scada_dnp3/master.js';
import { parseObjects } from '../../src/connectors/scada_dnp3/objects.js';
import { Reassembler } from '../../src/connectors/scada_dnp3/transport.js';

// Seeded, bounded fuzzing: the same streams every run, so a failure can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const GROUPS = [1, 2, 3, 4, 10, 12, 20, 21, 30, 32, 40, 41, 50, 60, 80, 110, 255];
const QUALIFIERS = [0x00, 0x01, 0x02, 0x06, 0x07, 0x08, 0x09, 0x17, 0x28, 0x39, 0x5b, 0x0b, 0xff];

/** Object octets that look plausible: real groups and qualifiers, random ranges and data. */
function objectsLike(r: () => number): Uint8Array {
  const out: number[] = [];
  const headers = Math.floor(r() * 4);
  for (let h = 0; h < headers; h++) {
    out.push(GROUPS[Math.floor(r() * GROUPS.length)]!, Math.floor(r() * 5),
      QUALIFIERS[Math.floor(r() * QUALIFIERS.length)]!);
    const tail = Math.floor(r() * 40);
    for (let i = 0; i < tail; i++) out.push(r() < 0.3 ? 0xff : Math.floor(r() * 256));
  }
  return Uint8Array.from(out);
}

/** A response fragment in transport segments, framed; then some of it mutated. */
function streamLike(r: () => number): Uint8Array {
  const parts: number[] = [];
  const frames = 1 + Math.floor(r() * 4);
  for (let f = 0; f < frames; f++) {
    const app = [0xc0 | Math.floor(r() * 64), r() < 0.8 ? 0x81 : Math.floor(r() * 256),
      Math.floor(r() * 256), Math.floor(r() * 256), ...objectsLike(r)].slice(0, 249);
    const th = (r() < 0.8 ? 0xc0 : Math.floor(r() * 256) & 0xc0) | Math.floor(r() * 64);
    const raw = encodeLinkFrame({ dir: false, prm: true, fcb: false, fcv: false, func: 4,
      destination: 1, source: 12, data: Uint8Array.from([th, ...app]) });
    parts.push(...raw);
  }
  const bytes = Uint8Array.from(parts);
  const mutations = Math.floor(r() * 4);
  for (let m = 0; m < mutations; m++) {
    bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
  }
  return r() < 0.1 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : bytes;
}

describe('parsers under fuzzed input', () => {
  it('never throw and hold at most one frame, over 5000 seeded streams', () => {
    const r = rng(20_261_204);
    const parser = new LinkParser();
    const reassembler = new Reassembler(2_048);
    let frames = 0;
    let fragments = 0;
    let parsedResponses = 0;
    for (let n = 0; n < 5_000; n++) {
      const stream = streamLike(r);
      // Random chunking, including one octet at a time.
      for (let at = 0; at < stream.length;) {
        const len = 1 + Math.floor(r() * 64);
        for (const ev of parser.push(stream.subarray(at, at + len))) {
          if (ev.type !== 'frame') continue;
          frames++;
          const whole = reassembler.push(ev.frame.data);
          if (!whole.ok || !whole.value) continue;
          fragments++;
          if (parseResponse(whole.value).ok) parsedResponses++;
        }
        expect(parser.buffered).toBeLessThan(MAX_FRAME_SIZE);
        at += len;
      }
    }
    // The fuzzer reached every layer, not just the CRC check.
    expect(frames).toBeGreaterThan(5_000);
    expect(fragments).toBeGreaterThan(1_000);
    expect(parsedResponses).toBeGreaterThan(500);
  });

  it('parseObjects is total on 20000 random and plausible object strings', () => {
    const r = rng(7);
    let faults = 0;
    for (let n = 0; n < 20_000; n++) {
      const bytes = n % 2 === 0 ? objectsLike(r)
        : Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      const out = parseObjects(bytes);
      if (out.fault) faults++;
      const points = out.blocks.reduce((sum, b) => sum + b.points.length, 0);
      // Each point takes at least one bit of the input.
      expect(points).toBeLessThanOrEqual(bytes.length * 8);
    }
    expect(faults).toBeGreaterThan(0);
  });

  it('a master fed garbage by a hostile outstation ends its request with a typed error',
    async () => {
      const r = rng(99);
      const server = net.createServer((s) => {
        s.on('error', () => undefined);
        s.on('data', () => {
          for (let i = 0; i < 200; i++) s.write(streamLike(r));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        for (let round = 0; round < 5; round++) {
          const m = await Dnp3Master.open({ host: '127.0.0.1', port, masterAddress: 1,
            outstationAddress: 12, responseTimeoutMs: 200, connectTimeoutMs: 2_000 });
          try {
            // Either an answer happened to parse, or a typed error; never anything else.
            await m.readBinaryInput(3).catch((err: unknown) => {
              expect(err).toBeInstanceOf(Dnp3Error);
            });
          } finally {
            m.close();
          }
        }
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
});
