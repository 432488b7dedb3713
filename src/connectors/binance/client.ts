/**
 * A small signed client of Binance's spot REST API (/api/v3): server time, ticker price,
 * and orders. Signed calls carry the local clock corrected by the measured offset to the
 * server's clock, and recvWindow. An order carries a client order id derived from the
 * action's idempotency key; when Binance answers that the id was already used, the client
 * reads that order back instead of placing another.
 */
import { GatewayError } from '../../errors.js';
import { signedParams } from './sign.js';

export interface BinanceAccess {
  readonly baseUrl: string;
  readonly recvWindowMs: number;
  /** Needed for orders only. */
  readonly apiKey: string | null;
  readonly secretKey: string | null;
}

export interface OrderRequest {
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  /** Spend (or receive) this much of the quote asset: an amount said in money. */
  readonly quoteOrderQty?: string;
  /** Or this much of the base asset. */
  readonly quantity?: string;
  readonly clientOrderId: string;
}

export interface OrderResult {
  readonly symbol: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly status: string;
  readonly executedQty: string;
  readonly cummulativeQuoteQty: string;
}

/** An HTTP request as it would be sent: what dry-run mode reports instead of sending. */
export interface PreparedRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

/** Binance's code for "this client order id was already used". */
const DUPLICATE_ORDER_MSG = /duplicate order/i;
/** Timestamp outside recvWindow: the clock offset is measured again and the call retried. */
const TIMESTAMP_OUTSIDE_WINDOW = -1021;
const AUTH_CODES = new Set([-2014, -2015, -1022]);
const MAX_BODY_BYTES = 1 << 20;

interface BinanceErrorBody { code?: unknown; msg?: unknown }

/** Binance's answer as a GatewayError whose message can be said (no keys, no signature). */
export function binanceError(status: number, body: BinanceErrorBody, what: string): GatewayError {
  const code = typeof body.code === 'number' ? body.code : null;
  const msg = typeof body.msg === 'string' ? body.msg.slice(0, 200).replace(/[.\s]+$/, '') : '';
  const said = msg ? `: ${msg}` : '';
  if (status === 401 || (code !== null && AUTH_CODES.has(code))) {
    return new GatewayError('GW_REMOTE_AUTH', `Binance did not accept the API key${said}`);
  }
  if (status === 429 || status === 418) {
    return new GatewayError('GW_REMOTE_RATE_LIMITED', 'Binance asks to slow down; try later');
  }
  if (status >= 400 && status < 500) {
    return new GatewayError('GW_REMOTE_REJECTED', `Binance refused the ${what}${said}`);
  }
  return new GatewayError('GW_REMOTE_UNAVAILABLE', `Binance failed to answer the ${what}`
    + ` (HTTP ${status})`);
}

export class BinanceClient {
  private offsetMs: number | null = null;

