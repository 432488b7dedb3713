/**
 * The critical connectors' worker modules (what runs inside the microVM), called in this
 * process with a SandboxContext whose connect() dials loopback test servers and counts each
 * connection: the idempotency key reaches the far side, a repeat with the same key acts once,
 * the plans carry only configured endpoints, and a dry run opens no connection at all.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { connector as plaid } from '../../src/connectors/banking_plaid/worker.js';
import { connector as binance } from '../../src/connectors/binance/worker.js';
import { binancePlan } from '../../src/connectors/binance/plan.js';
import { withDryRun } from '../../src/connectors/dry-run.js';
import { sandboxPlans } from '../../src/connectors/registry.js';
import { connector as dnp3 } from '../../src/connectors/scada_dnp3/worker.js';
import { connector as car } from '../../src/connectors/smart_car_fleet/worker.js';
import type { SandboxContext, SandboxPlan } from '../../src/connectors/types.js';
import { BinanceServer } from '../support/binance-server.js';
import { Dnp3Outstation } from '../support/dnp3-outstation.js';
import { PLAID_ACCOUNTS } from '../support/plaid-accounts.js';
import { PlaidServer } from '../support/plaid-server.js';
import { SmartcarServer } from '../support/smartcar-server.js';

const ENV = {
  BINANCE_API_KEY: 'bn-unit-key-1', BINANCE_SECRET_KEY: 'bn-unit-secret-1',
  PLAID_SECRET: 'plaid-unit-secret', PLAID_ACCESS_TOKEN: 'access-sandbox-unit',
  SMARTCAR_ACCESS_TOKEN: 'sc-unit-token',
};
const VEHICLE = '36ab27d0-fd9d-4455-823a-ce30af709ffc';
const CLIENT_ID = '5f1a9c0e7d2b4a0012ab34cd';
let bn: BinanceServer;
let pl: PlaidServer;
let sc: SmartcarServer;
let sim: Dnp3Outstation;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  bn = await BinanceServer.start({ apiKey: ENV.BINANCE_API_KEY, secretKey: ENV.BINANCE_SECRET_KEY,
    prices: { BTCUSDT: '40000.00' } });
  pl = await PlaidServer.start({ clientId: CLIENT_ID, secret: ENV.PLAID_SECRET,
    accessToken: ENV.PLAID_ACCESS_TOKEN, accounts: PLAID_ACCOUNTS });
  sc = await SmartcarServer.start({ token: ENV.SMARTCAR_ACCESS_TOKEN, vehicleId: VEHICLE,
    make: 'tesla', position: { latitude: 51.5, longitude: -0.14 } });
  sim = await Dnp3Outstation.start({ address: 12, binaryInputs: { 7: false }, crobs: [7] });
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await Promise.all([bn.close(), pl.close(), sc.close(), sim.close()]);
});

function config(dryRun = false) {
  const c = validateConfig({
    connectors: {
      binance: { base_url: bn.baseUrl },
      banking_plaid: { base_url: pl.baseUrl, client_id: CLIENT_ID },
      smart_car_fleet: { api_origin: sc.origin, vehicle_id: VEHICLE },
      scada_dnp3: { response_timeout_ms: 5000 },
    },
    points: { 'breaker 7 at substation 12': { protocol: 'dnp3', host: '127.0.0.1',
      port: sim.port, address: 12, index: 7, kind: 'crob' } },
  }, 'test');
  return dryRun ? withDryRun(c) : c;
}

/** The plan the executor would make, and a context whose connect() the broker would allow. */
function context(name: string, key: string | null, dryRun = false):
{ ctx: SandboxContext; connects: string[] } {
  const plan = sandboxPlans(config(dryRun), '/')(name) as SandboxPlan;
  const connects: string[] = [];
  const ctx: SandboxContext = {
    now: new Date(), timeZone: 'UTC', principal: 'tester', signal: new AbortController().signal,
    secrets: plan.secrets, settings: plan.settings, idempotencyKey: key,
    connect: (host, port) => {
      connects.push(`${host}:${port}`);
      if (!plan.endpoints.some((e) => e.host === host && e.port === port)) {
        return Promise.reject(new Error('refused by the broker'));
      }
      return new Promise<Duplex>((resolve, reject) => {
        const s = net.connect(port, host, () => resolve(plain(s)));
        s.once('error', reject);
      });
    },
  };
  return { ctx, connects };
}

/** A socket as the microVM's broker hands it over: a bare Duplex, no socket methods. */
function plain(s: net.Socket): Duplex {
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      s.write(chunk, done);
    },
    final(done) {
      s.end();
      done();
    },
    destroy(err, done) {
      s.destroy();
      done(err);
    },
  });
  s.on('data', (c: Buffer) => d.push(c));
  s.on('end', () => d.push(null));
  s.on('error', (e) => d.destroy(e));
  return d;
}

const BUY = { side: 'buy', asset: 'BTC', amount: { amount: 10_000, currency: 'USD' } };

