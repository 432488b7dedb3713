import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BinanceClient, type BinanceAccess } from '../../src/connectors/binance/client.js';
import { binanceConfigSchema } from '../../src/connectors/binance/config.js';
import { orderRequest } from '../../src/connectors/binance/connector.js';
import { clientOrderId, decimal, signature } from '../../src/connectors/binance/sign.js';
import { describeOrder, describePrice } from '../../src/connectors/binance/speech.js';
import { binanceManifest } from '../../src/connectors/manifests.js';
import { loadIntents } from '../../src/nlu/index.js';
import { BinanceServer } from '../support/binance-server.js';

const API_KEY = 'bn-api-key-31c9';
const SECRET = 'bn-secret-key-8e02';
const config = binanceConfigSchema.parse({});
let server: BinanceServer;

function access(over: Partial<BinanceAccess> = {}): BinanceAccess {
  return { baseUrl: server.baseUrl, recvWindowMs: 5_000, apiKey: API_KEY, secretKey: SECRET,
    ...over };
}

beforeAll(async () => {
  server = await BinanceServer.start({ apiKey: API_KEY, secretKey: SECRET,
    prices: { BTCUSDT: '43210.50', ETHUSDT: '2250.125' } });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.orders.length = 0;
  server.skewMs = 0;
});

describe('binance signing', () => {
  it('passes the HMAC-SHA256 vector of REFERENCE.md', () => {
    const secret = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';
    const query = 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1'
      + '&recvWindow=5000&timestamp=1499827319559';
    expect(signature(query, secret))
      .toBe('c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71');
  });

  it('derives one valid client order id per idempotency key', () => {
    const a = clientOrderId('turn-7f3a:confirm');
    expect(a).toMatch(/^[.A-Z:/a-z0-9_-]{1,36}$/);
    expect(clientOrderId('turn-7f3a:confirm')).toBe(a);
    expect(clientOrderId('turn-7f3b:confirm')).not.toBe(a);
    expect(a).not.toContain('7f3a');
    expect(() => clientOrderId('')).toThrow();
  });

  it('turns a spoken amount of money into a quote-quantity order', () => {
    const order = orderRequest({ side: 'buy', asset: 'BTC', amount: { amount: 10_000,
      currency: 'USD' } }, config, 'k1');
    expect(order).toEqual({ symbol: 'BTCUSDT', side: 'BUY', quoteOrderQty: '10000',
      clientOrderId: clientOrderId('k1') });
    expect(orderRequest({ side: 'sell', asset: 'ETH', quantity: 0.5 }, config, 'k2'))
      .toMatchObject({ symbol: 'ETHUSDT', side: 'SELL', quantity: '0.5' });
    expect(() => orderRequest({ side: 'buy', asset: 'BTC', amount: { amount: 5,
      currency: 'GBP' } }, config, 'k3')).toThrow(expect.objectContaining({
      code: 'GW_ACTION_INPUT_INVALID' }));
    expect(decimal(1e-7)).toBe('0.0000001');
    expect(decimal(12.5, 2)).toBe('12.5');
    expect(decimal(10_000, 2)).toBe('10000');
    expect(() => decimal(0.001, 2)).toThrow(RangeError);
  });
});

