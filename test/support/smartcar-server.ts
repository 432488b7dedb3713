/**
 * A local stand-in for the Smartcar vehicle API (v2.0), for tests: location, lock and unlock
 * (/security) and a make's cabin climate. Each request is checked as Smartcar documents it
 * (bearer token, the vehicle id in the path, JSON body with the action) and answered with
 * Smartcar's response and error shapes; every request is recorded.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmartcarRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: unknown;
}

export interface SmartcarServerOptions {
  readonly token: string;
  readonly vehicleId: string;
  readonly make: string;
  readonly position: { readonly latitude: number; readonly longitude: number };
}

export function smartcarError(status: number, type: string, code: string | null,
  description: string, suggestedUserMessage: string): unknown {
  return { type, code, description, docURL: 'https://smartcar.com/docs/errors',
    statusCode: status, resolution: { type: 'RETRY_LATER' }, suggestedUserMessage,
    requestId: randomUUID() };
}

export class SmartcarServer {
  readonly requests: SmartcarRequest[] = [];
  locked = false;
  cabinCelsius: number | null = null;
  /** The next answer, whatever is asked (to test error mapping). */
  failNext: { status: number; body: unknown } | null = null;

  private constructor(private readonly server: http.Server,
    private readonly options: SmartcarServerOptions) {}

  static async start(options: SmartcarServerOptions): Promise<SmartcarServer> {
    let self: SmartcarServer | null = null;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = self?.handle(req, Buffer.concat(chunks).toString('utf8'))
          ?? { status: 500, body: {} };
        res.writeHead(r.status, { 'content-type': 'application/json',
          'sc-request-id': randomUUID(), 'sc-data-age': new Date().toISOString() });
        res.end(JSON.stringify(r.body));
      });
    });
    self = new SmartcarServer(server, options);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, raw: string): { status: number; body: unknown } {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let json: unknown;
    try {
      json = raw ? JSON.parse(raw) : null;
    } catch {
      json = raw;
    }
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, json });
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = null;
      return f;
    }
    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      return { status: 401, body: smartcarError(401, 'AUTHENTICATION', null,
        'The request does not contain a valid access token.',
        'Please sign in to your car\'s account again.') };
    }
    const base = `/v2.0/vehicles/${this.options.vehicleId}`;
    const action = (json as { action?: unknown } | null)?.action;
    const route = `${req.method ?? ''} ${path}`;
    if (route === `GET ${base}/location`) {
      return { status: 200, body: { ...this.options.position } };
    }
    if (route === `POST ${base}/security` && (action === 'LOCK' || action === 'UNLOCK')) {
      this.locked = action === 'LOCK';
      return { status: 200, body: { status: 'success',
        message: 'Successfully sent request to vehicle' } };
    }
    const temperature = (json as { temperature?: unknown } | null)?.temperature;
    if (route === `POST ${base}/${this.options.make}/climate/cabin` && action === 'SET'
      && typeof temperature === 'number') {
      this.cabinCelsius = temperature;
      return { status: 200, body: { status: 'success', temperature } };
    }
    return { status: 404, body: smartcarError(404, 'RESOURCE_NOT_FOUND', 'PATH',
      'The requested resource does not exist.', 'This feature is not available for your car.') };
  }
}
