/**
 * A port for modbus-serial's ModbusRTU client over a stream the host's broker opened.
 *
 * modbus-serial's own TCP port insists on a net.Socket it may reconnect; inside the microVM
 * the only connection is the Duplex that SandboxContext.connect() returns. This object gives
 * ModbusRTU the port interface it drives (open, close, destroy, write, isOpen, "data",
 * "error" and "close" events, and the transaction ids it keys requests by) and does the
 * Modbus TCP framing itself: ModbusRTU writes RTU frames (unit id, PDU, CRC), which go out
 * as MBAP header + unit id + PDU; an answer comes back as MBAP + unit id + PDU and is handed
 * to ModbusRTU as an RTU frame with its CRC computed here. It never reconnects and never
 * resends: one connection, each request sent once.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

const MBAP_BYTES = 7; // transaction id, protocol id, length, unit id
/** The MBAP length field counts the unit id and the PDU: at most 1 + 253 bytes. */
const MAX_LENGTH = 254;

/** CRC-16/MODBUS (reflected polynomial 0xA001, initial value 0xFFFF), sent low byte first. */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** One Modbus TCP request: MBAP header for `transactionId`, then the frame without its CRC. */
export function mbapFrame(transactionId: number, rtu: Uint8Array): Buffer {
  const body = rtu.subarray(0, rtu.length - 2); // unit id + PDU
  const out = Buffer.alloc(6 + body.length);
  out.writeUInt16BE(transactionId, 0);
  out.writeUInt16BE(0, 2); // protocol id: Modbus
  out.writeUInt16BE(body.length, 4);
  out.set(body, 6);
  return out;
}

type Callback = (err?: Error | null) => void;

export class StreamPort extends EventEmitter {
  /** Read and written by ModbusRTU: the id of the request sent next, and of the last answer. */
  _transactionIdWrite = 1;
  _transactionIdRead = 0;
  private received = Buffer.alloc(0);
  private open_ = true;
  /** Requests put on the stream, for at-most-once accounting (a write counts once sent). */
  sent = 0;

  constructor(private readonly stream: Duplex) {
    super();
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('error', (err: Error) => this.fail(err));
    stream.on('end', () => this.closed());
    stream.on('close', () => this.closed());
  }

  get isOpen(): boolean {
    return this.open_;
  }

  /** The stream is already connected; there is nothing to open and nothing to reopen. */
  open(callback?: Callback): void {
    callback?.(this.open_ ? null : new Error('the connection to the device is closed'));
  }

  close(callback?: Callback): void {
    this.stream.end();
    this.closed();
    callback?.(null);
  }

  destroy(callback?: Callback): void {
    this.stream.destroy();
    this.closed();
    callback?.(null);
  }

  write(rtu: Buffer): void {
    if (!this.open_ || rtu.length < 4) return;
    this.stream.write(mbapFrame(this._transactionIdWrite, rtu));
    this.sent += 1;
    const next = this._transactionIdWrite + 1;
    this._transactionIdWrite = next > 0xffff ? 1 : next;
  }

  private receive(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    while (this.received.length >= MBAP_BYTES) {
      const protocol = this.received.readUInt16BE(2);
      const length = this.received.readUInt16BE(4);
      if (protocol !== 0 || length < 2 || length > MAX_LENGTH) {
        this.fail(new Error('the device sent a malformed Modbus TCP header ' +
          `(protocol ${protocol}, length ${length})`));
        return;
      }
      if (this.received.length < 6 + length) return;
      const body = this.received.subarray(6, 6 + length);
      const rtu = Buffer.alloc(length + 2);
      body.copy(rtu);
      rtu.writeUInt16LE(crc16Modbus(body), length);
      this._transactionIdRead = this.received.readUInt16BE(0);
      this.received = this.received.subarray(6 + length);
      this.emit('data', rtu);
    }
  }

  private fail(err: Error): void {
    this.emit('error', err);
    this.stream.destroy();
    this.closed();
  }

  private closed(): void {
    if (!this.open_) return;
    this.open_ = false;
    this.emit('close');
  }
}