describe('binance client against a local server that checks signatures', () => {
  it('reads a price without keys, and says it', async () => {
    const price = await new BinanceClient(access({ apiKey: null, secretKey: null }))
      .price('BTCUSDT');
    expect(price).toBe('43210.50');
    expect(describePrice('BTC', price, 'USD')).toBe('Bitcoin is at 43,210.50 dollars.');
    expect(server.requests[0]?.headers['x-mbx-apikey']).toBeUndefined();
  });

  it('says what Binance answered for an unknown pair', async () => {
    await expect(new BinanceClient(access()).price('DOGEUSDT')).rejects.toMatchObject({
      code: 'GW_REMOTE_REJECTED', message: 'Binance refused the price request: Invalid symbol' });
  });

  it('places one order per idempotency key: the retry reads the first one back', async () => {
    const client = new BinanceClient(access());
    const order = orderRequest({ side: 'buy', asset: 'BTC', amount: { amount: 10_000,
      currency: 'USD' } }, config, 'turn-42');
    const first = await client.placeOrder(order);
    expect(first.duplicate).toBe(false);
    expect(first.order).toMatchObject({ status: 'FILLED', clientOrderId: order.clientOrderId });
    // A retry (another process, same key) is refused by Binance and resolved to the same order.
    const again = await new BinanceClient(access()).placeOrder(order);
    expect(again.duplicate).toBe(true);
    expect(again.order.orderId).toBe(first.order.orderId);
    expect(server.orders).toHaveLength(1);
    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0]?.params).toMatch(/^symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10000&/);
    expect(posts[0]?.params).toMatch(/&recvWindow=5000&timestamp=\d+&signature=[0-9a-f]{64}$/);
    expect(describeOrder(first.order, { side: 'buy', asset: 'BTC' }, 'USD', false))
      .toBe('Bought 0.231425 bitcoin for 10,000.00 dollars, at 43,210.50 dollars on average.');
    expect(describeOrder(again.order, { side: 'buy', asset: 'BTC' }, 'USD', true))
      .toMatch(/^That order was already placed: bought 0.231425 bitcoin/);
  });

  it('corrects for a server clock 40 s ahead, and re-measures when it moves', async () => {
    server.skewMs = 40_000;
    const client = new BinanceClient(access());
    const offset = await client.measureOffset();
    expect(offset).toBeGreaterThan(39_000);
    expect(offset).toBeLessThan(41_000);
    const order = orderRequest({ side: 'sell', asset: 'ETH', quantity: 1 }, config, 'k-skew');
    expect((await client.placeOrder(order)).duplicate).toBe(false);
    // The server's clock jumps: Binance answers -1021; the client re-measures and retries.
    server.skewMs = -30_000;
    const next = orderRequest({ side: 'sell', asset: 'ETH', quantity: 1 }, config, 'k-skew-2');
    expect((await client.placeOrder(next)).duplicate).toBe(false);
    expect(server.orders).toHaveLength(2);
    expect(server.requests.filter((r) => r.path === '/api/v3/time')).toHaveLength(2);
  });

  it('places "buy 10k dollars of bitcoin" as heard as a quote-quantity order', async () => {
    const intents = await loadIntents(new URL('../../intents/en', import.meta.url).pathname);
    const heard = intents.match('buy ten thousand dollars of bitcoin');
    expect(heard).toMatchObject({ intent: 'exchange.buy' });
    const slots = binanceManifest.actions.order?.input.parse(
      (heard as { slots: unknown }).slots) as Parameters<typeof orderRequest>[0];
    const placed = await new BinanceClient(access())
      .placeOrder(orderRequest(slots, config, 'turn-spoken'));
    expect(placed.order.cummulativeQuoteQty).toBe('10000.00000000');
    expect(server.requests.find((r) => r.method === 'POST')?.params)
      .toMatch(/^symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10000&newClientOrderId=gw-/);
  });

  it('does not place an order signed with the wrong secret or without keys', async () => {
    const order = orderRequest({ side: 'buy', asset: 'BTC', quantity: 1 }, config, 'k-bad');
    await expect(new BinanceClient(access({ secretKey: 'wrong' })).placeOrder(order))
      .rejects.toMatchObject({ code: 'GW_REMOTE_AUTH' });
    await expect(new BinanceClient(access({ apiKey: 'other' })).placeOrder(order))
      .rejects.toMatchObject({ code: 'GW_REMOTE_AUTH' });
    await expect(new BinanceClient(access({ apiKey: null })).placeOrder(order))
      .rejects.toMatchObject({ code: 'GW_CONNECTOR_CONFIG' });
    expect(server.orders).toHaveLength(0);
  });

  it('says the service cannot be reached when nothing listens', async () => {
    await expect(new BinanceClient(access({ baseUrl: 'http://127.0.0.1:9' })).price('BTCUSDT'))
      .rejects.toMatchObject({ code: 'GW_REMOTE_UNAVAILABLE' });
  });

  it('prepares a signed order without sending it (dry run), keys kept out of the URL', () => {
    const client = new BinanceClient(access(), () => 1_499_827_319_559);
    const req = client.prepareOrder(orderRequest({ side: 'buy', asset: 'BTC', quantity: 1 },
      config, 'k-dry'));
    expect(req).toMatchObject({ method: 'POST', headers: { 'X-MBX-APIKEY': API_KEY } });
    expect(req.body).toContain('timestamp=1499827319559&signature=');
    expect(req.url + (req.body ?? '')).not.toContain(SECRET);
    expect(server.requests).toHaveLength(0);
  });
});
