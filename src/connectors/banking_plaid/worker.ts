/**
 * The Plaid connector as it runs inside its microVM (transfers and payments are critical):
 * the `plaid` SDK from the image's node_modules, its requests carried by a BrokeredAgent over
 * connections the host's broker opens. Every money movement carries Plaid's idempotency key,
 * derived from the action's key (money.ts), so a retried or replayed request moves money
 * once. An account named without a configured id is found by subtype with a read
 * (/accounts/balance/get), which changes nothing, also in a dry run; a dry run then says what
 * it would move and sends nothing else. It logs nothing: credentials and amounts stay out.
 */
import { Configuration, PlaidApi, type AccountBase } from 'plaid';
import { GatewayError } from '../../errors.js';
import { brokeredAgent } from '../egress/agent.js';
import { bankingPlaidManifest } from '../manifests.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { findAccount, plaidError, type PlaidCredentials } from './api.js';
import type { PlaidConfig } from './config.js';
import { payment, plaidAmount, transfer, type Money } from './money.js';

const CURRENCY_WORDS: Readonly<Record<string, string>> = {
  USD: 'dollars', GBP: 'pounds', EUR: 'euros',
};

function record(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter(([, s]) => typeof s === 'string')) as
    Record<string, string>;
}

/** The settings plaidPlan (plan.ts) hands over, checked again here. */
function settingsOf(ctx: SandboxContext): PlaidConfig {
  const s = ctx.settings;
  if (typeof s.base_url !== 'string' || !/^https?:\/\//.test(s.base_url)
    || typeof s.client_id !== 'string' || s.client_id.length === 0) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'Banking is not set up; check connectors.banking_plaid (base_url, client_id)');
  }
  return { base_url: s.base_url, client_id: s.client_id, secret_file: '',
    access_token_file: '', accounts: record(s.accounts), payees: record(s.payees),
    legal_name: typeof s.legal_name === 'string' ? s.legal_name : '', dry_run: s.dry_run === true };
}

function credentialsOf(ctx: SandboxContext, config: PlaidConfig): PlaidCredentials {
  const secret = ctx.secrets.plaid_secret;
  const token = ctx.secrets.plaid_access_token;
  if (!secret || !token) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'Banking is not set up: set PLAID_SECRET and PLAID_ACCESS_TOKEN or their files');
  }
  return { client_id: config.client_id, secret, access_token: token };
}

/** The SDK with its requests going through the broker. */
function brokeredApi(ctx: SandboxContext, config: PlaidConfig): PlaidApi {
  const agent = brokeredAgent((h, p) => ctx.connect(h, p), config.base_url);
  return new PlaidApi(new Configuration({ basePath: config.base_url.replace(/\/+$/, ''),
    baseOptions: { httpAgent: agent, httpsAgent: agent, maxRedirects: 0 } }));
}

/** The account_id a spoken account name means: configured, or found by subtype (a read). */
async function accountIdOf(api: PlaidApi, creds: PlaidCredentials, spoken: string,
  config: PlaidConfig): Promise<string> {
  const configured = config.accounts[spoken];
  if (configured !== undefined) return configured;
  let accounts: AccountBase[];
  try {
    accounts = (await api.accountsBalanceGet(creds)).data.accounts;
  } catch (err) {
    throw plaidError(err, 'account lookup');
  }
  const found = Array.isArray(accounts) ? findAccount(accounts, spoken, config) : null;
  if (!found) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', `No ${spoken} account is linked; name it in `
      + 'connectors.banking_plaid.accounts');
  }
  return found.account_id;
}

function said(m: Money): string {
  return `${Number(plaidAmount(m)).toLocaleString('en-US', { minimumFractionDigits: 2 })} `
    + `${CURRENCY_WORDS[m.currency] ?? m.currency}`;
}

function keyOf(ctx: SandboxContext): string {
  if (!ctx.idempotencyKey) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'moving money needs an idempotency key');
  }
  return ctx.idempotencyKey;
}

async function run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
  const spec = bankingPlaidManifest.actions[action];
  const parsed = spec?.input.safeParse(input);
  if (!parsed?.success) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', `not a valid ${action} request`);
  }
  const config = settingsOf(ctx);
  const creds = credentialsOf(ctx, config);
  const key = keyOf(ctx);
  const api = brokeredApi(ctx, config);
  if (action === 'transfer') {
    const { account, amount } = parsed.data as { account: string; amount: Money };
    const accountId = await accountIdOf(api, creds, account, config);
    if (amount.currency !== 'USD') {
      throw new GatewayError('GW_ACTION_INPUT_INVALID', 'Plaid transfers are made in dollars');
    }
    if (config.dry_run) {
      return { speech: `Dry run: I would transfer ${said(amount)} to your ${account} account; `
        + 'nothing was sent.', data: { dryRun: true, accountId, amount: plaidAmount(amount) } };
    }
    const done = await transfer(config, creds, accountId, amount, key, api);
    return { speech: `I transferred ${said(amount)} to your ${account} account.`,
      data: { dryRun: false, transferId: done.transferId, status: done.status } };
  }
  const { payee, amount } = parsed.data as { payee: string; amount: Money };
  if (config.payees[payee] === undefined) {
    throw new GatewayError('GW_CONTACT_UNKNOWN', `${payee} has no payment consent set up`);
  }
  if (config.dry_run) {
    return { speech: `Dry run: I would pay ${said(amount)} to ${payee.replace(/_/g, ' ')}; `
      + 'nothing was sent.', data: { dryRun: true, amount: plaidAmount(amount) } };
  }
  const done = await payment(config, creds, payee, amount, key, api);
  return { speech: `I paid ${said(amount)} to ${payee.replace(/_/g, ' ')}.`,
    data: { dryRun: false, paymentId: done.paymentId, status: done.status } };
}

export const connector: SandboxedConnector = {
  name: 'banking_plaid',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    if (action !== 'transfer' && action !== 'payment') {
      throw new GatewayError('GW_CONNECTOR_UNAVAILABLE',
        `banking_plaid has no isolated action ${action}`);
    }
    return run(action, input, ctx);
  },
};
