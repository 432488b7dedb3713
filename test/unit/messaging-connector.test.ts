import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { messagingManifest } from '../../src/connectors/manifests.js';
import { messagingPlan } from '../../src/connectors/messaging/plan.js';
import { connector, messagesUrl } from '../../src/connectors/messaging/worker.js';
import type { SandboxContext, SandboxPlan } from '../../src/connectors/types.js';
import { GatewayError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { graphError, WhatsAppServer } from '../support/whatsapp-server.js';

const TOKEN = 'EAAGtest-token-Zq81xK';
const PHONE_ID = '106540352242922';
const NIGHT_SHIFT = '+447700900123';

let server: WhatsAppServer;
beforeAll(async () => {
  server = await WhatsAppServer.start({ token: TOKEN, phoneNumberId: PHONE_ID });
});
afterAll(async () => server.close());
afterEach(() => {
  server.requests.length = 0;
});

interface Harness {
  readonly ctx: SandboxContext;
  readonly connects: Array<{ host: string; port: number }>;
}

/** A loopback connect() standing in for the broker; optionally as a plain Duplex. */
function harness(over: {
  secrets?: Record<string, string>; settings?: Record<string, unknown>; signal?: AbortSignal;
  plainDuplex?: boolean;
} = {}): Harness {
  const connects: Array<{ host: string; port: number }> = [];
  const ctx: SandboxContext = {
    now: new Date('2026-12-07T08:00:00Z'), timeZone: 'Europe/London', principal: 'local',
    signal: over.signal ?? new AbortController().signal, idempotencyKey: null,
    secrets: over.secrets ?? { whatsapp_token: TOKEN },
    settings: over.settings ?? {
      base_url: server.baseUrl, api_version: 'v21.0', phone_number_id: PHONE_ID,
      contacts: { night_shift: NIGHT_SHIFT, mum: '+15551234567' },
    },
    async connect(host, port) {
      connects.push({ host, port });
      const socket = net.connect({ host, port });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve).once('error', reject);
      });
      return over.plainDuplex ? asPlainDuplex(socket) : socket;
    },
  };
  return { ctx, connects };
}

/** Wraps a socket in a Duplex that is not a net.Socket, as a broker's stream may be. */
function asPlainDuplex(socket: net.Socket): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end(done);
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('error', (e) => d.destroy(e));
  return d;
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

const send = (h: Harness, contact: string, body: string): Promise<unknown> =>
  connector.run('send', { contact, body }, h.ctx);

