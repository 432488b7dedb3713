/**
 * The host end of the agent stream. The VMM connects to a Unix socket that only the gateway's
 * user can reach; the first connection is the guest, any further one is closed. Messages
 * are parsed with a size cap; egress requests are allowed only for the call's endpoints and
 * spliced to real TCP connections here, so the guest never holds a socket of its own.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Endpoint } from '../../connectors/types.js';
import type { Logger } from '../../log.js';
import { FrameReader, encodeFrame } from '../sandbox/frame.js';
import type { BrokerStats } from '../sandbox/broker.js';
import {
  MAX_DATA_CHUNK, MAX_VM_CONNECTIONS, MAX_VM_FRAME_BYTES, type GuestMessage, type HostMessage,
} from './protocol.js';

export interface ReadyInfo {
  readonly uptimeMs: number;
  /** Present after a resume: whether the guest reseeded its RNG and set its clock. */
  readonly fresh?: boolean;
  /** Guest time the reseed took (diagnostics). */
  readonly reseedMs?: number;
  readonly error?: string;
}

export interface ChannelEvents {
  /** Every "ready" frame: the first after boot, one more after each resume. */
  ready: [info: ReadyInfo];
  /** The VMM connected its end of the agent stream (a restored guest says nothing first). */
  connected: [];
  result: [response: unknown];
  broken: [why: string];
}

export class AgentChannel extends EventEmitter<ChannelEvents> {
  readonly stats: BrokerStats = { attempts: 0, allowed: 0, denied: 0, connected: 0 };
  private readonly server: net.Server;
  private guest: net.Socket | null = null;
  private readonly upstreams = new Map<number, net.Socket>();
  private readonly reader = new FrameReader(MAX_VM_FRAME_BYTES);

  /**
   * A VM may be started before its action is known (while the confirmation is spoken, or
   * in the warm pool): its endpoints are then empty until authorize() names them.
   */
  constructor(
    readonly socketPath: string,
    private endpoints: readonly Endpoint[],
    private connector: string,
    private readonly log: Logger,
  ) {
    super();
    this.server = net.createServer((s) => this.accept(s));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => resolve());
    });
  }

  /** The call's connector and the only endpoints its egress may reach. */
  authorize(endpoints: readonly Endpoint[], connector: string): void {
    this.endpoints = endpoints;
    this.connector = connector;
  }

  private accept(socket: net.Socket): void {
    if (this.guest) {
      socket.destroy();
      return;
    }
    this.guest = socket;
    socket.on('error', () => {});
    socket.on('close', () => this.emit('broken', 'the agent stream closed'));
    socket.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        this.emit('broken', `agent protocol: ${String(err)}`);
        socket.destroy();
        return;
      }
      for (const f of frames) this.handle(f as GuestMessage);
    });
    this.emit('connected');
  }

  send(message: HostMessage): void {
    this.guest?.write(encodeFrame(message));
  }

  private handle(m: GuestMessage): void {
    switch (m?.t) {
      case 'ready':
        this.emit('ready', { uptimeMs: Number(m.uptimeMs),
          ...(typeof m.fresh === 'boolean' ? { fresh: m.fresh } : {}),
          ...(typeof m.reseedMs === 'number' ? { reseedMs: m.reseedMs } : {}),
          ...(typeof m.error === 'string' ? { error: m.error.slice(0, 300) } : {}) });
        return;
      case 'result':
        this.emit('result', m.response);
        return;
      case 'open':
        this.open(m.id, String(m.host), Number(m.port));
        return;
      case 'data':
        this.upstreams.get(m.id)?.write(Buffer.from(String(m.b64), 'base64'));
        return;
      case 'end':
        this.upstreams.get(m.id)?.end();
        return;
      default:
        this.emit('broken', 'agent protocol: unknown message');
        this.guest?.destroy();
    }
  }

  private open(id: number, host: string, port: number): void {
    this.stats.attempts++;
    const allowed = this.endpoints.some((e) => e.host.toLowerCase() === host.toLowerCase() &&
      e.port === port);
    if (!allowed || this.stats.attempts > MAX_VM_CONNECTIONS || this.upstreams.has(id)) {
      this.stats.denied++;
      this.log.warn({ connector: this.connector, host, port, allowed: false }, 'egress attempt');
      this.send({ t: 'refused', id, reason: 'denied' });
      return;
    }
    this.stats.allowed++;
    this.log.info({ connector: this.connector, host, port, allowed: true }, 'egress attempt');
    const up = net.connect({ host, port, allowHalfOpen: true });
    this.upstreams.set(id, up);
    let opened = false;
    up.once('connect', () => {
      opened = true;
      this.stats.connected++;
      this.send({ t: 'opened', id });
    });
    up.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i += MAX_DATA_CHUNK) {
        this.send({ t: 'data', id, b64: chunk.subarray(i, i + MAX_DATA_CHUNK).toString('base64') });
      }
    });
    up.once('end', () => this.send({ t: 'end', id }));
    up.once('error', (err: NodeJS.ErrnoException) => {
      this.log.warn({ connector: this.connector, host, port, code: err.code },
        'egress connection failed');
      if (!opened) this.send({ t: 'refused', id, reason: 'unreachable' });
      else this.send({ t: 'end', id });
    });
  }

  async close(): Promise<void> {
    for (const up of this.upstreams.values()) up.destroy();
    this.guest?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
