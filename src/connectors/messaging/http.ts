/**
 * One HTTP(S) POST over a stream the host's broker opened. The sandboxed worker has no
 * network of its own, so node:http never dials: `createConnection` hands it the broker's
 * Duplex (wrapped in TLS for https, with the certificate checked against the URL's host).
 */
import http from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { GatewayError } from '../../errors.js';

export type Connect = (host: string, port: number) => Promise<Duplex>;

export interface HttpReply {
  readonly status: number;
  /** The parsed JSON body, or null when the body was not JSON. */
  readonly json: unknown;
}

/** A reply larger than this is not an API answer: stop reading rather than fill memory. */
export const MAX_REPLY_BYTES = 64 * 1024;

/** The port a URL means, defaults included: `new URL().port` is empty for defaults. */
export function urlPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** The host a URL names, IPv6 literals without the brackets URL keeps around them. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Posts `payload` as JSON. Rejects with GW_REMOTE_UNAVAILABLE when no answer arrives (the
 * error message names the host, never headers or body), and with GW_ACTION_TIMEOUT when the
 * call is cancelled.
 */
export async function postJson(
  connect: Connect, url: URL, headers: Record<string, string>, payload: unknown,
  signal: AbortSignal,
): Promise<HttpReply> {
  const host = urlHost(url);
  const port = urlPort(url);
  const raw = await connect(host, port);
  // SNI takes names only; the certificate is still checked against `host` either way.
  const servername = isIP(host) ? undefined : host;
  const socket: Duplex = url.protocol === 'https:'
    ? tls.connect({ socket: raw, servername, host, ALPNProtocols: ['http/1.1'] })
    : raw;
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  return new Promise<HttpReply>((resolve, reject) => {
    const fail = (code: 'GW_REMOTE_UNAVAILABLE' | 'GW_ACTION_TIMEOUT', why: string): void => {
      socket.destroy();
      raw.destroy();
      reject(new GatewayError(code, `${why} (${host}:${port})`));
    };
    const req = http.request({
      method: 'POST',
      host,
      port,
      path: `${url.pathname}${url.search}`,
      headers: {
        ...headers,
        'Content-Type': 'application/json',
        'Content-Length': String(body.length),
        Accept: 'application/json',
        Connection: 'close',
      },
      createConnection: () => socket as never,
    });
    const onAbort = (): void => fail('GW_ACTION_TIMEOUT', 'the call was cancelled');
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      if (!signal.aborted) fail('GW_REMOTE_UNAVAILABLE', `no answer: ${err.message}`);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) {
          res.destroy();
          fail('GW_REMOTE_UNAVAILABLE', `the answer was larger than ${MAX_REPLY_BYTES} bytes`);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, json: parseJson(Buffer.concat(chunks)) });
      });
      res.on('error', () => fail('GW_REMOTE_UNAVAILABLE', 'the answer broke off'));
    });
    req.end(body);
  });
}

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
