/**
 * A local stand-in for Binance's spot REST API, for tests: server time (with a settable
 * skew), ticker prices, and market orders. Signed calls are checked the way Binance
 * documents them: X-MBX-APIKEY header, hex HMAC-SHA256 of the parameter string before
 * `signature`, a timestamp within recvWindow of the server's clock. A client order id is
 * accepted once; a second order with it gets Binance's "Duplicate order sent." answer.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BinanceRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The signed parameter string as received (query for GET, body for POST). */
  readonly params: string;
}

export interface PlacedOrder {
  readonly symbol: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly side: string;
  readonly type: string;
  readonly status: string;
  readonly executedQty: string;
  readonly cummulativeQuoteQty: string;
  readonly transactTime: number;
}

export interface BinanceServerOptions {
  readonly apiKey: string;
  readonly secretKey: string;
  /** Symbol -> last price, e.g. { BTCUSDT: "43210.50" }. */
  readonly prices: Readonly<Record<string, string>>;
}

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;

function fixed8(n: number): string {
  return n.toFixed(8);
}

export class BinanceServer {
  readonly requests: BinanceRequest[] = [];
  readonly orders: PlacedOrder[] = [];
  /** Added to the server's clock: a server whose time differs from the client's. */
  skewMs = 0;
  private nextId = 1000;

  private constructor(private readonly server: http.Server,
    private readonly options: BinanceServerOptions) {}

  static async start(options: BinanceServerOptions): Promise<BinanceServer> {
    let self: BinanceServer | null = null;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => self?.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    self = new BinanceServer(server, options);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private now(): number {
    return Date.now() + this.skewMs;
  }

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const params = req.method === 'POST' ? body : url.search.replace(/^\?/, '');
    this.requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers,
      params });
    const send = (status: number, json: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const route = `${req.method ?? ''} ${url.pathname}`;
    if (route === 'GET /api/v3/time') return send(200, { serverTime: this.now() });
    if (route === 'GET /api/v3/ticker/price') {
      const symbol = url.searchParams.get('symbol') ?? '';
      const price = this.options.prices[symbol];
      return price === undefined ? send(400, { code: -1121, msg: 'Invalid symbol.' })
        : send(200, { symbol, price });
    }
    if (route !== 'POST /api/v3/order' && route !== 'GET /api/v3/order') {
      return send(404, { code: -1000, msg: 'Unknown path.' });
    }
    const problem = this.checkSigned(req, params);
    if (problem) return send(problem.status, problem.body);
    const p = new URLSearchParams(params);
    if (req.method === 'GET') {
      const found = this.orders.find((o) => o.clientOrderId === p.get('origClientOrderId')
        && o.symbol === p.get('symbol'));
      return found ? send(200, found) : send(400, { code: -2013, msg: 'Order does not exist.' });
    }
    return this.placeOrder(p, send);
  }

  private checkSigned(req: http.IncomingMessage, params: string):
  { status: number; body: unknown } | null {
    if (req.headers['x-mbx-apikey'] !== this.options.apiKey) {
      return { status: 401, body: { code: -2015, msg: 'Invalid API-key, IP, or permissions '
        + 'for action.' } };
    }
    const at = params.lastIndexOf('&signature=');
    const given = at < 0 ? '' : params.slice(at + '&signature='.length);
    const expected = createHmac('sha256', this.options.secretKey)
      .update(at < 0 ? params : params.slice(0, at)).digest('hex');
    if (given.length !== expected.length
      || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      return { status: 400, body: { code: -1022,
        msg: 'Signature for this request is not valid.' } };
    }
    const p = new URLSearchParams(params);
    const timestamp = Number(p.get('timestamp'));
    const window = Number(p.get('recvWindow') ?? '5000');
    const now = this.now();
    if (!Number.isInteger(timestamp) || timestamp > now + 1000 || now - timestamp > window
      || window > 60_000) {
      return { status: 400, body: { code: -1021,
        msg: 'Timestamp for this request is outside of the recvWindow.' } };
    }
    return null;
  }

  private placeOrder(p: URLSearchParams, send: (s: number, j: unknown) => void): void {
    const symbol = p.get('symbol') ?? '';
    const price = Number(this.options.prices[symbol]);
    if (!Number.isFinite(price)) return send(400, { code: -1121, msg: 'Invalid symbol.' });
    const clientOrderId = p.get('newClientOrderId') ?? '';
    const quote = p.get('quoteOrderQty');
    const qty = p.get('quantity');
    if (!CLIENT_ID.test(clientOrderId) || p.get('type') !== 'MARKET'
      || !['BUY', 'SELL'].includes(p.get('side') ?? '') || (quote === null) === (qty === null)) {
      return send(400, { code: -1102, msg: 'Mandatory parameter was not sent, was empty/null, '
        + 'or malformed.' });
    }
    if (this.orders.some((o) => o.clientOrderId === clientOrderId)) {
      return send(400, { code: -2010, msg: 'Duplicate order sent.' });
    }
    const executed = qty !== null ? Number(qty) : Number(quote) / price;
    const order: PlacedOrder = {
      symbol, orderId: this.nextId++, clientOrderId, side: p.get('side') ?? '', type: 'MARKET',
      status: 'FILLED', executedQty: fixed8(executed), cummulativeQuoteQty: fixed8(executed * price),
      transactTime: this.now(),
    };
    this.orders.push(order);
    return send(200, { ...order, fills: [{ price: String(price), qty: order.executedQty,
      commission: '0', commissionAsset: 'BNB' }] });
  }
}
