import { GatewayError } from '../../errors.js';
import { bankingPlaidManifest } from '../manifests.js';
import type { ActionContext, Connector } from '../types.js';
import { plaidCredentials } from './api.js';
import { balance } from './balance.js';
import type { PlaidConfig } from './config.js';

/**
 * The Plaid connector in process: balances only (elevated). Payments and transfers are
 * critical and run only in the microVM tier; should one reach this code, it is refused.
 */
export function createPlaidConnector(config: PlaidConfig, baseDir: string): Connector {
  return {
    manifest: bankingPlaidManifest,
    async run(action: string, input: unknown, _ctx: ActionContext) {
      if (action !== 'balance') {
        throw new GatewayError('GW_TIER_UNAVAILABLE',
          `banking_plaid.${action} runs only in its own tier, never in the gateway process`);
      }
      const { account } = input as { account?: string };
      return balance(config, plaidCredentials(config, baseDir), account);
    },
  };
}
