/**
 * An http.Agent for code inside the sandbox or the microVM, where nothing can dial: every
 * connection it makes is a stream the host's broker opened (SandboxContext.connect), wrapped
 * in TLS for https with the certificate checked against the host name. Hand it to an SDK
 * (axios's httpAgent/httpsAgent, node:http's `agent`) so the SDK's requests go through the
 * broker without the SDK knowing. One connection per request (keep-alive off): each one is
 * a brokered connection, and the broker counts them.
 */
import http from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export type Connect = (host: string, port: number) => Promise<Duplex>;

interface ConnectionOptions {
  readonly host?: string | null;
  readonly hostname?: string | null;
  readonly port?: number | string | null;
  readonly servername?: string;
}

type Created = (err: Error | null, socket?: Duplex) => void;

const SOCKET_METHODS = ['setTimeout', 'setNoDelay', 'setKeepAlive', 'ref', 'unref'] as const;

/**
 * A brokered stream is a plain Duplex; node:http calls socket methods on what it is given
 * (`ClientRequest#setTimeout` calls `socket.setTimeout`, which axios always does). Those that
 * are missing become no-ops: the call's deadline is the executor's, not the socket's.
 */
export function socketLike(stream: Duplex): Duplex {
  const s = stream as unknown as Record<string, unknown>;
  for (const m of SOCKET_METHODS) {
    if (typeof s[m] !== 'function') s[m] = () => stream;
  }
  return stream;
}

export class BrokeredAgent extends http.Agent {
  constructor(private readonly connectVia: Connect, private readonly secure: boolean) {
    super({ keepAlive: false, maxSockets: 4 });
  }

  /** Node's Agent accepts a connection handed over asynchronously through `created`. */
  override createConnection(options: ConnectionOptions, created: Created): undefined {
    const host = String(options.hostname ?? options.host ?? '').replace(/^\[(.*)\]$/, '$1');
    const port = Number(options.port ?? (this.secure ? 443 : 80));
    this.connectVia(host, port).then((stream) => {
      const raw = socketLike(stream);
      if (!this.secure) {
        created(null, raw);
        return;
      }
      const servername = options.servername ?? (isIP(host) ? undefined : host);
      const socket = tls.connect({ socket: raw, servername, host, ALPNProtocols: ['http/1.1'] });
      socket.once('error', () => raw.destroy());
      created(null, socket);
    }, (err: unknown) => created(err instanceof Error ? err : new Error(String(err))));
    return undefined;
  }
}

/** The agent for a URL's scheme. */
export function brokeredAgent(connect: Connect, url: URL | string): BrokeredAgent {
  const u = typeof url === 'string' ? new URL(url) : url;
  return new BrokeredAgent(connect, u.protocol === 'https:');
}
