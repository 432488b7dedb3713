import net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  Fn, encodeRequest, parseResponse, type Response,
} from './app.js';
import { Dnp3Error, type Fault } from './fault.js';
import {
  LinkParser, LinkPrimary, LinkSecondary, encodeLinkFrame, type LinkFrame,
} from './link.js';
import { DEFAULT_MAX_FRAGMENT, Reassembler, segmentFragment } from './transport.js';

/**
 * One DNP3 association from a master to an outstation over TCP: link framing, transport
 * segments, application sequence numbers and confirmations. Requests are serialised; each
 * waits at most `responseTimeoutMs` for each fragment of its response.
 */
export interface SessionOptions {
  readonly host: string;
  readonly port: number;
  readonly masterAddress: number;
  readonly outstationAddress: number;
  readonly responseTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxFragment?: number;
  readonly signal?: AbortSignal;
  /** Every frame as it goes out ('tx') or comes in ('rx'); for captures and tests. */
  readonly onFrame?: (direction: 'tx' | 'rx', raw: Uint8Array) => void;
  /**
   * Opens the byte stream to the outstation. Default: a TCP connection from this process.
   * An isolated tier passes its broker's connect instead, which reaches only its endpoint.
   */
  readonly connect?: StreamOpener;
}

export type StreamOpener = (host: string, port: number) => Promise<Duplex>;

