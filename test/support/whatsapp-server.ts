/**
 * A local stand-in for the WhatsApp Cloud API's "send message" endpoint, for tests. It
 * checks each request as the API documents it (method, path with version and phone number
 * id, bearer token, content type, JSON shape, E.164 recipient), answers the way the API
 * does (200 with messages[0].id, or a Graph error object), and records every request.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The body exactly as received (UTF-8). */
  readonly raw: string;
  readonly json: unknown;
  /** What did not match the documented request; empty for a well-formed one. */
  readonly problems: readonly string[];
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface WhatsAppServerOptions {
  readonly token: string;
  readonly phoneNumberId: string;
  readonly version?: string;
}

const E164 = /^\+?[1-9]\d{6,14}$/;

/** The documented shape of a text message; strict, so any stray field is a problem. */
const textRequest = z.strictObject({
  messaging_product: z.literal('whatsapp'),
  recipient_type: z.literal('individual').optional(),
  to: z.string().regex(E164, 'to must be a phone number in E.164 form'),
  type: z.literal('text').optional(),
  text: z.strictObject({
    preview_url: z.boolean().optional(),
    body: z.string().min(1).max(4096),
  }),
});

/** A Graph API error object as the Cloud API sends it. */
export function graphError(code: number, message: string, type = 'OAuthException'): unknown {
  return {
    error: {
      message, type, code,
      error_data: { messaging_product: 'whatsapp', details: message },
      fbtrace_id: `A${randomBytes(9).toString('base64url')}`,
    },
  };
}

export class WhatsAppServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queued: Answer[] = [];
  private holdNext = false;
  private readonly held: http.ServerResponse[] = [];
  private readonly server: http.Server;
  private readonly waiters: Array<() => void> = [];

  private constructor(private readonly opts: WhatsAppServerOptions) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(opts: WhatsAppServerOptions): Promise<WhatsAppServer> {
    const s = new WhatsAppServer(opts);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The base URL to configure (`connectors.messaging.base_url`). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next well-formed request gets this answer instead of a success. */
  answerNext(answer: Answer): void {
    this.queued.push(answer);
  }

  /** The next request is recorded and never answered (to test cancellation). */
  holdNextRequest(): void {
    this.holdNext = true;
  }

  /** Resolves once `count` requests have been recorded. */
  async received(count: number): Promise<void> {
    while (this.requests.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const recorded = this.check(req, raw);
      this.requests.push(recorded);
      for (const wake of this.waiters.splice(0)) wake();
      if (this.holdNext) {
        this.holdNext = false;
        this.held.push(res);
        return;
      }
      const answer = this.answerFor(req, recorded);
      const body = JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        'Content-Type': 'application/json; charset=UTF-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  }

  private check(req: http.IncomingMessage, raw: string): RecordedRequest {
    const problems: string[] = [];
    const version = this.opts.version ?? 'v21.0';
    const path = req.url ?? '';
    if (req.method !== 'POST') problems.push(`method ${req.method ?? ''} is not POST`);
    if (path !== `/${version}/${this.opts.phoneNumberId}/messages`) {
      problems.push(`path ${path} is not /${version}/${this.opts.phoneNumberId}/messages`);
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json(;\s*charset=utf-8)?$/i.test(type)) {
      problems.push(`content-type ${type} is not application/json`);
    }
    const length = Number(req.headers['content-length']);
    if (length !== Buffer.byteLength(raw)) problems.push('content-length does not match the body');
    let json: unknown = null;
    try {
      json = JSON.parse(raw);
      const shape = textRequest.safeParse(json);
      if (!shape.success) problems.push(...shape.error.issues.map((i) => i.message));
    } catch {
      problems.push('the body is not JSON');
    }
    return { method: req.method ?? '', path, headers: req.headers, raw, json, problems };
  }

  private answerFor(req: http.IncomingMessage, recorded: RecordedRequest): Answer {
    // Authentication comes first at Graph: a bad token never reaches validation.
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return { status: 401, body: graphError(190, 'Invalid OAuth access token.') };
    }
    if (recorded.problems.length > 0) {
      return {
        status: 400,
        body: graphError(100, `(#100) Invalid parameter: ${recorded.problems.join('; ')}`),
      };
    }
    const forced = this.queued.shift();
    if (forced) return forced;
    const to = (recorded.json as { to: string }).to;
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: to.replace(/^\+/, '') }],
        messages: [{ id: `wamid.${randomBytes(24).toString('base64')}` }],
      },
    };
  }
}
