import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { binanceManifest } from '../manifests.js';
import type { ActionContext, Connector } from '../types.js';
import { BinanceClient, type BinanceAccess, type OrderRequest } from './client.js';
import type { BinanceConfig } from './config.js';
import { clientOrderId, decimal } from './sign.js';
import { describePrice, type OrderInput } from './speech.js';

export const API_KEY_ENV = 'BINANCE_API_KEY';
export const SECRET_KEY_ENV = 'BINANCE_SECRET_KEY';

/** The client's settings; keys are read now (per call) and only when an order needs them. */
export function binanceAccess(config: BinanceConfig, baseDir: string, keys: boolean):
BinanceAccess {
  return {
    baseUrl: config.base_url,
    recvWindowMs: config.recv_window_ms,
    apiKey: keys ? readSecret(API_KEY_ENV, config.api_key_file, baseDir) : null,
    secretKey: keys ? readSecret(SECRET_KEY_ENV, config.secret_key_file, baseDir) : null,
  };
}

export function symbolOf(asset: string, config: BinanceConfig): string {
  return `${asset.toUpperCase()}${config.quote_asset}`;
}

/**
 * The market order an `order` action asks for. An amount said in money ("ten thousand
 * dollars of bitcoin") becomes a quote-quantity order, spent (or received) in the quote
 * asset; the client order id comes from the action's idempotency key.
 */
export function orderRequest(input: OrderInput, config: BinanceConfig, idempotencyKey: string):
OrderRequest {
  const base = { symbol: symbolOf(input.asset, config), side: input.side === 'buy' ? 'BUY'
    : 'SELL', clientOrderId: clientOrderId(idempotencyKey) } as const;
  if (input.amount) {
    if (input.amount.currency !== config.quote_currency) {
      throw new GatewayError('GW_ACTION_INPUT_INVALID', `orders are placed in `
        + `${config.quote_currency}, not ${input.amount.currency}`);
    }
    return { ...base, quoteOrderQty: decimal(input.amount.amount, 2) };
  }
  if (input.quantity === undefined) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'an order needs an amount or a quantity');
  }
  return { ...base, quantity: decimal(input.quantity) };
}

/**
 * The Binance connector in process: prices only. Orders are critical and run only in the
 * microVM tier; should one reach this code, it is refused rather than placed.
 */
export function createBinanceConnector(config: BinanceConfig, baseDir: string): Connector {
  return {
    manifest: binanceManifest,
    async run(action: string, input: unknown, ctx: ActionContext) {
      if (action !== 'price') {
        throw new GatewayError('GW_TIER_UNAVAILABLE',
          `binance.${action} runs only in its own tier, never in the gateway process`);
      }
      const { asset } = input as { asset: string };
      const client = new BinanceClient(binanceAccess(config, baseDir, false));
      const symbol = symbolOf(asset, config);
      if (config.dry_run) {
        const req = client.preparePrice(symbol);
        return { speech: `Dry run: I would ask Binance for the price of ${symbol}.`,
          data: { dryRun: true, request: req } };
      }
      const price = await client.price(symbol, ctx.signal);
      return { speech: describePrice(asset, price, config.quote_currency),
        data: { symbol, price } };
    },
  };
}