describe('messaging connector against a local WhatsApp Cloud API server', () => {
  it('sends exactly one documented request and returns the message id', async () => {
    const h = harness();
    const result = await connector.run('send', { contact: 'night_shift', body: 'I will be late' },
      h.ctx);
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0];
    expect(req?.problems).toEqual([]);
    expect(req?.path).toBe(`/v21.0/${PHONE_ID}/messages`);
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.json).toEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: NIGHT_SHIFT,
      type: 'text', text: { preview_url: false, body: 'I will be late' },
    });
    expect(h.connects).toEqual([{ host: '127.0.0.1', port: server.port }]);
    expect(result.speech).toBe('I sent the message to night shift.');
    const output = messagingManifest.actions.send?.output?.parse(result.data);
    expect(output).toEqual({ message_id: expect.stringMatching(/^wamid\./) });
  });

  it('carries unicode and quotes in the body byte for byte', async () => {
    const body = 'Café ☕ "late" — it\'s 5\' past \\ 😀\nback soon';
    const h = harness({ plainDuplex: true });
    await send(h, 'mum', body);
    const req = server.requests[0];
    expect(req?.problems).toEqual([]);
    expect((req?.json as { text: { body: string } }).text.body).toBe(body);
    expect(Number(req?.headers['content-length'])).toBe(Buffer.byteLength(req?.raw ?? ''));
  });

  it('keeps a path prefix of the base URL', () => {
    expect(messagesUrl('https://example.test/graph/', 'v21.0', '1').href)
      .toBe('https://example.test/graph/v21.0/1/messages');
  });

  it('maps 401 to GW_REMOTE_AUTH without repeating the token', async () => {
    const h = harness({ secrets: { whatsapp_token: 'EAAGwrong-token' } });
    const err = await failure(send(h, 'night_shift', 'hello'));
    expect(err.code).toBe('GW_REMOTE_AUTH');
    expect(err.message).toContain('HTTP 401, error 190');
    expect(err.message).not.toContain('EAAGwrong');
    expect(server.requests).toHaveLength(1);
  });

  it('maps a 400 with error.code 131030 to a spoken explanation', async () => {
    server.answerNext({ status: 400,
      body: graphError(131030, 'Recipient phone number not in allowed list') });
    const err = await failure(send(harness(), 'night_shift', 'hello'));
    expect(err.code).toBe('GW_REMOTE_REJECTED');
    expect(err.message).toMatch(/^The message was not sent: the recipient's number is not on/);
    expect(err.message).toContain('error 131030');
    expect(err.message).not.toContain(NIGHT_SHIFT);
  });

  it('maps a 400 with an unknown code to a generic refusal', async () => {
    server.answerNext({ status: 400, body: graphError(999_999, 'Something odd') });
    const err = await failure(send(harness(), 'night_shift', 'hello'));
    expect(err.code).toBe('GW_REMOTE_REJECTED');
    expect(err.message).toContain('WhatsApp refused the request (HTTP 400, error 999999');
  });

  it('maps 429 to GW_REMOTE_RATE_LIMITED, which may be retried', async () => {
    server.answerNext({ status: 429, body: graphError(130429, 'Rate limit hit') });
    const err = await failure(send(harness(), 'night_shift', 'hello'));
    expect(err.code).toBe('GW_REMOTE_RATE_LIMITED');
    expect(err.retryable).toBe(true);
  });

  it('maps 5xx, and a 5xx whose body is not JSON, to GW_REMOTE_UNAVAILABLE', async () => {
    server.answerNext({ status: 500, body: graphError(131000, 'Something went wrong') });
    expect((await failure(send(harness(), 'night_shift', 'a'))).code)
      .toBe('GW_REMOTE_UNAVAILABLE');
    server.answerNext({ status: 503, body: 'upstream down' });
    expect((await failure(send(harness(), 'night_shift', 'b'))).code)
      .toBe('GW_REMOTE_UNAVAILABLE');
  });

  it('reports a 200 without a message id as a failure it cannot vouch for', async () => {
    server.answerNext({ status: 200, body: { messaging_product: 'whatsapp', messages: [] } });
    const err = await failure(send(harness(), 'night_shift', 'hello'));
    expect(err.code).toBe('GW_CONNECTOR_FAILED');
  });

  it('refuses an unknown contact without opening any connection', async () => {
    const h = harness();
    const err = await failure(send(h, 'alice', 'hello'));
    expect(err.code).toBe('GW_CONTACT_UNKNOWN');
    expect(h.connects).toEqual([]);
    expect(server.requests).toHaveLength(0);
    // Inherited object keys are not contacts.
    expect((await failure(send(h, 'constructor', 'x'))).code).toBe('GW_CONTACT_UNKNOWN');
  });

  it('refuses when the token is missing or malformed, without opening any connection', async () => {
    const missing = harness({ secrets: {} });
    expect((await failure(send(missing, 'night_shift', 'hi'))).code).toBe('GW_CONNECTOR_CONFIG');
    const split = harness({ secrets: { whatsapp_token: 'abc\r\nX-Evil: 1' } });
    expect((await failure(send(split, 'night_shift', 'hi'))).code).toBe('GW_CONNECTOR_CONFIG');
    expect(missing.connects).toEqual([]);
    expect(split.connects).toEqual([]);
  });

  it('refuses bad input and unknown actions', async () => {
    const h = harness();
    expect((await failure(connector.run('send', { contact: 'mum' }, h.ctx))).code)
      .toBe('GW_ACTION_INPUT_INVALID');
    expect((await failure(connector.run('delete', {}, h.ctx))).code)
      .toBe('GW_CONNECTOR_UNAVAILABLE');
  });

  it('stops waiting when the call is cancelled', async () => {
    server.holdNextRequest();
    const abort = new AbortController();
    const running = send(harness({ signal: abort.signal }), 'night_shift', 'hello');
    await server.received(1);
    abort.abort();
    expect((await failure(running)).code).toBe('GW_ACTION_TIMEOUT');
  });

  it('never lets the token or the body reach the log or the console', async () => {
    const secretBody = 'meet me at the blue door 7731';
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ destination: sink, level: 'trace' });
    const std: string[] = [];
    const orig = { out: process.stdout.write, err: process.stderr.write };
    const spy = (chunk: string | Uint8Array): boolean => {
      std.push(String(chunk));
      return true;
    };
    process.stdout.write = spy as typeof process.stdout.write;
    process.stderr.write = spy as typeof process.stderr.write;
    try {
      const ok = await send(harness(), 'night_shift', secretBody);
      // What an executor logs about a call: outcome and error, as the code does today.
      log.info({ action: 'messaging.send', data: ok }, 'action finished');
      for (const answer of [
        { status: 401, body: graphError(190, `bad token ${TOKEN}`) },
        { status: 400, body: graphError(131030, `cannot send "${secretBody}" to ${NIGHT_SHIFT}`) },
        { status: 429, body: graphError(130429, secretBody) },
        { status: 500, body: graphError(131000, secretBody) },
      ]) {
        server.answerNext(answer);
        const err = await failure(send(harness(), 'night_shift', secretBody));
        log.error({ action: 'messaging.send', error: { code: err.code, message: err.message } },
          'action failed');
      }
    } finally {
      process.stdout.write = orig.out;
      process.stderr.write = orig.err;
    }
    const everything = [...lines, ...std].join('\n');
    expect(lines.length).toBe(5);
    for (const secret of [TOKEN, secretBody, NIGHT_SHIFT, '7731']) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('TLS over the broker stream', () => {
  let dir: string;
  let tlsServer: https.Server;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wa-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', path.join(dir, 'key.pem'),
      '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const { readFileSync } = await import('node:fs');
    tlsServer = https.createServer({
      key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')),
    }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    tlsServer.closeAllConnections();
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('speaks TLS over the stream and refuses an untrusted certificate', async () => {
    const port = (tlsServer.address() as net.AddressInfo).port;
    const h = harness({ settings: {
      base_url: `https://127.0.0.1:${port}`, api_version: 'v21.0', phone_number_id: PHONE_ID,
      contacts: { night_shift: NIGHT_SHIFT },
    } });
    const err = await failure(send(h, 'night_shift', 'hello'));
    expect(err.code).toBe('GW_REMOTE_UNAVAILABLE');
    expect(err.message).toMatch(/self[- ]signed|certificate/i);
    expect(h.connects).toEqual([{ host: '127.0.0.1', port }]);
  });
});

describe('messaging plan from configuration', () => {
  const config = (messaging: Record<string, unknown>) =>
    validateConfig({ connectors: { messaging } }, 'test');
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.WHATSAPP_TOKEN;
    delete process.env.WHATSAPP_TOKEN;
  });
  afterAll(() => {
    if (saved !== undefined) process.env.WHATSAPP_TOKEN = saved;
  });

  it('derives the endpoint from base_url and reads the token file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wa-plan-'));
    try {
      writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
      const plan: SandboxPlan = messagingPlan(config({
        base_url: 'http://127.0.0.1:8089', phone_number_id: PHONE_ID, token_file: 'token',
        contacts: { night_shift: NIGHT_SHIFT },
      }), dir);
      expect(plan.endpoints).toEqual([{ host: '127.0.0.1', port: 8089 }]);
      expect(plan.secrets).toEqual({ whatsapp_token: TOKEN });
      expect(plan.settings).toEqual({
        base_url: 'http://127.0.0.1:8089', api_version: 'v21.0', phone_number_id: PHONE_ID,
        contacts: { night_shift: NIGHT_SHIFT },
      });
      expect(JSON.stringify(plan.settings)).not.toContain(TOKEN);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('defaults to graph.facebook.com:443, with the environment token winning', () => {
    process.env.WHATSAPP_TOKEN = 'EAAGfromenv';
    try {
      const plan = messagingPlan(config({ phone_number_id: PHONE_ID, token_file: 'nope' }), '/');
      expect(plan.endpoints).toEqual([{ host: 'graph.facebook.com', port: 443 }]);
      expect(plan.endpoints).toEqual(messagingManifest.egress);
      expect(plan.secrets.whatsapp_token).toBe('EAAGfromenv');
      const v6 = messagingPlan(config({ phone_number_id: '1', base_url: 'http://[::1]:99' }), '/');
      expect(v6.endpoints).toEqual([{ host: '::1', port: 99 }]);
    } finally {
      delete process.env.WHATSAPP_TOKEN;
    }
  });

  it('refuses to plan a call that cannot succeed', () => {
    const noToken = () => messagingPlan(config({ phone_number_id: PHONE_ID }), '/');
    expect(noToken).toThrow(expect.objectContaining({ code: 'GW_CONNECTOR_CONFIG' }));
    const noId = () => messagingPlan(config({}), '/');
    expect(noId).toThrow(expect.objectContaining({ code: 'GW_CONNECTOR_CONFIG' }));
  });

  it('validates the configuration table', () => {
    expect(() => config({ contacts: { night_shift: '07700 900123' } })).toThrow(/E\.164/);
    expect(() => config({ base_url: 'ftp://example.test' })).toThrow();
    expect(() => config({ api_version: '21' })).toThrow();
    expect(() => config({ tokne_file: 'x' })).toThrow(/unknown key/);
  });
});

describe('the worker module inside the sandbox', () => {
  it('imports only Node.js built-ins and project files that do the same', async () => {
    const { readFileSync } = await import('node:fs');
    const seen = new Set<string>();
    const bare: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // Type-only imports vanish when compiled; every other import must resolve in dist/.
      for (const m of text.matchAll(/^import\s+(?!type\s)[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1] ?? '';
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
        else bare.push(`${path.relative('.', file)}: ${spec}`);
      }
    };
    visit(path.resolve('src/connectors/messaging/worker.ts'));
    expect(bare).toEqual([]);
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });
});
