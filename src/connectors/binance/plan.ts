/**
 * From configuration to one microVM call of the Binance worker (orders, critical): the API
 * origin the broker may open, the non-secret settings, and the two keys, read per call on
 * the host (environment or key files) and handed to the guest in its one request frame.
 */
import type { GatewayConfig } from '../../config/load.js';
import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { urlHost, urlPort } from '../messaging/http.js';
import type { SandboxPlan } from '../types.js';
import { API_KEY_ENV, SECRET_KEY_ENV } from './connector.js';

export function binancePlan(config: GatewayConfig, baseDir: string): SandboxPlan {
  const b = config.connectors.binance;
  const apiKey = readSecret(API_KEY_ENV, b.api_key_file, baseDir);
  const secretKey = readSecret(SECRET_KEY_ENV, b.secret_key_file, baseDir);
  if (!apiKey || !secretKey) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'Binance orders are not set up: set '
      + `${API_KEY_ENV} and ${SECRET_KEY_ENV} or the key files`);
  }
  const url = new URL(b.base_url);
  return {
    endpoints: [{ host: urlHost(url), port: urlPort(url) }],
    settings: {
      base_url: b.base_url, quote_asset: b.quote_asset, quote_currency: b.quote_currency,
      recv_window_ms: b.recv_window_ms, dry_run: b.dry_run,
    },
    secrets: { binance_api_key: apiKey, binance_secret_key: secretKey },
  };
}
