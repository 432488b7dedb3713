/**
 * "Unlock the car", "confirm" and a Plaid transfer, each run in a real microVM (QEMU) from
 * the signed image against the local Smartcar and Plaid stand-ins, exactly once; the turn
 * report names the critical tier and the microVM. `gateway say --dry-run` runs the unlock in
 * its tier too and sends nothing. A gateway killed mid-unlock or mid-transfer never acts
 * twice. Boots: five.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAID_ACCOUNTS } from '../support/plaid-accounts.js';
import { PlaidServer } from '../support/plaid-server.js';
import { SmartcarServer } from '../support/smartcar-server.js';
import { HoldingRelay } from '../support/holding-relay.js';
import {
  Serve, auditRecords, criticalProject, say, writeConfig, type CriticalProject,
} from './critical-support.js';

const CAR_TOKEN = 'sc-critical-token-1b2c';
const VEHICLE = '36ab27d0-fd9d-4455-823a-ce30af709ffc';
const CLIENT_ID = '5f1a9c0e7d2b4a0012ab34cd';
const PLAID_SECRET = 'plaid-critical-secret-77aa';
const PLAID_TOKEN = 'access-sandbox-critical-0c1d';
let project: CriticalProject;
let car: SmartcarServer;
let plaid: PlaidServer;

beforeAll(async () => {
  project = await criticalProject('car-plaid');
  car = await SmartcarServer.start({ token: CAR_TOKEN, vehicleId: VEHICLE, make: 'tesla',
    position: { latitude: 51.5, longitude: -0.14 } });
  plaid = await PlaidServer.start({ clientId: CLIENT_ID, secret: PLAID_SECRET,
    accessToken: PLAID_TOKEN, accounts: PLAID_ACCOUNTS });
  writeFileSync(path.join(project.work, 'car-token'), `${CAR_TOKEN}\n`);
}, 900_000);
afterAll(async () => {
  await car?.close();
  await plaid?.close();
  project?.cleanup();
});

function carConfig(name: string, origin = car.origin): string {
  return writeConfig(project, name, ['[connectors.smart_car_fleet]',
    `api_origin = "${origin}"`, `vehicle_id = "${VEHICLE}"`,
    `access_token_file = "${path.join(project.work, 'car-token')}"`]);
}

describe('car and bank in the critical tier', () => {
  it('unlocks the car once from a microVM', async () => {
    car.locked = true;
    const { reports, log } = await say(project, carConfig('car'), ['unlock the car', 'confirm',
      'confirm']);
    expect(reports[0]).toMatchObject({ action: 'smart_car_fleet.unlock', tier: 'critical',
      decision: 'confirmation_requested' });
    expect(reports[1], log).toMatchObject({ tier: 'critical', decision: 'executed',
      outcome: 'succeeded', reply: { text: 'The car is unlocked.' } });
    expect(reports[1]?.microvm?.backend).toMatch(/^QEMU/);
    expect(reports[2]?.decision).not.toBe('executed');
    expect(car.locked).toBe(false);
    expect(car.requests.filter((r) => r.path.endsWith('/security'))).toHaveLength(1);
    expect(log).not.toContain(CAR_TOKEN);
  }, 900_000);

  it('a gateway killed mid-unlock is recorded indeterminate after restart, never re-sent',
    async () => {
      car.locked = true;
      const relay = new HoldingRelay(Number(new URL(car.origin).port),
        (request) => request.startsWith('POST ') && request.includes('/security'));
      const port = await relay.listen();
      const config = carConfig('car-kill', `http://127.0.0.1:${port}`);
      const unlocks = (): number =>
        car.requests.filter((r) => r.path.endsWith('/security')).length;
      const before = unlocks();
      const serve = new Serve(project, config);
      await serve.start();
      try {
        const auth = { Authorization: `Bearer ${serve.token('alice')}` };
        const asked = await serve.post('/api/v1/orchestrate', { task: 'unlock the car' }, auth);
        const id = (asked.body.confirmation as { id: string }).id;
        const yes = { ...auth, 'Idempotency-Key': 'unlock-confirm-kill' };
        const pending = serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' }, yes)
          .catch(() => null);
        await relay.seen; // the unlock reached the car; its answer is held back
        await serve.kill();
        expect(await pending).toBeNull();
        expect(unlocks()).toBe(before + 1);
        await serve.start();
        const retried = await serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' },
          { Authorization: `Bearer ${serve.token('alice')}`,
            'Idempotency-Key': 'unlock-confirm-kill' });
        expect(retried.status).toBe(409);
        expect(auditRecords(project, 'car-kill').map((r) => `${r.kind}:${r.outcome ?? ''}`))
          .toEqual(['accepted:', 'recovered:indeterminate']);
        // A new request for the same confirmation, without the key, finds nothing to confirm.
        const again = await serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' },
          { Authorization: `Bearer ${serve.token('alice')}` });
        expect(again.status).toBeGreaterThanOrEqual(400);
        expect(unlocks()).toBe(before + 1);
      } finally {
        await serve.stop();
        await relay.close();
      }
    }, 900_000);

  it('gateway say --dry-run says what it would do from the microVM and sends nothing',
    async () => {
      const before = car.requests.length;
      const { reports, log } = await say(project, carConfig('car-dry'),
        ['lock the car', 'confirm'], {}, ['--dry-run']);
      expect(reports[1], log).toMatchObject({ tier: 'critical', outcome: 'succeeded',
        reply: { text: 'Dry run: I would lock the car; nothing was sent.' } });
      expect(reports[1]?.microvm?.backend).toMatch(/^QEMU/);
      expect(car.requests).toHaveLength(before);
    }, 900_000);

  it('transfers money once from a microVM, with Plaid idempotency keys', async () => {
    const config = writeConfig(project, 'plaid', ['[connectors.banking_plaid]',
      `base_url = "${plaid.baseUrl}"`, `client_id = "${CLIENT_ID}"`]);
    const env = { PLAID_SECRET, PLAID_ACCESS_TOKEN: PLAID_TOKEN };
    const { reports, log } = await say(project, config,
      ['transfer two hundred and fifty dollars to my savings account', 'confirm'], env);
    expect(reports[0]).toMatchObject({ action: 'banking_plaid.transfer', tier: 'critical',
      decision: 'confirmation_requested' });
    expect(reports[1], log).toMatchObject({ tier: 'critical', outcome: 'succeeded',
      reply: { text: 'I transferred 250.00 dollars to your savings account.' } });
    expect(reports[1]?.microvm?.backend).toMatch(/^QEMU/);
    expect(plaid.created.map((c) => c.kind)).toEqual(['transfer']);
    const auth = plaid.requests.filter((r) => r.path === '/transfer/authorization/create');
    expect(auth.map((r) => (r.json as { amount: string }).amount)).toEqual(['250.00']);
    expect(log).not.toContain(PLAID_SECRET);
    expect(log).not.toContain(PLAID_TOKEN);
    expect(auditRecords(project, 'plaid').map((r) => `${r.kind}:${r.outcome ?? ''}`))
      .toEqual(['accepted:', 'outcome:succeeded']);
  }, 900_000);

  it('a gateway killed mid-transfer is recorded indeterminate after restart, never re-sent',
    async () => {
      const relay = new HoldingRelay(Number(new URL(plaid.baseUrl).port),
        (request) => request.startsWith('POST /transfer/create'));
      const port = await relay.listen();
      const config = writeConfig(project, 'plaid-kill', ['[connectors.banking_plaid]',
        `base_url = "http://127.0.0.1:${port}"`, `client_id = "${CLIENT_ID}"`]);
      const before = plaid.created.length;
      const serve = new Serve(project, config, { PLAID_SECRET, PLAID_ACCESS_TOKEN: PLAID_TOKEN });
      await serve.start();
      try {
        const auth = { Authorization: `Bearer ${serve.token('alice')}` };
        const asked = await serve.post('/api/v1/orchestrate',
          { task: 'transfer two hundred and fifty dollars to my savings account' }, auth);
        const id = (asked.body.confirmation as { id: string }).id;
        const yes = { ...auth, 'Idempotency-Key': 'transfer-confirm-kill' };
        const pending = serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' }, yes)
          .catch(() => null);
        await relay.seen; // the transfer reached the bank; its answer is held back
        await serve.kill();
        expect(await pending).toBeNull();
        expect(plaid.created).toHaveLength(before + 1);
        await serve.start();
        const retried = await serve.post(`/api/v1/confirmations/${id}`, { decision: 'confirm' },
          { Authorization: `Bearer ${serve.token('alice')}`,
            'Idempotency-Key': 'transfer-confirm-kill' });
        expect(retried.status).toBe(409);
        expect(auditRecords(project, 'plaid-kill').map((r) => `${r.kind}:${r.outcome ?? ''}`))
          .toEqual(['accepted:', 'recovered:indeterminate']);
        expect(plaid.created).toHaveLength(before + 1);
      } finally {
        await serve.stop();
        await relay.close();
      }
    }, 900_000);
});
