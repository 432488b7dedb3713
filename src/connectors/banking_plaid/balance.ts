import type { AccountBase } from 'plaid';
import { GatewayError } from '../../errors.js';
import type { ActionResult } from '../types.js';
import { findAccount, plaidApi, plaidError, type PlaidCredentials } from './api.js';
import type { PlaidConfig } from './config.js';

const CURRENCY_WORDS: Readonly<Record<string, string>> = {
  USD: 'dollars', GBP: 'pounds', EUR: 'euros', CAD: 'Canadian dollars',
};

function amount(value: number, currency: string | null | undefined): string {
  const n = value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${n} ${currency ? CURRENCY_WORDS[currency] ?? currency : ''}`.trim();
}

/** "your savings account (ending 1111) has 1,234.56 dollars available" */
function describeAccount(a: AccountBase, spoken: string | null): string {
  const name = spoken ?? (a.subtype === 'checking' ? 'current' : a.subtype ?? a.name);
  const b = a.balances;
  const currency = b.iso_currency_code ?? b.unofficial_currency_code;
  if (typeof b.available === 'number') {
    return `your ${name} account has ${amount(b.available, currency)} available`;
  }
  if (typeof b.current === 'number') {
    return `your ${name} account stands at ${amount(b.current, currency)}`;
  }
  return `your ${name} account has no balance to report`;
}

function sentence(parts: readonly string[]): string {
  const joined = parts.length <= 1 ? parts[0] ?? ''
    : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
  return `${joined.charAt(0).toUpperCase()}${joined.slice(1)}.`;
}

/**
 * The balance of one named account, or of every account of the Item, through
 * /accounts/balance/get (which asks the bank for fresh figures).
 */
export async function balance(
  config: PlaidConfig,
  creds: PlaidCredentials,
  spoken: string | undefined,
): Promise<ActionResult> {
  const knownId = spoken === undefined ? undefined : config.accounts[spoken];
  const request = { ...creds, ...(knownId ? { options: { account_ids: [knownId] } } : {}) };
  if (config.dry_run) {
    const which = spoken ? `your ${spoken} account` : 'your accounts';
    return { speech: `Dry run: I would ask Plaid for the balance of ${which}.`,
      data: { dryRun: true, path: '/accounts/balance/get', accountIds: knownId ? [knownId] : [] } };
  }
  let accounts: AccountBase[];
  try {
    accounts = (await plaidApi(config).accountsBalanceGet(request)).data.accounts;
  } catch (err) {
    throw plaidError(err, 'balance request');
  }
  if (!Array.isArray(accounts)) {
    throw new GatewayError('GW_REMOTE_UNAVAILABLE', 'Plaid sent balances I could not read');
  }
  if (spoken !== undefined) {
    const account = findAccount(accounts, spoken, config);
    if (!account) {
      throw new GatewayError('GW_CONNECTOR_CONFIG', `No ${spoken} account is linked; name it in `
        + 'connectors.banking_plaid.accounts');
    }
    return { speech: sentence([describeAccount(account, spoken)]),
      data: { accounts: [account.balances] } };
  }
  if (accounts.length === 0) return { speech: 'No account is linked.', data: { accounts: [] } };
  return { speech: sentence(accounts.map((a) => describeAccount(a, null))),
    data: { accounts: accounts.map((a) => a.balances) } };
}
