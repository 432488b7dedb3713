/**
 * A `fetch` for code inside the sandbox or the microVM, where nothing can dial: each request
 * goes over node:http with a BrokeredAgent, so its one connection is a stream the host's
 * broker opened. SDKs that call the global `fetch` with no transport option (smartcar) and
 * clients written on `fetch` (Binance) run unchanged inside `withBrokeredFetch`, which puts
 * it in place of the global for the span of one call: inside a microVM (one call per VM)
 * nothing else runs meanwhile.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { brokeredAgent, type Connect } from './agent.js';

/** An answer larger than this is not an API answer: stop reading rather than fill memory. */
export const MAX_FETCH_BYTES = 4 * 1024 * 1024;

async function bodyBytes(body: Request['body']): Promise<Buffer | null> {
  if (!body) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.fromWeb(body as never)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A fetch whose every connection comes from `connect` (the broker). */
export function brokeredFetch(connect: Connect): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`fetch: unsupported protocol ${url.protocol}`);
    }
    const body = await bodyBytes(request.body);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body) headers['content-length'] = String(body.length);
    headers.connection = 'close';
    const signal = init?.signal ?? request.signal;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const req = mod.request(url, { method: request.method, headers,
        agent: brokeredAgent(connect, url), signal: signal ?? undefined });
      req.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_FETCH_BYTES) {
            res.destroy();
            reject(new TypeError(`fetch: answer larger than ${MAX_FETCH_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
        res.on('end', () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
          }
          const status = res.statusCode ?? 502;
          const nullBody = status === 204 || status === 304 || request.method === 'HEAD';
          resolve(new Response(nullBody ? null : Buffer.concat(chunks),
            { status, statusText: res.statusMessage ?? '', headers: out }));
        });
      });
      req.end(body ?? undefined);
    });
  };
}

/**
 * Runs `fn` with the global fetch replaced by the brokered one, and puts the original back
 * afterwards, whatever happens.
 */
export async function withBrokeredFetch<T>(connect: Connect, fn: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  globalThis.fetch = brokeredFetch(connect);
  try {
    return await fn();
  } finally {
    globalThis.fetch = original;
  }
}
