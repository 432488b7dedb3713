import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewaySay } from '../support/gateway-say.js';
import { PLAID_ACCOUNTS } from '../support/plaid-accounts.js';
import { PlaidServer } from '../support/plaid-server.js';

// A balance through the gateway (elevated tier, in process) with the plaid SDK pointed at a
// local server that checks Plaid's documented request shape; a transfer is read back and then
// refused, since it waits for the microVM tier.
const CLIENT_ID = '5f1a9c0e7d2b4a0012ab34cd';
const SECRET = 'plaid-e2e-secret-c41d';
const TOKEN = 'access-sandbox-e2e-3b7f0c2a';
let server: PlaidServer;
let dir: string;
let configFile: string;

beforeAll(async () => {
  server = await PlaidServer.start({ clientId: CLIENT_ID, secret: SECRET, accessToken: TOKEN,
    accounts: PLAID_ACCOUNTS });
  dir = await mkdtemp(path.join(tmpdir(), 'gw-plaid-'));
  await writeFile(path.join(dir, 'secret'), `${SECRET}\n`);
  await writeFile(path.join(dir, 'token'), `${TOKEN}\n`);
  configFile = path.join(dir, 'gateway.toml');
  await writeFile(configFile, ['[connectors.banking_plaid]', `base_url = "${server.baseUrl}"`,
    `client_id = "${CLIENT_ID}"`, `secret_file = "${path.join(dir, 'secret')}"`,
    `access_token_file = "${path.join(dir, 'token')}"`].join('\n'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});

describe('banking_plaid through the gateway', () => {
  it('says the savings balance from the elevated tier; secrets and figures stay out of the log',
    async () => {
      const { reports, log } = await gatewaySay(configFile, dir,
        ['what is the balance of my savings account']);
      expect(reports[0]).toMatchObject({ action: 'banking_plaid.balance', tier: 'elevated',
        outcome: 'succeeded' });
      expect(reports[0]?.reply?.text).toBe('Your savings account stands at 20,500.00 dollars.');
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.problems).toEqual([]);
      expect(server.requests[0]?.json).toEqual({ client_id: CLIENT_ID, secret: SECRET,
        access_token: TOKEN });
      for (const secret of [SECRET, TOKEN, '20,500', '20500']) expect(log).not.toContain(secret);
    });

  it('says Plaid\'s answer when the access token is refused', async () => {
    const { reports } = await gatewaySay(configFile, dir, ['what is my balance'],
      { PLAID_ACCESS_TOKEN: 'access-sandbox-revoked' });
    expect(reports[0]).toMatchObject({ outcome: 'failed', error: { code: 'GW_REMOTE_AUTH' } });
    expect(reports[0]?.reply?.text).toMatch(/^That did not work: plaid did not accept the /);
    expect(JSON.stringify(reports)).not.toContain('access-sandbox-revoked');
  });

  it('reads a transfer back, then refuses it as critical: nothing reaches Plaid', async () => {
    const { reports } = await gatewaySay(configFile, dir,
      ['transfer two hundred dollars to my savings account', 'confirm']);
    expect(reports[0]).toMatchObject({ action: 'banking_plaid.transfer', tier: 'critical',
      decision: 'confirmation_requested' });
    expect(reports[1]).toMatchObject({ tier: 'critical', outcome: 'refused',
      error: { code: 'GW_TIER_UNAVAILABLE' } });
    expect(server.requests).toHaveLength(0);
  });
});
