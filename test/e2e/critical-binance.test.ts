/**
 * "Buy ten thousand dollars of bitcoin", "confirm": the order runs in a real microVM (QEMU)
 * from the signed image, against the local Binance stand-in, exactly once. A second
 * "confirm" finds nothing pending; the HTTP API with the same Idempotency-Key twice places
 * one order; a gateway SIGKILLed while the order is in flight is, after a restart, recorded
 * indeterminate and the order is never sent again. Boots: three.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinanceServer } from '../support/binance-server.js';
import {
  auditRecords, criticalProject, say, Serve, writeConfig, type CriticalProject,
} from './critical-support.js';
import { HoldingRelay } from '../support/holding-relay.js';

const API_KEY = 'bn-critical-key-51e0';
const SECRET = 'bn-critical-secret-a7c3';
const ENV = { BINANCE_API_KEY: API_KEY, BINANCE_SECRET_KEY: SECRET };
const BUY = 'buy ten thousand dollars of bitcoin';
let project: CriticalProject;
let server: BinanceServer;

beforeAll(async () => {
  project = await criticalProject('binance');
  server = await BinanceServer.start({ apiKey: API_KEY, secretKey: SECRET,
    prices: { BTCUSDT: '40000.00' } });
}, 900_000);
afterAll(async () => {
  await server?.close();
  project?.cleanup();
});

describe('binance orders in the critical tier', () => {
  it('places exactly one order from a microVM; a second "confirm" finds nothing pending',
    async () => {
      const config = writeConfig(project, 'say', ['[connectors.binance]',
        `base_url = "${server.baseUrl}"`]);
      const { reports, log } = await say(project, config, [BUY, 'confirm', 'confirm'], ENV);
      expect(reports[0]).toMatchObject({ action: 'binance.order', tier: 'critical',
        decision: 'confirmation_requested' });
      expect(reports[1], log).toMatchObject({ action: 'binance.order', tier: 'critical',
        decision: 'executed', outcome: 'succeeded' });
      expect(reports[1]?.microvm?.backend).toMatch(/^QEMU/);
      expect(reports[1]?.reply?.text).toMatch(/^Bought 0\.25 bitcoin for 10,000\.00 dollars/);
      expect(reports[2]?.outcome ?? null).toBeNull();
      expect(reports[2]?.decision).not.toBe('executed');
      expect(server.orders).toHaveLength(1);
      expect(server.orders[0]?.clientOrderId).toMatch(/^gw-[A-Za-z0-9_-]{32}$/);
      expect(log).not.toContain(API_KEY);
      expect(log).not.toContain(SECRET);
      const records = auditRecords(project, 'say');
      expect(records.map((r) => `${r.kind}:${r.outcome ?? ''}`))
        .toEqual(['accepted:', 'outcome:succeeded']);
    }, 900_000);

  it('the HTTP API with the same Idempotency-Key twice places one order', async () => {
    const before = server.orders.length;
    const config = writeConfig(project, 'serve', ['[connectors.binance]',
      `base_url = "${server.baseUrl}"`]);
    const serve = new Serve(project, config, ENV);
    await serve.start();
    try {
      const auth = { Authorization: `Bearer ${serve.token('alice')}` };
      const ask = { ...auth, 'Idempotency-Key': 'order-ask-1' };
      const asked = await serve.post('/api/v1/orchestrate', { task: BUY }, ask);
      expect(asked.status).toBe(202);
      const again = await serve.post('/api/v1/orchestrate', { task: BUY }, ask);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const id = (asked.body.confirmation as { id: string }).id;
      expect((again.body.confirmation as { id: string }).id).toBe(id);
      const yes = { ...auth, 'Idempotency-Key': 'order-confirm-1' };
      const done = await serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' }, yes);
      expect(done.body, serve.stderr.slice(-2000)).toMatchObject({ action: 'binance.order',
        tier: 'critical', outcome: 'succeeded' });
      const replay = await serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' },
        yes);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(done.body);
      expect(server.orders).toHaveLength(before + 1);
    } finally {
      await serve.stop();
    }
  }, 900_000);

  it('a gateway killed mid-order is recorded indeterminate after restart, never re-sent',
    async () => {
      const relay = new HoldingRelay(Number(new URL(server.baseUrl).port),
        (request) => request.startsWith('POST /api/v3/order'));
      const port = await relay.listen();
      const config = writeConfig(project, 'kill', ['[connectors.binance]',
        `base_url = "http://127.0.0.1:${port}"`]);
      const before = server.orders.length;
      const serve = new Serve(project, config, ENV);
      await serve.start();
      try {
        const auth = { Authorization: `Bearer ${serve.token('alice')}` };
        const asked = await serve.post('/api/v1/orchestrate', { task: BUY }, auth);
        const id = (asked.body.confirmation as { id: string }).id;
        const yes = { ...auth, 'Idempotency-Key': 'order-confirm-kill' };
        const pending = serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' }, yes)
          .catch(() => null);
        await relay.seen;
        await serve.kill();
        expect(await pending).toBeNull();
        expect(server.orders).toHaveLength(before + 1);
        expect(auditRecords(project, 'kill').map((r) => r.kind)).toEqual(['accepted']);
        await serve.start();
        const retried = await serve.post(`/api/v1/confirmations/${id}`,
          { decision: 'confirm' }, { Authorization: `Bearer ${serve.token('alice')}`,
            'Idempotency-Key': 'order-confirm-kill' });
        expect(retried.status).toBe(409);
        expect((retried.body.error as { code: string }).code).toBe('GW_IDEMPOTENCY_IN_PROGRESS');
        expect(auditRecords(project, 'kill').map((r) => `${r.kind}:${r.outcome ?? ''}`))
          .toEqual(['accepted:', 'recovered:indeterminate']);
        expect(server.orders).toHaveLength(before + 1);
      } finally {
        await serve.stop();
        await relay.close();
      }
    }, 900_000);
});
