/**
 * A minimal QMP (QEMU Machine Protocol) client over the VM's private Unix socket: enough to
 * pause a booted VM, migrate its state out for a snapshot and let it continue. One command
 * at a time; asynchronous events are ignored. Lines are capped so a misbehaving VMM cannot
 * grow the host's memory.
 */
import net from 'node:net';
import { GatewayError } from '../../errors.js';

const MAX_LINE = 256 * 1024;

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpClient {
  private buffer = '';
  private waiter: Waiter | null = null;
  private closed: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.fail(new Error('the QMP socket closed')));
  }

  /** Connects (retrying while QEMU creates the socket), reads the greeting, enables commands. */
  static async connect(socketPath: string, attempts = 400): Promise<QmpClient> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(socketPath, () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.next(); // greeting
        await client.execute('qmp_capabilities');
        return client;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    throw new GatewayError('GW_VM_FAILED', `cannot reach QEMU's QMP socket: ${String(last)}`);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE) {
      this.fail(new Error('QMP line too long'));
      this.socket.destroy();
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('event' in msg) continue;
      const w = this.waiter;
      this.waiter = null;
      if (!w) continue;
      if ('error' in msg) {
        const e = msg.error as { desc?: string } | undefined;
        w.reject(new Error(`QMP: ${e?.desc ?? 'error'}`));
      } else {
        w.resolve(msg.return ?? msg.QMP ?? null);
      }
    }
  }

  private fail(err: Error): void {
    this.closed ??= err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }

  private next(): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.waiter) return Promise.reject(new Error('QMP: one command at a time'));
    const reply = this.next();
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args }
      : { execute: command })}\n`);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}
