/**
 * Binance's request signing and the pieces of an order that must be the same on every retry.
 * Signed endpoints carry `timestamp`, `recvWindow` and `signature`, the hex HMAC-SHA256 of
 * the whole parameter string (query string, then body) keyed with the secret key.
 */
import { createHash, createHmac } from 'node:crypto';

/** Hex HMAC-SHA256 of the exact parameter string sent. */
export function signature(payload: string, secretKey: string): string {
  return createHmac('sha256', secretKey).update(payload, 'utf8').digest('hex');
}

/** Parameters in the order given, form-encoded; the signature is appended last. */
export function signedParams(
  params: ReadonlyArray<readonly [string, string]>,
  secretKey: string,
): string {
  const payload = new URLSearchParams(params.map(([k, v]): [string, string] => [k, v])).toString();
  return `${payload}&signature=${signature(payload, secretKey)}`;
}

/**
 * The order's `newClientOrderId`, derived from the action's idempotency key: the same key
 * always gives the same id, so Binance recognises a retried order as a duplicate. Binance
 * allows 1..36 characters of `[.A-Z:/a-z0-9_-]`; a hash keeps the key itself private.
 */
export function clientOrderId(idempotencyKey: string): string {
  if (idempotencyKey.length === 0) throw new RangeError('an order needs an idempotency key');
  const digest = createHash('sha256').update(`binance-order:${idempotencyKey}`).digest();
  return `gw-${digest.toString('base64url').slice(0, 32)}`;
}

/**
 * A positive decimal as Binance takes it: no exponent, at most `decimals` places, trailing
 * zeros dropped ("10000", "0.25").
 */
export function decimal(value: number, decimals = 8): string {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`not a positive amount: ${value}`);
  }
  const fixed = value.toFixed(decimals);
  const text = fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
  if (/^0$/.test(text)) throw new RangeError(`${value} rounds to zero at ${decimals} places`);
  return text;
}
