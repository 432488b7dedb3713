import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { GatewayConfig } from '../config/load.js';
import type { Tier } from '../connectors/types.js';
import { GatewayError, asGatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { decide, idempotent, orchestrate, type ApiDeps, type IdempotencyStore } from './api.js';
import { ConversationHub } from './conversations.js';
import { bearerOf, errorReply, readBody, sendJson, type JsonReply } from './http.js';
import { RateLimiter, StreamSlots } from './limits.js';
import { Metrics } from './metrics.js';
import type { Grant, PipelineFactory } from './pipelines.js';
import { AudioStream } from './stream.js';

/** Checks a bearer token (src/auth/tokens.ts's TokenVerifier fits); throws a 401 error. */
export interface Authenticator {
  verify(token: string): { readonly sub: string; readonly tiers: readonly Tier[] };
}

export interface ServerOptions {
  readonly config: GatewayConfig;
  readonly factory: PipelineFactory;
  readonly auth: Authenticator;
  readonly idempotency: IdempotencyStore | null;
  readonly log: Logger;
  /** PEM certificate and key: HTTPS and WSS when given. */
  readonly tls?: { cert: Buffer; key: Buffer };
  readonly now?: () => number;
}

/** The web page's files: a fixed list, so that no request path ever reaches the disk. */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const WEB_FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
/** Browsers offer the token as a second subprotocol next to this one (docs/stream.md). */
export const STREAM_PROTOCOL = 'gateway.v1';
const BEARER_PROTOCOL = 'bearer.';
const CONFIRM_RE = /^\/api\/v1\/confirmations\/([A-Za-z0-9-]{1,64})$/;

/** `gateway serve`: the HTTP API, the WebSocket stream, metrics and the web page. */
export class GatewayServer {
  readonly metrics = new Metrics();
  readonly hub: ConversationHub;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly limiter: RateLimiter;
  private readonly slots: StreamSlots;
  private readonly api: ApiDeps;

  constructor(private readonly o: ServerOptions) {
    const limits = o.config.server.limits;
    this.hub = new ConversationHub(o.factory);
    this.limiter = new RateLimiter(limits.requests_per_minute, o.now);
    this.slots = new StreamSlots(limits.concurrent_streams);
    this.api = {
      config: o.config, hub: this.hub, factory: o.factory, idempotency: o.idempotency,
      metrics: this.metrics, log: o.log, now: o.now ?? (() => Date.now()),
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    this.server = o.tls
      ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, handler)
      : http.createServer(handler);
    // Slow or stuck clients must not hold sockets forever.
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 60_000;
    this.wss = new WebSocketServer({
      noServer: true, maxPayload: limits.max_frame_bytes,
      handleProtocols: (offered) => (offered.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false),
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  async listen(port = this.o.config.server.port, host = this.o.config.server.host):
  Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.wss.close();
    await this.hub.close();
  }

  private authenticate(token: string | null): Grant {
    if (!token) throw new GatewayError('GW_TOKEN_MISSING', 'send Authorization: Bearer <token>');
    const claims = this.o.auth.verify(token);
    return { principal: claims.sub, tiers: [...claims.tiers] };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const route = routeName(req.method ?? 'GET', url.pathname);
    const t0 = Date.now();
    let reply: JsonReply;
    let grant: Grant | null = null;
    try {
      if (route === 'web') return await this.sendFile(url.pathname, res);
      if (route === 'healthz') {
        reply = { status: 200, body: { status: 'ok' } };
      } else if (route === 'metrics') {
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.metrics.render());
        return;
      } else if (route === 'not_found') {
        throw new GatewayError('GW_HTTP_NOT_FOUND', `no route for ${req.method} ${url.pathname}`
          .slice(0, 200));
      } else {
        grant = this.authenticate(bearerOf(req.headers.authorization));
        reply = await this.apiCall(route, grant, req, url.pathname);
      }
    } catch (err) {
      reply = errorReply(err);
      const retryS = (err as { retryS?: number }).retryS;
      if (retryS !== undefined) reply = { ...reply, headers: { 'Retry-After': String(retryS) } };
      if (asGatewayError(err).code === 'GW_HTTP_BODY_TOO_LARGE') {
        // The rest of the body is not read: the connection cannot be reused.
        reply = { ...reply, headers: { ...reply.headers, Connection: 'close' } };
      }
    }
    if (!res.headersSent) sendJson(res, reply);
    this.metrics.countRequest(route, reply.status);
    const code = (reply.body as { error?: { code?: string } }).error?.code ?? null;
    this.o.log.info({ route, status: reply.status, code, principal: grant?.principal ?? null,
      ms: Date.now() - t0 }, 'request');
  }

  private async apiCall(
    route: string, grant: Grant, req: IncomingMessage, pathname: string,
  ): Promise<JsonReply> {
    if (route === 'actions') {
      return { status: 200, body: { actions: this.hub.recentOf(grant.principal) } };
    }
    this.limiter.take(grant.principal);
    const body = await readBody(req, this.o.config.server.limits.max_body_bytes);
    const key = headerOf(req, 'idempotency-key');
    if (route === 'orchestrate') {
      return idempotent(this.api, grant, key, { route, body: body.toString('base64') },
        () => orchestrate(this.api, grant, body));
    }
    const id = CONFIRM_RE.exec(pathname)?.[1] ?? '';
    return idempotent(this.api, grant, key, { route, id, body: body.toString('base64') },
      () => decide(this.api, grant, id, body));
  }

  private async sendFile(pathname: string, res: ServerResponse): Promise<void> {
    const entry = WEB_FILES[pathname];
    if (!entry) throw new GatewayError('GW_HTTP_NOT_FOUND', 'no such file');
    const data = await readFile(WEB_DIR + entry[0]);
    res.writeHead(200, {
      'Content-Type': entry[1], 'Content-Length': data.length, 'Cache-Control': 'no-cache',
      // The page loads nothing from elsewhere and talks only to this gateway.
      'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; " +
        "media-src 'self' blob:; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(data);
  }

  /** Authenticates at upgrade: a bad token never gets a WebSocket, only an HTTP 401. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    let grant: Grant;
    let release: () => void;
    try {
      if (url.pathname !== '/api/v1/stream') {
        throw new GatewayError('GW_HTTP_NOT_FOUND', 'no WebSocket endpoint here');
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',').map((s) => s.trim());
      const fromProtocol = offered.find((p) => p.startsWith(BEARER_PROTOCOL))
        ?.slice(BEARER_PROTOCOL.length) ?? null;
      grant = this.authenticate(bearerOf(req.headers.authorization) ?? fromProtocol);
      release = this.slots.acquire(grant.principal);
    } catch (err) {
      const e = asGatewayError(err);
      const text = JSON.stringify({ error: { code: e.code, message: e.message } });
      socket.end(`HTTP/1.1 ${e.http} ${http.STATUS_CODES[e.http] ?? 'Error'}\r\n` +
        'Content-Type: application/json\r\nConnection: close\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
      this.metrics.countRequest('stream', e.http);
      this.o.log.info({ route: 'stream', status: e.http, code: e.code }, 'request');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.metrics.countRequest('stream', 101);
      new AudioStream(ws, grant, {
        config: this.o.config, factory: this.o.factory, hub: this.hub, metrics: this.metrics,
        log: this.o.log,
      }, release);
    });
  }
}

function routeName(method: string, pathname: string): string {
  if (method === 'GET' && pathname in WEB_FILES) return 'web';
  if (method === 'GET' && pathname === '/healthz') return 'healthz';
  if (method === 'GET' && pathname === '/metrics') return 'metrics';
  if (method === 'GET' && pathname === '/api/v1/actions') return 'actions';
  if (method === 'POST' && pathname === '/api/v1/orchestrate') return 'orchestrate';
  if (method === 'POST' && CONFIRM_RE.test(pathname)) return 'confirm';
  return 'not_found';
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
