/**
 * The egress broker: the only way out of the sandbox. One per call, listening on a Unix
 * socket in a private host directory that is bound into the sandbox. The worker writes one
 * line, `CONNECT host:port`; the broker answers `OK` and splices raw TCP to that endpoint
 * when it is exactly one of the call's endpoints, and `DENIED` otherwise. TLS, if any, runs
 * end to end from the worker: the broker never sees plaintext, and never holds a secret.
 */
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Endpoint } from '../../connectors/types.js';
import type { Logger } from '../../log.js';

/** Longest request line accepted (host names are at most 253 characters). */
const MAX_LINE_BYTES = 300;
/** Connections one call may ask for, allowed or not; further attempts are refused. */
export const DEFAULT_MAX_CONNECTIONS = 8;

export interface BrokerOptions {
  readonly connector: string;
  readonly endpoints: readonly Endpoint[];
  readonly log: Logger;
  readonly maxConnections?: number;
  /** Host user that must reach the socket (the sandbox's), when the gateway runs as root. */
  readonly owner?: { uid: number; gid: number };
}

export interface BrokerStats {
  attempts: number;
  allowed: number;
  denied: number;
  /** Allowed attempts whose connection opened: bytes may have reached the far side. */
  connected: number;
}

/** Parses `host:port`, `[v6]:port`; null when malformed. */
export function parseTarget(text: string): Endpoint | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return null;
  return { host: (m[1] ?? m[2] ?? '').toLowerCase(), port };
}

function allowedBy(endpoints: readonly Endpoint[], target: Endpoint): boolean {
  return endpoints.some((e) => e.host.toLowerCase() === target.host && e.port === target.port);
}

export class EgressBroker {
  readonly socketPath: string;
  readonly stats: BrokerStats = { attempts: 0, allowed: 0, denied: 0, connected: 0 };
  private readonly dir: string;
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  /** Every line names the connector once, whether or not the caller's logger already does. */
  private readonly log: BrokerOptions['log'];

  private constructor(private readonly opts: BrokerOptions) {
    this.log = 'connector' in opts.log.bindings() ? opts.log
      : opts.log.child({ connector: opts.connector });
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'gw-broker-'));
    this.socketPath = path.join(this.dir, 'broker.sock');
    // Half-open both ways, so that a worker's end() still lets the reply come back.
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
  }

  static async start(opts: BrokerOptions): Promise<EgressBroker> {
    const broker = new EgressBroker(opts);
    try {
      await new Promise<void>((resolve, reject) => {
        broker.server.once('error', reject);
        broker.server.listen(broker.socketPath, () => resolve());
      });
      // Private to the sandbox's user: other local users cannot borrow this call's egress.
      chmodSync(broker.socketPath, 0o600);
      if (opts.owner) {
        chownSync(broker.dir, opts.owner.uid, opts.owner.gid);
        chownSync(broker.socketPath, opts.owner.uid, opts.owner.gid);
      }
    } catch (err) {
      await broker.close();
      throw err;
    }
    return broker;
  }

  private accept(client: net.Socket): void {
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    client.on('error', () => client.destroy());
    let line: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      line = Buffer.concat([line, chunk]);
      const nl = line.indexOf(0x0a);
      if (nl < 0) {
        if (line.length > MAX_LINE_BYTES) this.deny(client, 'request line too long', null);
        return;
      }
      client.off('data', onData);
      client.pause();
      const rest = line.subarray(nl + 1);
      this.request(client, line.subarray(0, nl).toString('latin1').trim(), rest);
    };
    client.on('data', onData);
  }

  private request(client: net.Socket, text: string, rest: Buffer): void {
    this.stats.attempts++;
    const max = this.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const m = /^CONNECT (\S+)$/.exec(text);
    const target = m ? parseTarget(m[1] ?? '') : null;
    if (!target) return this.deny(client, 'malformed request', null);
    if (this.stats.attempts > max) return this.deny(client, 'too many connections', target);
    if (!allowedBy(this.opts.endpoints, target)) {
      return this.deny(client, 'endpoint not in the manifest', target);
    }
    this.stats.allowed++;
    this.log.info({ host: target.host, port: target.port,
      allowed: true }, 'egress attempt');
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.open.add(upstream);
    upstream.once('close', () => this.open.delete(upstream));
    upstream.once('connect', () => {
      this.stats.connected++;
      client.write('OK\n');
      if (rest.length) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      this.log.warn({ host: target.host, port: target.port,
        code: err.code }, 'egress connection failed');
      if (client.writable) client.end('FAILED\n');
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  private deny(client: net.Socket, reason: string, target: Endpoint | null): void {
    this.stats.denied++;
    this.log.warn({ host: target?.host ?? null,
      port: target?.port ?? null, allowed: false, reason }, 'egress attempt');
    client.end('DENIED\n');
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
