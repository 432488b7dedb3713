import net from 'node:net';
import { SimDeframer, simFrame, type SimFrame } from './dnp3-sim-link.js';

/**
 * A DNP3 outstation for the tests, written from IEEE 1815 on its own: it shares no code
 * with src/connectors/scada_dnp3 (its own CRC, framing and parsing), so that a mistake in
 * the master is not mirrored here. It serves one binary input per index, CROB points that
 * drive them (CLOSE sets the input, TRIP clears it), SELECT/OPERATE with the standard's
 * rules, and records everything it receives.
 */

// --- wire records --------------------------------------------------------------------------

export type { SimFrame };

export interface ReceivedRequest {
  /** Application control octet fields. */
  seq: number;
  con: boolean;
  uns: boolean;
  fn: number;
  objects: Buffer;
}

export interface ExecutedControl {
  fn: 'OPERATE' | 'DIRECT_OPERATE';
  index: number;
  code: number;
  onTime: number;
}

export interface OutstationOptions {
  /** Link address of this outstation. */
  address: number;
  /** Binary input states by index. */
  binaryInputs?: Record<number, boolean>;
  /** Indexes of CROB points; each drives the binary input of the same index. */
  crobs?: number[];
  selectTimeoutMs?: number;
  /** IIN bits set on every response (IIN1 | IIN2 << 8); DEVICE_RESTART is set until cleared. */
  iin?: number;
  /** Start with IIN1.7 DEVICE_RESTART set, as a real device after power-up. */
  restarted?: boolean;
  directOperateAllowed?: boolean;
  /**
   * Largest object part of one response fragment. A READ answer that is longer goes out as
   * several fragments, each but the last asking for a confirmation that must arrive before
   * the next is sent.
   */
  maxFragment?: number;
}

/** How the simulator misbehaves, switched by tests. */
export interface Faults {
  /** Carry out application requests but never answer them. */
  silent: boolean;
  /** Function codes carried out but not answered (e.g. [4]: answer SELECT, not OPERATE). */
  mute: number[];
  /** Answer with this added to the request's sequence number. */
  seqOffset: number;
  /** Answer SELECT and OPERATE with a CROB whose code differs (a bad echo). */
  corruptEcho: boolean;
  /** Ask for confirmation (CON) on every response. */
  askConfirm: boolean;
}

const FC = { CONFIRM: 0, READ: 1, WRITE: 2, SELECT: 3, OPERATE: 4, DIRECT_OPERATE: 5 };
const IIN2_NO_FUNC = 0x0100;
const IIN2_OBJ_UNKNOWN = 0x0200;
const IIN2_PARAM_ERROR = 0x0400;
const IIN1_RESTART = 0x0080;

export class Dnp3Outstation {
  readonly received: ReceivedRequest[] = [];
  readonly frames: SimFrame[] = [];
  readonly executed: ExecutedControl[] = [];
  /** Link frames that arrived with a bad CRC or a wrong address. */
  rejectedFrames = 0;
  readonly faults: Faults = { silent: false, mute: [], seqOffset: 0, corruptEcho: false, askConfirm: false };
  readonly binaryInputs: Map<number, boolean>;
  private readonly crobs: Set<number>;
  private restart: boolean;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private selection: { seq: number; objects: Buffer; at: number } | null = null;
  private txSeg = 0;
  private unsSeq = 0;
  /** Fragments of a multi-fragment response waiting for the master's confirmation. */
  private awaiting: { seq: number; dest: number; iin: number; rest: Buffer[] } | null = null;