/** A plain TCP connection, Nagle off: DNP3 frames are small and each one is awaited. */
export function openTcp(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

/** A whole (possibly multi-fragment) response to one request. */
export interface Answer {
  readonly fragments: readonly Response[];
  /** IIN of the last fragment. */
  readonly iin: number;
}

interface Pending {
  expectedSeq: number;
  fragments: Response[];
  resolve: (a: Answer) => void;
  reject: (e: Dnp3Error) => void;
  timer: NodeJS.Timeout | null;
  /** Fragments dropped for a wrong sequence number while this request waited. */
  ignored: number;
}

/** Faults kept for diagnosis; older ones are dropped. */
const MAX_FAULTS = 32;

export class Dnp3Session {
  /** Faults seen on the wire (bad CRCs, strays, wrong sequence numbers), newest last. */
  readonly faults: Fault[] = [];
  /** IIN of the last response or unsolicited response, or null before any. */
  lastIin: number | null = null;
  private readonly parser = new LinkParser();
  private readonly reassembler: Reassembler;
  private appSeq = 0;
  private transportSeq = 0;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closedBy: Dnp3Error | null = null;

  private constructor(private readonly socket: Duplex, private readonly o: SessionOptions) {
    this.reassembler = new Reassembler(o.maxFragment ?? DEFAULT_MAX_FRAGMENT);
    o.signal?.addEventListener('abort', this.onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.shut(new Dnp3Error('closed', err.message, { cause: err })));
    socket.on('close', () => this.shut(new Dnp3Error('closed', 'the outstation closed the link')));
  }

  /** Opens the stream within `connectTimeoutMs` (or until the signal aborts). */
  static async connect(o: SessionOptions): Promise<Dnp3Session> {
    if (o.signal?.aborted) throw new Dnp3Error('aborted', 'cancelled before connecting');
    const where = `${o.host}:${o.port}`;
    let settled = false;
    const opening = (o.connect ?? openTcp)(o.host, o.port);
    // A stream that opens after the deadline is closed at once, never used.
    opening.then((s) => { if (settled) s.destroy(); }, () => undefined);
    let timer: NodeJS.Timeout | undefined;
    let onAbort = (): void => undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Dnp3Error('connect',
        `no connection to ${where} within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      onAbort = () => reject(new Dnp3Error('aborted', 'cancelled while connecting'));
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const stream = await Promise.race([opening.catch((err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        throw new Dnp3Error('connect', `cannot connect to ${where}: ${why}`, { cause: err });
      }), stop]);
      return new Dnp3Session(stream, o);
    } finally {
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Sends one request and waits for its whole response. Requests run one at a time. */
  request(fn: number, objects?: Uint8Array): Promise<Answer> {
    const run = this.queue.then(() => this.exchange(fn, objects));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The sequence number the next request will carry (tests use it to check rules). */
  get nextSeq(): number {
    return this.appSeq;
  }

  close(): void {
    this.shut(new Dnp3Error('closed', 'the master closed the link'));
  }

  private exchange(fn: number, objects?: Uint8Array): Promise<Answer> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const seq = this.appSeq;
    this.appSeq = (seq + 1) & 0x0f;
    return new Promise<Answer>((resolve, reject) => {
      this.pending = { expectedSeq: seq, fragments: [], resolve, reject, timer: null,
        ignored: 0 };
      this.arm();
      this.sendFragment(encodeRequest(fn, seq, objects));
    });
  }

  /** (Re)starts the response timer: it runs per fragment, as the standard's timer does. */
  private arm(): void {
    const p = this.pending;
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      const ignored = p.ignored > 0
        ? ` (${p.ignored} fragments with the wrong sequence number ignored)` : '';
      this.settle(new Dnp3Error('timeout',
        `no response within ${this.o.responseTimeoutMs} ms${ignored}`));
    }, this.o.responseTimeoutMs);
  }

  private settle(outcome: Answer | Dnp3Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    if (outcome instanceof Dnp3Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  private readonly onAbort = (): void => this.shut(new Dnp3Error('aborted', 'cancelled'));

  private shut(reason: Dnp3Error): void {
    if (!this.closedBy) this.closedBy = reason;
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.settle(reason);
    this.socket.destroy();
  }

  private note(f: Fault): void {
    this.faults.push(f);
    if (this.faults.length > MAX_FAULTS) this.faults.shift();
  }

  private sendFrame(frame: Omit<LinkFrame, 'destination' | 'source'>): void {
    if (this.closedBy) return;
    const raw = encodeLinkFrame({
      ...frame, destination: this.o.outstationAddress, source: this.o.masterAddress,
    });
    this.o.onFrame?.('tx', raw);
    this.socket.write(raw);
  }

  private sendFragment(fragment: Uint8Array): void {
    const { segments, nextSeq } = segmentFragment(fragment, this.transportSeq);
    this.transportSeq = nextSeq;
    for (const data of segments) {
      this.sendFrame({
        dir: true, prm: true, fcb: false, fcv: false, func: LinkPrimary.UNCONFIRMED_USER_DATA, data,
      });
    }
  }

  private onData(chunk: Uint8Array): void {
    for (const ev of this.parser.push(chunk)) {
      if (ev.type === 'fault') {
        this.note(ev.fault);
        continue;
      }
      this.o.onFrame?.('rx', ev.raw);
      this.onFrame(ev.frame);
    }
  }

  private onFrame(f: LinkFrame): void {
    if (f.dir || f.source !== this.o.outstationAddress
      || f.destination !== this.o.masterAddress) {
      this.note({ kind: 'link_sync', detail: `frame ${f.source}->${f.destination} not ours` });
      return;
    }
    if (!f.prm) return; // a secondary frame (ACK, link status): nothing was asked of it here
    const answer = (func: number): void => this.sendFrame({
      dir: true, prm: false, fcb: false, fcv: false, func, data: new Uint8Array(0),
    });
    switch (f.func) {
      case LinkPrimary.REQUEST_LINK_STATUS: answer(LinkSecondary.LINK_STATUS); return;
      case LinkPrimary.RESET_LINK_STATES:
      case LinkPrimary.TEST_LINK_STATES: answer(LinkSecondary.ACK); return;
      case LinkPrimary.CONFIRMED_USER_DATA: answer(LinkSecondary.ACK); break;
      case LinkPrimary.UNCONFIRMED_USER_DATA: break;
      default: answer(LinkSecondary.NOT_SUPPORTED); return;
    }
    if (f.data.length === 0) return;
    const whole = this.reassembler.push(f.data);
    if (!whole.ok) this.note(whole.fault);
    else if (whole.value) this.onFragment(whole.value);
  }

  private confirm(seq: number, uns: boolean): void {
    this.sendFragment(encodeRequest(Fn.CONFIRM, seq, undefined, uns));
  }

  private onFragment(fragment: Uint8Array): void {
    const r = parseResponse(fragment);
    if (!r.ok) {
      this.note(r.fault);
      return;
    }
    const res = r.value;
    this.lastIin = res.iin;
    if (res.fn === Fn.UNSOLICITED_RESPONSE) {
      // Unsolicited data is not asked for by this master; confirm it so the outstation
      // does not keep repeating it, and keep its IIN.
      if (res.control.con) this.confirm(res.control.seq, true);
      return;
    }
    const p = this.pending;
    if (!p) {
      this.note({ kind: 'app_sequence', detail: `response seq ${res.control.seq} unasked` });
      return;
    }
    const first = p.fragments.length === 0;
    if (res.control.seq !== p.expectedSeq || res.control.fir !== first) {
      // The standard's rule: a response that does not match the request is discarded.
      p.ignored++;
      this.note({ kind: 'app_sequence',
        detail: `response seq ${res.control.seq}, fir ${String(res.control.fir)} where seq ` +
          `${p.expectedSeq}, fir ${String(first)} was due` });
      return;
    }
    if (res.control.con) this.confirm(res.control.seq, false);
    p.fragments.push(res);
    if (res.control.fin) {
      this.settle({ fragments: p.fragments, iin: res.iin });
      return;
    }
    if (p.fragments.length >= 64) {
      this.settle(new Dnp3Error('fragment_too_large', 'more than 64 response fragments'));
      return;
    }
    p.expectedSeq = (p.expectedSeq + 1) & 0x0f;
    this.arm();
  }
}
