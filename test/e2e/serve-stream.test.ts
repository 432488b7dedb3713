import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ROOT, ServeHarness } from '../support/gateway-serve.js';

const U = path.join(ROOT, 'fixtures/utterances');
type Event = Record<string, unknown> & { type: string };

/** The PCM16 samples of a 16 kHz mono fixture, as raw little-endian bytes. */
function pcmOf(file: string): Buffer {
  const buf = readFileSync(path.join(U, file));
  const at = buf.indexOf('data') + 8;
  return buf.subarray(at);
}

/** A stream client that records every event, binary byte count and the close. */
class Client {
  readonly events: Event[] = [];
  binaryBytes = 0;
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  readonly ws: WebSocket;

  constructor(url: string, opts: { token?: string; protocols?: string[] } = {}) {
    const headers = opts.token ? { Authorization: `Bearer ${opts.token}` } : undefined;
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/stream`, opts.protocols,
      { headers });
    this.ws.on('message', (d, bin) => {
      if (bin) this.binaryBytes += (d as Buffer).length;
      else this.events.push(JSON.parse(d.toString()) as Event);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) =>
      resolve({ code, reason: reason.toString() })));
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', () => resolve());
      this.ws.on('unexpected-response', (_req, res) => reject(new Error(`http ${res.statusCode}`)));
      this.ws.on('error', reject);
    });
  }

  json(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Sends audio in 100 ms frames at real time, then `silenceMs` of silence. */
  async speak(pcm: Buffer, silenceMs = 1_000): Promise<void> {
    const frame = 3_200;
    const all = Buffer.concat([pcm, Buffer.alloc(Math.round(silenceMs * 32))]);
    for (let i = 0; i < all.length; i += frame) {
      this.ws.send(all.subarray(i, i + frame));
      await sleep(100);
    }
  }

  /** Resolves with the first event of `type` (and matching `pred`); bounded by count. */
  async next(type: string, pred: (e: Event) => boolean = () => true): Promise<Event> {
    for (let i = 0; i < 3_000; i++) {
      const e = this.events.find((x) => x.type === type && pred(x));
      if (e) return e;
      if (this.ws.readyState === WebSocket.CLOSED) break;
      await sleep(20);
    }
    throw new Error(`no ${type} event; got ${this.events.map((e) => e.type).join(',')}`);
  }
}

describe('gateway serve: WebSocket stream', () => {
  const gw = new ServeHarness('[server.limits]\nconcurrent_streams = 2\nmax_frame_bytes = 8192\n');
  let url = '';
  beforeAll(async () => {
    url = await gw.start();
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
  });

  it('runs spoken turns from real fixture audio in push-to-talk mode, with barge-in', async () => {
    const c = new Client(url, { token: gw.token('pat') });
    await c.opened;
    c.json({ type: 'start', sample_rate: 16_000, mode: 'push_to_talk' });
    const ready = await c.next('ready');
    expect(ready).toMatchObject({ mode: 'push_to_talk', principal: 'pat' });
    await c.speak(pcmOf('breaker_close_7_12__en-us_150.wav'));
    const asked = await c.next('confirmation');
    expect(asked.readback).toMatch(/^Close breaker seven at substation twelve/);
    expect(c.events.some((e) => e.type === 'transcript'
      && e.text === 'close breaker seven at substation twelve')).toBe(true);
    expect(await c.next('intent', (e) => e.name === 'scada.breaker_operate'))
      .toMatchObject({ slots: { operation: 'close', breaker: 7, substation: 12 } });
    await c.next('reply_start');
    // "confirm" is spoken while the read-back still plays: the reply stops.
    await c.speak(pcmOf('followup_confirm__en-us_150.wav'));
    await c.next('barge_in');
    const result = await c.next('result', (e) => e.decision === 'refused');
    expect(result).toMatchObject({ action: 'scada_dnp3.operate', reason: 'GW_TIER_UNAVAILABLE' });
    expect(c.binaryBytes).toBeGreaterThan(0);
    c.json({ type: 'end' });
    expect((await c.closed).code).toBe(1000);
  }, 120_000);

  it('authenticates at upgrade: header or subprotocol, else HTTP 401', async () => {
    await expect(new Client(url).opened).rejects.toThrow('http 401');
    await expect(new Client(url, { token: 'not.a.token' }).opened).rejects.toThrow('http 401');
    const browserLike = new Client(url, { protocols: ['gateway.v1', `bearer.${gw.token('b')}`] });
    await browserLike.opened;
    expect(browserLike.ws.protocol).toBe('gateway.v1');
    browserLike.ws.close();
    await browserLike.closed;
  });

  it('limits concurrent streams per principal with 429', async () => {
    const token = gw.token('many');
    const a = new Client(url, { token });
    const b = new Client(url, { token });
    await Promise.all([a.opened, b.opened]);
    await expect(new Client(url, { token }).opened).rejects.toThrow('http 429');
    a.ws.close();
    await a.closed;
    // The slot is given back: a new stream opens (bounded retries while the close lands).
    let opened = false;
    for (let i = 0; i < 50 && !opened; i++) {
      opened = await new Client(url, { token }).opened.then(() => true, () => false);
      if (!opened) await sleep(50);
    }
    expect(opened).toBe(true);
    b.ws.close();
  });

  it('closes on malformed, oversized or out-of-order messages without harm to others', async () => {
    const token = gw.token('fuzz');
    const bad: [string, (c: Client) => void, number][] = [
      ['audio before start', (c) => c.ws.send(Buffer.alloc(320)), 4400],
      ['not JSON', (c) => c.ws.send('{"type": "start",'), 4400],
      ['JSON array', (c) => c.ws.send('[1,2]'), 4400],
      ['bad rate', (c) => c.json({ type: 'start', sample_rate: 1 }), 4400],
      ['unknown field', (c) => c.json({ type: 'start', sample_rate: 16000, x: 1 }), 4400],
      ['odd bytes', (c) => {
        c.json({ type: 'start', sample_rate: 16000 });
        c.ws.send(Buffer.alloc(321));
      }, 4400],
      ['start twice', (c) => {
        c.json({ type: 'start', sample_rate: 16000 });
        c.json({ type: 'start', sample_rate: 16000 });
      }, 4400],
      ['unknown type', (c) => {
        c.json({ type: 'start', sample_rate: 16000 });
        c.json({ type: 'shutdown' });
      }, 4400],
      ['oversized frame', (c) => {
        c.json({ type: 'start', sample_rate: 16000 });
        c.ws.send(Buffer.alloc(9_000));
      }, 1009],
    ];
    for (const [name, act, code] of bad) {
      const c = new Client(url, { token });
      await c.opened;
      act(c);
      const closed = await c.closed;
      expect([name, closed.code]).toEqual([name, code]);
      if (code === 4400) {
        expect(c.events.find((e) => e.type === 'error')?.code).toBe('GW_STREAM_PROTOCOL');
      }
    }
    // Random bytes after a proper start are noise, not a crash; confirm/cancel with an
    // unknown id is answered with an error event and the stream stays open.
    const noisy = new Client(url, { token });
    await noisy.opened;
    noisy.json({ type: 'start', sample_rate: 44_100 });
    await noisy.next('ready');
    for (let i = 0; i < 20; i++) {
      const junk = Buffer.alloc(4_096);
      for (let j = 0; j < junk.length; j++) junk[j] = (i * 7919 + j * 104_729) & 0xff;
      noisy.ws.send(junk);
    }
    noisy.json({ type: 'confirm', id: 'nope' });
    expect((await noisy.next('error')).code).toBe('GW_CONFIRMATION_UNKNOWN');
    noisy.json({ type: 'end' });
    expect((await noisy.closed).code).toBe(1000);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 120_000);
});

describe('gateway serve: stream session and buffer limits', () => {
  const gw = new ServeHarness(
    '[server.limits]\nmax_stream_seconds = 2\nmax_buffered_ms = 500\n');
  let url = '';
  beforeAll(async () => {
    url = await gw.start();
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
  });

  it('closes a stream at its session limit with an error event', async () => {
    const c = new Client(url, { token: gw.token('long') });
    await c.opened;
    c.json({ type: 'start', sample_rate: 16_000 });
    await c.next('ready');
    const closed = await c.closed;
    expect(closed.code).toBe(4408);
    expect(c.events.find((e) => e.type === 'error')?.code).toBe('GW_STREAM_LIMIT');
  });

  it('applies backpressure to audio sent faster than it is heard', async () => {
    const c = new Client(url, { token: gw.token('burst') });
    await c.opened;
    c.json({ type: 'start', sample_rate: 16_000 });
    await c.next('ready');
    // Ten minutes of audio at once (19 MB). The server hears audio faster than real time
    // but far slower than this arrives: it pauses reading the socket, so the bytes wait on
    // the sender's side (TCP flow control), and fails the stream only if the frames
    // already in flight pass four times its buffer.
    const frame = Buffer.alloc(3_200);
    let backedUp = false;
    for (let i = 0; i < 6_000 && c.ws.readyState === WebSocket.OPEN; i++) {
      c.ws.send(frame);
      if (i % 500 === 499) {
        await sleep(50);
        backedUp ||= c.ws.bufferedAmount > 1_000_000;
      }
    }
    const closed = await c.closed;
    const error = c.events.find((e) => e.type === 'error')?.code;
    expect(backedUp).toBe(true);
    // The stream ends at its session limit, not on a buffer overflow.
    expect([closed.code, error]).toEqual([4408, 'GW_STREAM_LIMIT']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
