import { z } from 'zod';

/**
 * `[connectors.binance]` of config/gateway.toml. Prices need no key; orders need the API key
 * and secret, from BINANCE_API_KEY / BINANCE_SECRET_KEY or the files named here, never
 * from this table.
 */
export const binanceConfigSchema = z.strictObject({
  /** REST API origin; a test server on loopback in tests. */
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.binance.com'),
  /** Prices are quoted in, and orders paid with, this asset: BTC + USDT = BTCUSDT. */
  quote_asset: z.string().regex(/^[A-Z0-9]{2,10}$/, 'expected an asset code such as USDT')
    .default('USDT'),
  /** The spoken currency the quote asset stands for: orders in another one are refused. */
  quote_currency: z.enum(['USD', 'GBP', 'EUR']).default('USD'),
  /** How long after its timestamp Binance may still accept a signed request (max 60000). */
  recv_window_ms: z.number().int().min(1).max(60_000).default(5_000),
  /** File holding the API key; the environment variable BINANCE_API_KEY wins. */
  api_key_file: z.string().default(''),
  /** File holding the secret key; the environment variable BINANCE_SECRET_KEY wins. */
  secret_key_file: z.string().default(''),
  /** Resolve and sign everything, send nothing: the reply says what would have been sent. */
  dry_run: z.boolean().default(false),
});

export type BinanceConfig = z.infer<typeof binanceConfigSchema>;
