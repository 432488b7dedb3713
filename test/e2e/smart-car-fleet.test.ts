import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeys } from '../../src/keys/keys.js';
import { gatewaySay } from '../support/gateway-say.js';
import { SmartcarServer } from '../support/smartcar-server.js';

// The car's location through the gateway (elevated tier, in process) with the smartcar SDK
// pointed at a local server; unlocking is read back and refused here (critical, with the
// microVM tier off: test/e2e/critical-car-plaid.test.ts runs it in a microVM), and the cabin
// temperature (dangerous) is set from the sandbox, never in process.
const TOKEN = 'sc-e2e-token-a90c';
const VEHICLE = '36ab27d0-fd9d-4455-823a-ce30af709ffc';
let server: SmartcarServer;
let dir: string;
let configFile: string;

beforeAll(async () => {
  server = await SmartcarServer.start({ token: TOKEN, vehicleId: VEHICLE, make: 'tesla',
    position: { latitude: 51.50135, longitude: -0.14189 } });
  dir = await mkdtemp(path.join(tmpdir(), 'gw-car-'));
  await writeFile(path.join(dir, 'token'), `${TOKEN}\n`);
  configFile = path.join(dir, 'gateway.toml');
  // World-changing actions run only with a signed audit trail.
  generateKeys(path.join(dir, 'keys'), { purposes: ['audit'] });
  await writeFile(configFile, [`keys_dir = "${path.join(dir, 'keys')}"`,
    `state_path = "${path.join(dir, 'state.db')}"`, `audit_path = "${path.join(dir, 'a.jsonl')}"`,
    '[connectors.smart_car_fleet]', `api_origin = "${server.origin}"`,
    `vehicle_id = "${VEHICLE}"`, 'make = "tesla"', `access_token_file = "${path.join(dir,
      'token')}"`, '[connectors.smart_car_fleet.places.home]', 'latitude = 51.5014',
    'longitude = -0.1419'].join('\n'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});

describe('smart_car_fleet through the gateway', () => {
  it('says where the car is from the elevated tier; the place stays out of the log',
    async () => {
      const { reports, log } = await gatewaySay(configFile, dir, ['where is my car']);
      expect(reports[0]).toMatchObject({ action: 'smart_car_fleet.location', tier: 'elevated',
        outcome: 'succeeded' });
      expect(reports[0]?.reply?.text).toBe('The car is at home.');
      expect(server.requests.map((r) => `${r.method} ${r.path}`))
        .toEqual([`GET /v2.0/vehicles/${VEHICLE}/location`]);
      expect(log).not.toContain(TOKEN);
      expect(log).not.toMatch(/51\.50|0\.141|at home/);
    });

  it('reads "unlock the car" back, then refuses it as critical: nothing reaches the car',
    async () => {
      const { reports } = await gatewaySay(configFile, dir, ['unlock the car', 'confirm']);
      expect(reports[0]).toMatchObject({ action: 'smart_car_fleet.unlock', tier: 'critical',
        decision: 'confirmation_requested' });
      expect(reports[1]).toMatchObject({ outcome: 'refused',
        error: { code: 'GW_TIER_UNAVAILABLE' } });
      expect(server.requests).toHaveLength(0);
    });

  it('sets the cabin temperature from the sandbox (dangerous), once, after "confirm"',
    async () => {
      const { reports, log } = await gatewaySay(configFile, dir,
        ['set the car temperature to twenty one degrees', 'confirm', 'confirm']);
      expect(reports[0]).toMatchObject({ tier: 'dangerous', decision: 'confirmation_requested' });
      expect(reports[1], log).toMatchObject({ tier: 'dangerous', outcome: 'succeeded',
        reply: { text: 'The car is set to 21 degrees.' },
        isolation: { layers: ['namespaces', 'landlock', 'seccomp', 'rlimits', 'broker'] } });
      expect(reports[2]?.outcome).toBeNull(); // nothing pending: nothing sent again
      expect(server.requests.map((r) => `${r.method} ${r.path}`))
        .toEqual([`POST /v2.0/vehicles/${VEHICLE}/tesla/climate/cabin`]);
      expect(server.cabinCelsius).toBe(21);
      expect(log).not.toContain(TOKEN);
    });
});
