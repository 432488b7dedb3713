import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BinanceServer } from '../support/binance-server.js';
import { gatewaySay } from '../support/gateway-say.js';

// The price through the gateway (safe tier, in process) from a local server standing in for
// Binance; an order is read back and then refused: it waits for the microVM tier.
const API_KEY = 'bn-e2e-key-6b2d';
const SECRET = 'bn-e2e-secret-90fa';
let server: BinanceServer;
let dir: string;

async function config(name: string, extra: string[] = []): Promise<string> {
  const file = path.join(dir, `${name}.toml`);
  await writeFile(file, ['[connectors.binance]', `base_url = "${server.baseUrl}"`, ...extra]
    .join('\n'));
  return file;
}
const keys = { BINANCE_API_KEY: API_KEY, BINANCE_SECRET_KEY: SECRET };

beforeAll(async () => {
  server = await BinanceServer.start({ apiKey: API_KEY, secretKey: SECRET,
    prices: { BTCUSDT: '43210.50', ETHUSDT: '2250.125' } });
  dir = await mkdtemp(path.join(tmpdir(), 'gw-binance-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});

describe('binance through the gateway', () => {
  it('says the price of bitcoin from the safe tier', async () => {
    const { reports, log } = await gatewaySay(await config('price'),
      dir, ['what is the price of bitcoin'], keys);
    expect(reports[0]).toMatchObject({ action: 'binance.price', tier: 'safe',
      outcome: 'succeeded' });
    expect(reports[0]?.reply?.text).toBe('Bitcoin is at 43,210.50 dollars.');
    expect(server.requests.map((r) => `${r.method} ${r.path}`))
      .toEqual(['GET /api/v3/ticker/price']);
    expect(log).not.toContain(API_KEY);
    expect(log).not.toContain(SECRET);
  });

  it('says what Binance answered when it refuses', async () => {
    const { reports } = await gatewaySay(await config('quote', ['quote_asset = "DAI"']), dir,
      ['how much is one ether worth'], keys);
    expect(reports[0]).toMatchObject({ outcome: 'failed', error: { code: 'GW_REMOTE_REJECTED' } });
    expect(reports[0]?.reply?.text)
      .toBe('That did not work: binance refused the price request: Invalid symbol.');
  });

  it('in dry-run mode says what it would ask and sends nothing', async () => {
    const { reports } = await gatewaySay(await config('dry', ['dry_run = true']), dir,
      ['what is the price of ether'], keys);
    expect(reports[0]?.reply?.text).toBe('Dry run: I would ask Binance for the price of ETHUSDT.');
    expect(server.requests).toHaveLength(0);
  });

  it('reads an order back, then refuses it as critical: nothing reaches Binance', async () => {
    const { reports } = await gatewaySay(await config('order'), dir,
      ['buy ten thousand dollars of bitcoin', 'confirm'], keys);
    expect(reports[0]).toMatchObject({ action: 'binance.order', tier: 'critical',
      decision: 'confirmation_requested' });
    expect(reports[1]).toMatchObject({ tier: 'critical', outcome: 'refused',
      error: { code: 'GW_TIER_UNAVAILABLE' } });
    expect(server.requests).toHaveLength(0);
    expect(server.orders).toHaveLength(0);
  });
});