describe('critical workers', () => {
  it('binance: one order per idempotency key, its newClientOrderId derived from the key', async () => {
    const { ctx } = context('binance', 'audit-record-0001');
    const first = await binance.run('order', BUY, ctx);
    expect(first.data).toMatchObject({ duplicate: false, status: 'FILLED' });
    const again = await binance.run('order', BUY, context('binance', 'audit-record-0001').ctx);
    expect(again.data).toMatchObject({ duplicate: true });
    expect(again.speech).toMatch(/^That order was already placed/);
    expect(bn.orders).toHaveLength(1);
    expect(bn.orders[0]?.clientOrderId).toBe((first.data as { clientOrderId: string })
      .clientOrderId);
    await expect(binance.run('order', BUY, context('binance', null).ctx)).rejects
      .toMatchObject({ code: 'GW_ACTION_INPUT_INVALID' });
    expect(bn.orders).toHaveLength(1);
  });

  it('plaid: one transfer per key, Plaid idempotency keys on both requests', async () => {
    const input = { account: 'savings', amount: { amount: 250, currency: 'USD' } };
    const r = await plaid.run('transfer', input, context('banking_plaid', 'audit-record-0002').ctx);
    expect(r.speech).toBe('I transferred 250.00 dollars to your savings account.');
    await plaid.run('transfer', input, context('banking_plaid', 'audit-record-0002').ctx);
    expect(pl.created.filter((c) => c.kind === 'transfer')).toHaveLength(1);
    const posts = pl.requests.filter((q) => q.path.startsWith('/transfer/'));
    expect(posts.every((q) => /^gw-[0-9a-f]{40}$/.test(String((q.json as
      { idempotency_key?: string }).idempotency_key)))).toBe(true);
  });

  it('smartcar: unlock through the brokered fetch; the global fetch is restored', async () => {
    const before = globalThis.fetch;
    const { ctx, connects } = context('smart_car_fleet', 'audit-record-0003');
    sc.locked = true;
    const r = await car.run('unlock', {}, ctx);
    expect(r.speech).toBe('The car is unlocked.');
    expect(sc.locked).toBe(false);
    expect(connects).toEqual([new URL(sc.origin).host]);
    expect(globalThis.fetch).toBe(before);
  });

  it('dnp3: select before operate once; the same key never operates again', async () => {
    const input = { operation: 'close', breaker: 7, substation: 12 };
    const r = await dnp3.run('operate', input, context('scada_dnp3', 'audit-record-0004').ctx);
    expect(r.speech).toBe('Breaker seven at substation twelve is now closed.');
    expect(sim.executed).toEqual([expect.objectContaining({ fn: 'OPERATE', index: 7 })]);
    const again = await dnp3.run('operate', input, context('scada_dnp3', 'audit-record-0004').ctx);
    expect(again.data).toMatchObject({ replayed: true });
    expect(sim.executed).toHaveLength(1);
    // A breaker that is not a configured DNP3 point is refused before any connection.
    const other = context('scada_dnp3', 'audit-record-0005');
    await expect(dnp3.run('operate', { operation: 'close', breaker: 8, substation: 12 },
      other.ctx)).rejects.toMatchObject({ code: 'GW_CONNECTOR_CONFIG' });
    expect(other.connects).toEqual([]);
  });

  it('dry run: every critical action resolves, answers, and opens no connection', async () => {
    const orders = bn.orders.length;
    const cases: Array<[typeof binance, string, string, unknown, RegExp]> = [
      [binance, 'binance', 'order', BUY, /^Dry run: I would buy 10,000 dollars of bitcoin/],
      [plaid, 'banking_plaid', 'transfer', { account: 'current', amount: { amount: 5,
        currency: 'USD' } }, /^Dry run: I would transfer 5.00 dollars to your current/],
      [car, 'smart_car_fleet', 'unlock', {}, /^Dry run: I would unlock the car/],
      [dnp3, 'scada_dnp3', 'operate', { operation: 'open', breaker: 7, substation: 12 },
        /^Dry run: I would open breaker seven at substation twelve with select before/],
    ];
    const executed = sim.executed.length;
    for (const [worker, name, action, input, speech] of cases) {
      const { ctx, connects } = context(name, 'audit-record-0100', true);
      const r = await worker.run(action, input, ctx);
      expect(r.speech, name).toMatch(speech);
      // Plaid resolves "current" by subtype with a read; nothing else connects.
      expect(connects.length, name).toBe(name === 'banking_plaid' ? 1 : 0);
    }
    expect(bn.orders).toHaveLength(orders);
    expect(sim.executed).toHaveLength(executed);
    expect(pl.requests.at(-1)?.path).toBe('/accounts/balance/get');
  });

  it('plans: configured endpoints only; missing keys refuse before anything starts', () => {
    const c = config();
    expect(sandboxPlans(c, '/')('scada_dnp3')?.endpoints).toEqual([{ host: '127.0.0.1',
      port: sim.port }]);
    const key = process.env.BINANCE_API_KEY;
    delete process.env.BINANCE_API_KEY;
    try {
      expect(() => binancePlan(c, '/')).toThrow(/Binance orders are not set up/);
    } finally {
      process.env.BINANCE_API_KEY = key;
    }
  });
});
