/**
 * A local stand-in for the Plaid API, for tests: /accounts/balance/get, Plaid Transfer
 * (/transfer/authorization/create, /transfer/create) and Payment Initiation
 * (/payment_initiation/consent/payment/execute). Each request is checked against the
 * documented shape (JSON body with client_id, secret and, where needed, access_token; the
 * fields each endpoint takes) and answered as Plaid does, errors included. Idempotency
 * keys behave as Plaid documents: the same key returns the first result, not a second one.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export interface PlaidRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: unknown;
  /** What did not match the documented request; empty for a well-formed one. */
  readonly problems: readonly string[];
}

export interface PlaidServerOptions {
  readonly clientId: string;
  readonly secret: string;
  readonly accessToken: string;
  readonly accounts: readonly unknown[];
  readonly consents?: readonly string[];
}

const creds = { client_id: z.string(), secret: z.string() };
const amount = z.string().regex(/^\d+\.\d{2}$/);
const idem = z.string().min(1).max(50);
const SHAPES: Readonly<Record<string, z.ZodType>> = {
  '/accounts/balance/get': z.strictObject({ ...creds, access_token: z.string(),
    options: z.strictObject({ account_ids: z.array(z.string()).optional(),
      min_last_updated_datetime: z.string().optional() }).optional() }),
  '/transfer/authorization/create': z.strictObject({ ...creds, access_token: z.string(),
    account_id: z.string(), type: z.enum(['debit', 'credit']), network: z.enum(['ach',
      'same-day-ach', 'rtp', 'wire']), amount, ach_class: z.string().optional(),
    user: z.strictObject({ legal_name: z.string().min(1) }), idempotency_key: idem }),
  '/transfer/create': z.strictObject({ ...creds, access_token: z.string(),
    account_id: z.string(), authorization_id: z.string(),
    description: z.string().min(1).max(15), idempotency_key: idem.optional() }),
  '/payment_initiation/consent/payment/execute': z.strictObject({ ...creds,
    consent_id: z.string(), amount: z.strictObject({ currency: z.enum(['GBP', 'EUR']),
      value: z.number().positive() }), idempotency_key: idem }),
};

function plaidError(status: number, type: string, code: string, message: string): {
  status: number; body: unknown; } {
  return { status, body: { error_type: type, error_code: code, error_message: message,
    display_message: null, request_id: randomUUID() } };
}

export class PlaidServer {
  readonly requests: PlaidRequest[] = [];
  /** Created transfers and payments, in order: at most one per idempotency key. */
  readonly created: Array<{ kind: 'transfer' | 'payment'; id: string; amount: string }> = [];
  /** The next answer to give whatever is asked (to test error mapping). */
  failNext: { status: number; body: unknown } | null = null;
  private readonly seen = new Map<string, unknown>();

  private constructor(private readonly server: http.Server,
    private readonly options: PlaidServerOptions) {}

  static async start(options: PlaidServerOptions): Promise<PlaidServer> {
    let self: PlaidServer | null = null;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = self?.handle(req, Buffer.concat(chunks).toString('utf8'))
          ?? { status: 500, body: {} };
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(r.body));
      });
    });
    self = new PlaidServer(server, options);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, raw: string): { status: number; body: unknown } {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let json: unknown = null;
    const problems: string[] = [];
    if (req.method !== 'POST') problems.push(`method ${req.method ?? ''} is not POST`);
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      problems.push('content-type is not application/json');
    }
    try {
      json = JSON.parse(raw);
    } catch {
      problems.push('body is not JSON');
    }
    const shape = SHAPES[path];
    if (!shape) return plaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'unknown path');
    const parsed = shape.safeParse(json);
    if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    this.requests.push({ path, headers: req.headers, json, problems });
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = null;
      return f;
    }
    if (problems.length > 0) {
      return plaidError(400, 'INVALID_REQUEST', 'INVALID_FIELD', problems.join('; '));
    }
    const body = json as Record<string, unknown>;
    if (body.client_id !== this.options.clientId || body.secret !== this.options.secret) {
      return plaidError(400, 'INVALID_INPUT', 'INVALID_API_KEYS',
        'invalid client_id or secret provided');
    }
    if ('access_token' in body && body.access_token !== this.options.accessToken) {
      return plaidError(400, 'INVALID_INPUT', 'INVALID_ACCESS_TOKEN',
        'provided access token is in an invalid format. expected format: '
        + 'access-<environment>-<identifier>');
    }
    return this.answer(path, body);
  }

  /** The same idempotency key on the same endpoint gives back the first answer. */
  private once(path: string, key: unknown, make: () => unknown): { status: number; body: unknown } {
    const k = `${path} ${String(key)}`;
    if (key !== undefined && this.seen.has(k)) return { status: 200, body: this.seen.get(k) };
    const body = make();
    if (key !== undefined) this.seen.set(k, body);
    return { status: 200, body };
  }

  private answer(path: string, b: Record<string, unknown>): { status: number; body: unknown } {
    const request_id = randomUUID();
    switch (path) {
      case '/accounts/balance/get': {
        const ids = (b.options as { account_ids?: string[] } | undefined)?.account_ids;
        const accounts = this.options.accounts.filter((a) => !ids
          || ids.includes((a as { account_id: string }).account_id));
        return { status: 200, body: { accounts, item: { item_id: 'item-1' }, request_id } };
      }
      case '/transfer/authorization/create':
        return this.once(path, b.idempotency_key, () => ({ request_id, authorization: {
          id: randomUUID(), created: new Date().toISOString(), decision: 'approved',
          decision_rationale: null, guarantee_decision: null, guarantee_decision_rationale: null,
          payment_risk: null, rationale_code_override: null, proposed_transfer: {} } }));
      case '/transfer/create':
        return this.once(path, b.idempotency_key, () => {
          const id = randomUUID();
          this.created.push({ kind: 'transfer', id, amount: 'authorized' });
          return { request_id, transfer: { id, authorization_id: b.authorization_id,
            status: 'pending', account_id: b.account_id } };
        });
      default:
        if (!(this.options.consents ?? []).includes(String(b.consent_id))) {
          return plaidError(400, 'PAYMENT_ERROR', 'PAYMENT_CONSENT_INVALID_CONSTRAINTS',
            'the consent does not allow this payment');
        }
        return this.once(path, b.idempotency_key, () => {
          const id = `payment-id-${randomUUID()}`;
          this.created.push({ kind: 'payment', id,
            amount: String((b.amount as { value: number }).value) });
          return { request_id, payment_id: id, status: 'PAYMENT_STATUS_INITIATED', error: null };
        });
    }
  }
}
