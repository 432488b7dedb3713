/**
 * From configuration to one microVM call of the Plaid worker (transfers and payments,
 * critical): the API origin the broker may open, the settings (client id, account and payee
 * names, legal name), and the secret and access token, read per call on the host.
 */
import type { GatewayConfig } from '../../config/load.js';
import { urlHost, urlPort } from '../messaging/http.js';
import type { SandboxPlan } from '../types.js';
import { plaidCredentials } from './api.js';

export function plaidPlan(config: GatewayConfig, baseDir: string): SandboxPlan {
  const p = config.connectors.banking_plaid;
  // GW_CONNECTOR_CONFIG naming what is missing: nothing starts for a call that cannot work.
  const creds = plaidCredentials(p, baseDir);
  const url = new URL(p.base_url);
  return {
    endpoints: [{ host: urlHost(url), port: urlPort(url) }],
    settings: {
      base_url: p.base_url, client_id: p.client_id, accounts: { ...p.accounts },
      payees: { ...p.payees }, legal_name: p.legal_name, dry_run: p.dry_run,
    },
    secrets: { plaid_secret: creds.secret, plaid_access_token: creds.access_token },
  };
}
