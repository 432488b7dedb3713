/**
 * The Binance connector as it runs inside its microVM (orders are critical): one market
 * order per call over a connection the host's broker opens (the client's fetch is the
 * brokered one for the call), with `newClientOrderId` derived from the action's idempotency
 * key, so Binance itself refuses a second order for the same action ("Duplicate order
 * sent.", answered by reading the first one back). Dry run signs the request and sends
 * nothing. It logs nothing: keys, amounts and fills stay out of every log.
 */
import { GatewayError } from '../../errors.js';
import { withBrokeredFetch } from '../egress/fetch.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { BinanceClient, type OrderRequest } from './client.js';
import type { BinanceConfig } from './config.js';
import { orderRequest } from './connector.js';
import { describeOrder, type OrderInput } from './speech.js';

const ASSET_WORDS: Readonly<Record<string, string>> = { BTC: 'bitcoin', ETH: 'ether' };
const CURRENCY_WORDS: Readonly<Record<string, string>> = {
  USD: 'dollars', GBP: 'pounds', EUR: 'euros',
};

function configError(bad: string): GatewayError {
  return new GatewayError('GW_CONNECTOR_CONFIG',
    `Binance orders are not set up; check connectors.binance (${bad})`);
}

/** The settings binancePlan (plan.ts) hands over, checked again here. */
function settingsOf(ctx: SandboxContext): BinanceConfig {
  const s = ctx.settings;
  const bad = [
    typeof s.base_url !== 'string' || !/^https?:\/\//.test(s.base_url) ? 'base_url' : '',
    typeof s.quote_asset !== 'string' || !/^[A-Z0-9]{2,10}$/.test(s.quote_asset)
      ? 'quote_asset' : '',
    !['USD', 'GBP', 'EUR'].includes(String(s.quote_currency)) ? 'quote_currency' : '',
    typeof s.recv_window_ms !== 'number' ? 'recv_window_ms' : '',
  ].filter(Boolean);
  if (bad.length > 0) throw configError(bad.join(', '));
  return { base_url: s.base_url as string, quote_asset: s.quote_asset as string,
    quote_currency: s.quote_currency as BinanceConfig['quote_currency'],
    recv_window_ms: s.recv_window_ms as number, api_key_file: '', secret_key_file: '',
    dry_run: s.dry_run === true };
}

/** "buy ten thousand dollars of bitcoin" as said back in a dry run. */
function what(input: OrderInput, req: OrderRequest, config: BinanceConfig): string {
  const asset = ASSET_WORDS[input.asset.toUpperCase()] ?? input.asset.toUpperCase();
  const amount = req.quoteOrderQty !== undefined
    ? `${Number(req.quoteOrderQty).toLocaleString('en-US')} `
      + `${CURRENCY_WORDS[config.quote_currency] ?? config.quote_currency} of ${asset}`
    : `${req.quantity ?? ''} ${asset}`;
  return `${input.side} ${amount} (a ${req.symbol} market order)`;
}

async function order(input: OrderInput, ctx: SandboxContext): Promise<ActionResult> {
  const config = settingsOf(ctx);
  if (!ctx.idempotencyKey) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'an order needs an idempotency key');
  }
  const req = orderRequest(input, config, ctx.idempotencyKey);
  const client = new BinanceClient({ baseUrl: config.base_url,
    recvWindowMs: config.recv_window_ms, apiKey: ctx.secrets.binance_api_key ?? null,
    secretKey: ctx.secrets.binance_secret_key ?? null });
  // Signed now (the keys must be there), so a dry run checks everything but the far side.
  client.prepareOrder(req);
  const request = { symbol: req.symbol, side: req.side,
    ...(req.quoteOrderQty !== undefined ? { quoteOrderQty: req.quoteOrderQty } : {}),
    ...(req.quantity !== undefined ? { quantity: req.quantity } : {}),
    newClientOrderId: req.clientOrderId };
  if (config.dry_run) {
    return { speech: `Dry run: I would ${what(input, req, config)}; nothing was sent.`,
      data: { dryRun: true, request } };
  }
  const placed = await withBrokeredFetch((h, p) => ctx.connect(h, p),
    () => client.placeOrder(req, ctx.signal));
  const o = placed.order;
  return { speech: describeOrder(o, input, config.quote_currency, placed.duplicate),
    data: { dryRun: false, duplicate: placed.duplicate, orderId: o.orderId,
      clientOrderId: o.clientOrderId, symbol: o.symbol, status: o.status,
      executedQty: o.executedQty, cummulativeQuoteQty: o.cummulativeQuoteQty } };
}

export const connector: SandboxedConnector = {
  name: 'binance',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    if (action !== 'order') {
      throw new GatewayError('GW_CONNECTOR_UNAVAILABLE',
        `binance has no isolated action ${action}`);
    }
    return order(input as OrderInput, ctx);
  },
};