  constructor(private readonly opts: OutstationOptions) {
    this.binaryInputs = new Map(Object.entries(opts.binaryInputs ?? {})
      .map(([k, v]) => [Number(k), v]));
    this.crobs = new Set(opts.crobs ?? []);
    this.restart = opts.restarted ?? false;
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  static async start(opts: OutstationOptions): Promise<Dnp3Outstation> {
    const o = new Dnp3Outstation(opts);
    await o.listen();
    return o;
  }

  private listen(): Promise<void> {
    return new Promise((resolve) => {
      this.server = net.createServer((s) => this.accept(s));
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => {
      if (this.server) this.server.close(() => resolve());
      else resolve();
    });
  }

  /** Waits (in at most `tries` steps of 10 ms) until `n` requests have arrived. */
  async waitForRequests(n: number, tries = 300): Promise<void> {
    for (let i = 0; i < tries && this.received.length < n; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Application requests received, by function code name, e.g. ['READ', 'SELECT']. */
  functions(): string[] {
    const names = Object.fromEntries(Object.entries(FC).map(([k, v]) => [v, k]));
    return this.received.map((r) => names[r.fn] ?? `0x${r.fn.toString(16)}`);
  }

  // --- link layer --------------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const deframer = new SimDeframer();
    let segments: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      const before = deframer.rejected;
      for (const frame of deframer.push(chunk)) {
        this.frames.push(frame);
        segments = this.onLinkFrame(socket, frame, segments);
      }
      this.rejectedFrames += deframer.rejected - before;
    });
  }

  /** Handles one frame; returns the transport segments collected so far. */
  private onLinkFrame(socket: net.Socket, f: SimFrame, segs: Buffer[]): Buffer[] {
    const fromMaster = (f.control & 0x80) !== 0;
    const primary = (f.control & 0x40) !== 0;
    if (!fromMaster || f.dest !== this.opts.address) {
      this.rejectedFrames++;
      return segs;
    }
    const func = f.control & 0x0f;
    if (!primary) return segs;
    if (func === 9) { // REQUEST_LINK_STATUS -> LINK_STATUS
      socket.write(this.linkFrame(0x0b, f.src, Buffer.alloc(0)));
      return segs;
    }
    if (func === 0 || func === 2) { // reset / test link -> ACK
      socket.write(this.linkFrame(0x00, f.src, Buffer.alloc(0)));
      return segs;
    }
    if (func === 3) socket.write(this.linkFrame(0x00, f.src, Buffer.alloc(0)));
    if ((func !== 3 && func !== 4) || f.payload.length === 0) return segs;
    const th = f.payload[0]!;
    const isFirst = (th & 0x40) !== 0;
    const isFinal = (th & 0x80) !== 0;
    const collected = isFirst ? [f.payload.subarray(1)] : [...segs, f.payload.subarray(1)];
    if (!isFinal) return collected;
    this.onApdu(socket, f.src, Buffer.concat(collected));
    return [];
  }

  private linkFrame(control: number, dest: number, payload: Buffer): Buffer {
    return simFrame(control, dest, this.opts.address, payload);
  }

  private sendApdu(socket: net.Socket, dest: number, apdu: Buffer): void {
    for (let off = 0; off < apdu.length || off === 0; off += 249) {
      const chunk = apdu.subarray(off, off + 249);
      const th = (off === 0 ? 0x40 : 0) | (off + 249 >= apdu.length ? 0x80 : 0) | this.txSeg;
      this.txSeg = (this.txSeg + 1) % 64;
      // DIR = 0 (from an outstation), PRM = 1, UNCONFIRMED_USER_DATA
      socket.write(this.linkFrame(0x44, dest, Buffer.concat([Buffer.from([th]), chunk])));
      if (apdu.length === 0) break;
    }
  }

  // --- application layer -----------------------------------------------------------------

  private iinNow(extra: number): number {
    return (this.opts.iin ?? 0) | (this.restart ? IIN1_RESTART : 0) | extra;
  }

  private respond(socket: net.Socket, dest: number, seq: number, iin: number, body: Buffer,
    part: { first: boolean; last: boolean } = { first: true, last: true }): void {
    const ac = (part.first ? 0x80 : 0) | (part.last ? 0x40 : 0)
      | (this.faults.askConfirm || !part.last ? 0x20 : 0)
      | ((seq + this.faults.seqOffset) & 0x0f);
    const iinNow = this.iinNow(iin);
    const head = Buffer.from([ac, 0x81, iinNow & 0xff, (iinNow >> 8) & 0xff]);
    this.sendApdu(socket, dest, Buffer.concat([head, body]));
  }

  /** Object blocks packed into fragments of at most `maxFragment` octets (one block at least). */
  private pack(blocks: Buffer[]): Buffer[] {
    const limit = this.opts.maxFragment ?? Infinity;
    const out: Buffer[] = [];
    let cur: Buffer[] = [];
    let size = 0;
    for (const b of blocks) {
      if (cur.length > 0 && size + b.length > limit) {
        out.push(Buffer.concat(cur));
        cur = [];
        size = 0;
      }
      cur.push(b);
      size += b.length;
    }
    out.push(Buffer.concat(cur));
    return out;
  }

  private respondInParts(socket: net.Socket, dest: number, seq: number, iin: number,
    blocks: Buffer[]): void {
    const [first, ...rest] = this.pack(blocks);
    this.respond(socket, dest, seq, iin, first!, { first: true, last: rest.length === 0 });
    this.awaiting = rest.length > 0 ? { seq, dest, iin, rest } : null;
  }

  /** The next fragment, once the master confirmed the one before it. */
  private onConfirm(socket: net.Socket, req: ReceivedRequest): void {
    const a = this.awaiting;
    if (!a || req.uns || req.seq !== a.seq) return;
    const next = a.rest.shift()!;
    a.seq = (a.seq + 1) & 0x0f;
    this.respond(socket, a.dest, a.seq, a.iin, next, { first: false, last: a.rest.length === 0 });
    if (a.rest.length === 0) this.awaiting = null;
  }

  /** Sends an unsolicited response (asking for confirmation) to every connected master. */
  sendUnsolicited(dest: number): void {
    const iin = this.iinNow(0);
    const apdu = Buffer.from([0xf0 | this.unsSeq, 0x82, iin & 0xff, (iin >> 8) & 0xff]);
    this.unsSeq = (this.unsSeq + 1) & 0x0f;
    for (const s of this.sockets) this.sendApdu(s, dest, apdu);
  }

  private onApdu(socket: net.Socket, master: number, apdu: Buffer): void {
    if (apdu.length < 2) return;
    const ac = apdu[0]!;
    const req: ReceivedRequest = {
      seq: ac & 0x0f, con: (ac & 0x20) !== 0, uns: (ac & 0x10) !== 0, fn: apdu[1]!,
      objects: Buffer.from(apdu.subarray(2)),
    };
    this.received.push(req);
    if (req.fn === FC.CONFIRM) {
      this.onConfirm(socket, req);
      return;
    }
    // A muted request is still carried out: only its response is lost, as on a bad line.
    const muted = this.faults.silent || this.faults.mute.includes(req.fn);
    const reply = (iin: number, body: Buffer = Buffer.alloc(0)): void => {
      if (!muted) this.respond(socket, master, req.seq, iin, body);
    };
    switch (req.fn) {
      case FC.READ: {
        const r = this.read(req.objects);
        if (!muted) this.respondInParts(socket, master, req.seq, r.iin, r.blocks);
        return;
      }
      case FC.WRITE:
        reply(this.write(req.objects));
        return;
      case FC.SELECT:
      case FC.OPERATE:
      case FC.DIRECT_OPERATE: {
        if (req.fn === FC.DIRECT_OPERATE && this.opts.directOperateAllowed === false) {
          reply(IIN2_NO_FUNC);
          return;
        }
        const r = this.control(req);
        reply(r.iin, r.body);
        return;
      }
      default:
        reply(IIN2_NO_FUNC);
    }
  }

  /** Binary inputs with flags (g1v2: ONLINE plus the state in bit 7), start-stop range. */
  private binaryInputBlock(first: number, last: number): Buffer {
    const head = last > 255
      ? Buffer.from([1, 2, 0x01, first & 0xff, first >> 8, last & 0xff, last >> 8])
      : Buffer.from([1, 2, 0x00, first, last]);
    const values: number[] = [];
    for (let i = first; i <= last; i++) values.push(0x01 | (this.binaryInputs.get(i) ? 0x80 : 0));
    return Buffer.concat([head, Buffer.from(values)]);
  }

  private read(objs: Buffer): { iin: number; blocks: Buffer[] } {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos + 3 <= objs.length) {
      const [g, v, q] = [objs[pos]!, objs[pos + 1]!, objs[pos + 2]!];
      pos += 3;
      if (g === 60 && q === 0x06 && v >= 1 && v <= 4) {
        // Class 0 is the static data; this outstation keeps no events, so classes 1-3 are empty.
        if (v === 1 && this.binaryInputs.size > 0) {
          const keys = [...this.binaryInputs.keys()];
          // Blocks of at most 64 points, so that a long answer can be cut into fragments.
          const [lo, hi] = [Math.min(...keys), Math.max(...keys)];
          for (let a = lo; a <= hi; a += 64) out.push(this.binaryInputBlock(a, Math.min(hi, a + 63)));
        }
        continue;
      }
      if (g === 1 && (v === 0 || v === 2) && (q === 0x00 || q === 0x01)) {
        const wide = q === 0x01;
        const need = wide ? 4 : 2;
        if (pos + need > objs.length) return { iin: IIN2_PARAM_ERROR, blocks: [] };
        const start = wide ? objs.readUInt16LE(pos) : objs[pos]!;
        const stop = wide ? objs.readUInt16LE(pos + 2) : objs[pos + 1]!;
        pos += need;
        for (let i = start; i <= stop; i++) {
          if (!this.binaryInputs.has(i)) return { iin: IIN2_PARAM_ERROR, blocks: [] };
        }
        out.push(this.binaryInputBlock(start, stop));
        continue;
      }
      return { iin: IIN2_OBJ_UNKNOWN, blocks: [] };
    }
    return { iin: 0, blocks: out };
  }

