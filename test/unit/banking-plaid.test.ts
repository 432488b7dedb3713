import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { plaidIdempotencyKey, type PlaidCredentials } from '../../src/connectors/banking_plaid/api.js';
import { balance } from '../../src/connectors/banking_plaid/balance.js';
import { plaidConfigSchema, type PlaidConfig } from '../../src/connectors/banking_plaid/config.js';
import { payment, transfer } from '../../src/connectors/banking_plaid/money.js';
import { PLAID_ACCOUNTS } from '../support/plaid-accounts.js';
import { PlaidServer } from '../support/plaid-server.js';

const CREDS: PlaidCredentials = { client_id: '5f1a9c0e7d2b4a0012ab34cd',
  secret: 'plaid-secret-0b77e1', access_token: 'access-sandbox-8ab976e6-64bc-4b38-98f7' };
let server: PlaidServer;
let config: PlaidConfig;

beforeAll(async () => {
  server = await PlaidServer.start({ clientId: CREDS.client_id, secret: CREDS.secret,
    accessToken: CREDS.access_token, accounts: PLAID_ACCOUNTS, consents: ['consent-landlord'] });
  config = plaidConfigSchema.parse({ base_url: server.baseUrl, client_id: CREDS.client_id,
    accounts: { joint: PLAID_ACCOUNTS[1].account_id }, payees: { landlord: 'consent-landlord' },
    legal_name: 'Anne Example' });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.created.length = 0;
  server.failNext = null;
});

describe('Plaid balance through the plaid SDK', () => {
  it('sends the documented request and says one account\'s balance', async () => {
    const r = await balance(config, CREDS, 'current');
    expect(r.speech).toBe('Your current account has 1,234.56 dollars available.');
    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req?.path).toBe('/accounts/balance/get');
    expect(req?.problems).toEqual([]);
    expect(req?.json).toEqual(CREDS);
  });

  it('asks for a configured account by id, and says every account when none is named',
    async () => {
      const joint = await balance(config, CREDS, 'joint');
      expect(joint.speech).toBe('Your joint account stands at 20,500.00 dollars.');
      expect(server.requests[0]?.json).toMatchObject({ options: {
        account_ids: [PLAID_ACCOUNTS[1].account_id] } });
      const all = await balance(config, CREDS, undefined);
      expect(all.speech).toBe('Your current account has 1,234.56 dollars available and your '
        + 'savings account stands at 20,500.00 dollars.');
    });

  it('turns Plaid\'s error objects into spoken errors without the secret', async () => {
    const wrong = { ...CREDS, secret: 'not-the-secret' };
    const e = await balance(config, wrong, 'current').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'GW_REMOTE_AUTH',
      message: 'Plaid did not accept the credentials: invalid client_id or secret provided' });
    expect(String((e as Error).message)).not.toContain('not-the-secret');
    server.failNext = { status: 400, body: { error_type: 'ITEM_ERROR',
      error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have '
        + 'changed', display_message: 'Your bank needs you to sign in again.' } };
    await expect(balance(config, CREDS, 'current')).rejects.toMatchObject({
      code: 'GW_REMOTE_AUTH', message: 'Plaid did not accept the credentials: Your bank needs '
        + 'you to sign in again' });
    server.failNext = { status: 429, body: { error_type: 'RATE_LIMIT_EXCEEDED',
      error_code: 'BALANCE_LIMIT', error_message: 'rate limit exceeded' } };
    await expect(balance(config, CREDS, 'current')).rejects.toMatchObject({
      code: 'GW_REMOTE_RATE_LIMITED' });
    server.failNext = { status: 500, body: { error_type: 'API_ERROR',
      error_code: 'INTERNAL_SERVER_ERROR', error_message: 'an unexpected error occurred' } };
    await expect(balance(config, CREDS, 'current')).rejects.toMatchObject({
      code: 'GW_REMOTE_UNAVAILABLE' });
    await expect(balance({ ...config, base_url: 'http://127.0.0.1:9' }, CREDS, 'current'))
      .rejects.toMatchObject({ code: 'GW_REMOTE_UNAVAILABLE' });
  });

  it('in dry-run mode sends nothing', async () => {
    const r = await balance({ ...config, dry_run: true }, CREDS, 'savings');
    expect(r.speech).toBe('Dry run: I would ask Plaid for the balance of your savings account.');
    expect(server.requests).toHaveLength(0);
  });
});

describe('Plaid money movements (request code for the critical tier)', () => {
  it('derives Plaid idempotency keys per action and operation, at most 50 characters', () => {
    const a = plaidIdempotencyKey('turn-9', 'transfer');
    expect(a.length).toBeLessThanOrEqual(50);
    expect(plaidIdempotencyKey('turn-9', 'transfer')).toBe(a);
    expect(plaidIdempotencyKey('turn-9', 'payment')).not.toBe(a);
    expect(plaidIdempotencyKey('turn-10', 'transfer')).not.toBe(a);
  });

  it('authorises and creates one transfer; a replay with the same key creates no second',
    async () => {
      const money = { amount: 250, currency: 'USD' } as const;
      const account = PLAID_ACCOUNTS[1].account_id;
      const first = await transfer(config, CREDS, account, money, 'turn-77');
      const again = await transfer(config, CREDS, account, money, 'turn-77');
      expect(again.transferId).toBe(first.transferId);
      expect(server.created).toHaveLength(1);
      expect(server.requests.map((r) => r.problems)).toEqual([[], [], [], []]);
      expect(server.requests[0]?.json).toMatchObject({ amount: '250.00', type: 'credit',
        network: 'ach', idempotency_key: plaidIdempotencyKey('turn-77',
          'transfer-authorization') });
      await transfer(config, CREDS, account, money, 'turn-78');
      expect(server.created).toHaveLength(2);
    });

  it('pays a payee once under its consent, and refuses an unknown payee', async () => {
    const money = { amount: 75.5, currency: 'GBP' } as const;
    const first = await payment(config, CREDS, 'landlord', money, 'turn-5');
    const again = await payment(config, CREDS, 'landlord', money, 'turn-5');
    expect(again.paymentId).toBe(first.paymentId);
    expect(server.created).toEqual([expect.objectContaining({ kind: 'payment', amount: '75.5' })]);
    expect(server.requests[0]?.problems).toEqual([]);
    await expect(payment(config, CREDS, 'bob', money, 'turn-6')).rejects.toMatchObject({
      code: 'GW_CONTACT_UNKNOWN' });
  });
});