  constructor(
    private readonly access: BinanceAccess,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Server time minus local time, measured at the middle of the round trip. */
  async measureOffset(signal?: AbortSignal): Promise<number> {
    const sent = this.clock();
    const body = await this.call({ method: 'GET', url: this.url('/api/v3/time'), headers: {},
      body: null }, 'time request', signal) as { serverTime?: unknown };
    const received = this.clock();
    if (typeof body.serverTime !== 'number') {
      throw new GatewayError('GW_REMOTE_UNAVAILABLE', 'Binance sent a time I could not read');
    }
    this.offsetMs = Math.round(body.serverTime - (sent + received) / 2);
    return this.offsetMs;
  }

  /** The last traded price of `symbol` (public: no key, no signature). */
  async price(symbol: string, signal?: AbortSignal): Promise<string> {
    const body = await this.call(this.preparePrice(symbol), 'price request', signal) as
      { price?: unknown };
    if (typeof body.price !== 'string' || !/^\d+(\.\d+)?$/.test(body.price)) {
      throw new GatewayError('GW_REMOTE_UNAVAILABLE', 'Binance sent a price I could not read');
    }
    return body.price;
  }

  preparePrice(symbol: string): PreparedRequest {
    return { method: 'GET', url: this.url(`/api/v3/ticker/price?symbol=${symbol}`), headers: {},
      body: null };
  }

  /** The signed POST of a market order, timestamped with the corrected clock. */
  prepareOrder(order: OrderRequest): PreparedRequest {
    const params: Array<[string, string]> = [['symbol', order.symbol], ['side', order.side],
      ['type', 'MARKET']];
    if (order.quoteOrderQty !== undefined) params.push(['quoteOrderQty', order.quoteOrderQty]);
    if (order.quantity !== undefined) params.push(['quantity', order.quantity]);
    params.push(['newClientOrderId', order.clientOrderId], ['newOrderRespType', 'FULL']);
    return { method: 'POST', url: this.url('/api/v3/order'), headers: {
      'X-MBX-APIKEY': this.key('apiKey'),
      'Content-Type': 'application/x-www-form-urlencoded',
    }, body: this.sign(params) };
  }

  /**
   * Places a market order at most once per client order id: a duplicate id reads back the
   * order that id already placed (`duplicate: true`).
   */
  async placeOrder(order: OrderRequest, signal?: AbortSignal):
  Promise<{ order: OrderResult; duplicate: boolean }> {
    if (this.offsetMs === null) await this.measureOffset(signal);
    try {
      const placed = await this.signedCall(() => this.prepareOrder(order), 'order', signal);
      return { order: placed as OrderResult, duplicate: false };
    } catch (err) {
      if (!(err instanceof DuplicateOrder)) throw err;
      return { order: await this.queryOrder(order.symbol, order.clientOrderId, signal),
        duplicate: true };
    }
  }

  /** The order a client order id placed (signed GET /api/v3/order). */
  async queryOrder(symbol: string, clientId: string, signal?: AbortSignal): Promise<OrderResult> {
    const prepare = (): PreparedRequest => {
      const query = this.sign([['symbol', symbol], ['origClientOrderId', clientId]]);
      return { method: 'GET', url: this.url(`/api/v3/order?${query}`),
        headers: { 'X-MBX-APIKEY': this.key('apiKey') }, body: null };
    };
    return await this.signedCall(prepare, 'order query', signal) as OrderResult;
  }

  /** One retry after re-measuring the clock, only for Binance's "timestamp outside window". */
  private async signedCall(
    prepare: () => PreparedRequest,
    what: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    try {
      return await this.call(prepare(), what, signal);
    } catch (err) {
      if (!(err instanceof ClockRejected)) throw err;
      await this.measureOffset(signal);
      return this.call(prepare(), what, signal);
    }
  }

  private sign(params: Array<[string, string]>): string {
    const timestamp = this.clock() + (this.offsetMs ?? 0);
    return signedParams([...params, ['recvWindow', String(this.access.recvWindowMs)],
      ['timestamp', String(timestamp)]], this.key('secretKey'));
  }

  private key(which: 'apiKey' | 'secretKey'): string {
    const value = this.access[which];
    if (!value) {
      throw new GatewayError('GW_CONNECTOR_CONFIG', 'Binance orders are not set up: set '
        + 'BINANCE_API_KEY and BINANCE_SECRET_KEY or the key files');
    }
    return value;
  }

  private url(pathAndQuery: string): string {
    return `${this.access.baseUrl.replace(/\/+$/, '')}${pathAndQuery}`;
  }

  private async call(req: PreparedRequest, what: string, signal?: AbortSignal): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(req.url, { method: req.method, headers: req.headers,
        body: req.body ?? undefined, signal });
    } catch (err) {
      throw new GatewayError('GW_REMOTE_UNAVAILABLE',
        `Binance could not be reached for the ${what}`, { cause: err });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text.length <= MAX_BODY_BYTES ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (res.ok && body !== null && typeof body === 'object') return body;
    const b = (body ?? {}) as BinanceErrorBody;
    if (b.code === TIMESTAMP_OUTSIDE_WINDOW) throw new ClockRejected();
    if (typeof b.msg === 'string' && DUPLICATE_ORDER_MSG.test(b.msg)) throw new DuplicateOrder();
    throw binanceError(res.ok ? 502 : res.status, b, what);
  }
}

class ClockRejected extends Error {}
class DuplicateOrder extends Error {}