  /** Only the restart bit may be written: g80v1, index 7, value 0. */
  private write(objs: Buffer): number {
    if (objs.length === 6 && objs[0] === 80 && objs[1] === 1 && objs[2] === 0x00
      && objs[3] === 7 && objs[4] === 7 && (objs[5]! & 1) === 0) {
      this.restart = false;
      return 0;
    }
    return IIN2_PARAM_ERROR;
  }

  /**
   * SELECT arms, OPERATE must follow with the next sequence number and identical objects
   * within the select timeout; the response echoes the request with a status code.
   */
  private control(req: ReceivedRequest): { iin: number; body: Buffer } {
    const o = req.objects;
    // One g12v1 object, qualifier 0x28 (2-octet count and index) or 0x17 (1-octet each).
    const q28 = o.length === 18 && o[0] === 12 && o[1] === 1 && o[2] === 0x28
      && o.readUInt16LE(3) === 1;
    const q17 = o.length === 16 && o[0] === 12 && o[1] === 1 && o[2] === 0x17 && o[3] === 1;
    if (!q28 && !q17) return { iin: IIN2_PARAM_ERROR, body: Buffer.alloc(0) };
    const index = q28 ? o.readUInt16LE(5) : o[4]!;
    const crobAt = q28 ? 7 : 5;
    const code = o[crobAt]!;
    const echo = Buffer.from(o);
    const setStatus = (s: number): { iin: number; body: Buffer } => {
      echo[echo.length - 1] = s;
      if (this.faults.corruptEcho) echo[crobAt] = code ^ 0xc0;
      return { iin: 0, body: echo };
    };
    const tcc = code >> 6;
    const op = code & 0x0f;
    if (!this.crobs.has(index)) return setStatus(4); // NOT_SUPPORTED
    if (!((tcc === 1 || tcc === 2) && op === 1) && !(tcc === 0 && (op === 3 || op === 4))) {
      return setStatus(4);
    }
    const now = Date.now();
    if (req.fn === FC.SELECT) {
      this.selection = { seq: req.seq, objects: Buffer.from(o.subarray(0, o.length - 1)), at: now };
      return setStatus(0);
    }
    if (req.fn === FC.OPERATE) {
      const sel = this.selection;
      this.selection = null;
      if (!sel || sel.seq !== ((req.seq + 15) & 0x0f)
        || !sel.objects.equals(o.subarray(0, o.length - 1))) {
        return setStatus(2); // NO_SELECT
      }
      if (now - sel.at > (this.opts.selectTimeoutMs ?? 5_000)) return setStatus(1); // TIMEOUT
    }
    const closes = tcc === 1 || (tcc === 0 && op === 3);
    this.binaryInputs.set(index, closes);
    this.executed.push({
      fn: req.fn === FC.OPERATE ? 'OPERATE' : 'DIRECT_OPERATE', index, code,
      onTime: o.readUInt32LE(crobAt + 2),
    });
    return setStatus(0);
  }
}
