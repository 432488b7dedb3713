import type { OrderResult } from './client.js';

/** The `order` action's input, as the manifest's schema yields it. */
export interface OrderInput {
  readonly side: 'buy' | 'sell';
  readonly asset: string;
  readonly amount?: { readonly amount: number; readonly currency: 'USD' | 'GBP' | 'EUR' };
  readonly quantity?: number;
}

const ASSET_WORDS: Readonly<Record<string, string>> = {
  BTC: 'bitcoin', ETH: 'ether', LTC: 'litecoin',
};
const CURRENCY_WORDS: Readonly<Record<string, string>> = {
  USD: 'dollars', GBP: 'pounds', EUR: 'euros',
};

function assetWord(asset: string): string {
  return ASSET_WORDS[asset.toUpperCase()] ?? asset.toUpperCase();
}

/** "43,210.5" -> "43,210.50"; small prices keep their significant digits. */
function money(text: string): string {
  const n = Number(text);
  if (n >= 1) {
    return n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  return n.toLocaleString('en-US', { maximumSignificantDigits: 6 });
}

/** "Bitcoin is at 43,210.50 dollars." */
export function describePrice(asset: string, price: string, currency: string): string {
  const word = assetWord(asset);
  return `${word.charAt(0).toUpperCase()}${word.slice(1)} is at ${money(price)} `
    + `${CURRENCY_WORDS[currency] ?? currency}.`;
}

/**
 * "Bought 0.2314 bitcoin for 10,000.00 dollars, at 43,210.50 dollars on average." A
 * duplicate (a retried order Binance already had) says so instead of claiming a second one.
 */
export function describeOrder(order: OrderResult, input: OrderInput, currency: string,
  duplicate: boolean): string {
  const words = CURRENCY_WORDS[currency] ?? currency;
  const qty = Number(order.executedQty);
  const spent = Number(order.cummulativeQuoteQty);
  const verb = input.side === 'buy' ? 'Bought' : 'Sold';
  const lead = duplicate ? 'That order was already placed: ' : '';
  if (order.status !== 'FILLED' || qty <= 0) {
    return `${lead}The order is ${order.status.toLowerCase().replace(/_/g, ' ')}.`;
  }
  const average = money(String(spent / qty));
  const done = `${verb} ${qty.toLocaleString('en-US', { maximumFractionDigits: 6 })} `
    + `${assetWord(input.asset)} for ${money(String(spent))} ${words}, at ${average} ${words}`
    + ' on average.';
  return `${lead}${duplicate ? done.charAt(0).toLowerCase() + done.slice(1) : done}`;
}
