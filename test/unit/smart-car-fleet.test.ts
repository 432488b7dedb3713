import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  configuredVehicle, describeLocation, distanceM, location, setCabinTemperature, setLocked,
} from '../../src/connectors/smart_car_fleet/actions.js';
import { smartcarConfigSchema, type SmartcarConfig } from '../../src/connectors/smart_car_fleet/config.js';
import { smartcarError, SmartcarServer } from '../support/smartcar-server.js';

const TOKEN = 'sc-access-token-4e1f';
const VEHICLE = '36ab27d0-fd9d-4455-823a-ce30af709ffc';
const POSITION = { latitude: 51.50135, longitude: -0.14189 };
let server: SmartcarServer;
let config: SmartcarConfig;

beforeAll(async () => {
  server = await SmartcarServer.start({ token: TOKEN, vehicleId: VEHICLE, make: 'tesla',
    position: POSITION });
  config = smartcarConfigSchema.parse({ api_origin: server.origin, vehicle_id: VEHICLE,
    make: 'tesla', places: { home: { latitude: 51.5014, longitude: -0.1419 } } });
  process.env.SMARTCAR_ACCESS_TOKEN = TOKEN;
});
afterAll(async () => {
  delete process.env.SMARTCAR_ACCESS_TOKEN;
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  server.failNext = null;
});

describe('smartcar SDK pointed at a local server', () => {
  it('reads the location with the bearer token, and leaves the environment as it was',
    async () => {
      const before = process.env.SMARTCAR_API_ORIGIN;
      const p = await location(configuredVehicle(config, '.'));
      expect(p).toEqual(POSITION);
      expect(process.env.SMARTCAR_API_ORIGIN).toBe(before);
      const [req] = server.requests;
      expect(req).toMatchObject({ method: 'GET', path: `/v2.0/vehicles/${VEHICLE}/location` });
      expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(req?.headers['sc-unit-system']).toBe('metric');
    });

  it('says a named place when the car is near it, coordinates otherwise', () => {
    expect(distanceM(POSITION, { latitude: 51.5014, longitude: -0.1419 })).toBeLessThan(10);
    expect(describeLocation(POSITION, config)).toBe('The car is at home.');
    expect(describeLocation({ latitude: 48.85837, longitude: 2.29448 }, config))
      .toBe('The car is at latitude 48.85837, longitude 2.29448.');
  });

  it('locks and unlocks through the SDK (request code for the critical tier)', async () => {
    const vehicle = configuredVehicle(config, '.');
    expect(await setLocked(vehicle, true)).toBe('success');
    expect(server.locked).toBe(true);
    expect(await setLocked(vehicle, false)).toBe('success');
    expect(server.locked).toBe(false);
    expect(server.requests.map((r) => [r.method, r.path, r.json])).toEqual([
      ['POST', `/v2.0/vehicles/${VEHICLE}/security`, { action: 'LOCK' }],
      ['POST', `/v2.0/vehicles/${VEHICLE}/security`, { action: 'UNLOCK' }],
    ]);
  });

  it('sets the cabin temperature on the make\'s endpoint (request code)', async () => {
    expect(await setCabinTemperature(configuredVehicle(config, '.'), config, 21)).toBe('success');
    expect(server.cabinCelsius).toBe(21);
    await expect(setCabinTemperature(configuredVehicle(config, '.'), { ...config, make: '' }, 21))
      .rejects.toMatchObject({ code: 'GW_CONNECTOR_CONFIG' });
  });

  it('turns Smartcar errors into spoken errors without the token', async () => {
    process.env.SMARTCAR_ACCESS_TOKEN = 'expired-token-77';
    try {
      const e = await location(configuredVehicle(config, '.')).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'GW_REMOTE_AUTH', message: 'Smartcar did not accept the '
        + 'access token: Please sign in to your car\'s account again' });
      expect(String((e as Error).message)).not.toContain('expired-token-77');
    } finally {
      process.env.SMARTCAR_ACCESS_TOKEN = TOKEN;
    }
    server.failNext = { status: 409, body: smartcarError(409, 'VEHICLE_STATE', 'ASLEEP',
      'The vehicle is in a sleep state.', 'Your car is asleep. Wake it up and try again.') };
    await expect(setLocked(configuredVehicle(config, '.'), true)).rejects.toMatchObject({
      code: 'GW_REMOTE_REJECTED',
      message: 'The car could not do the lock: Your car is asleep. Wake it up and try again' });
    server.failNext = { status: 429, body: smartcarError(429, 'RATE_LIMIT', 'VEHICLE',
      'Too many requests.', 'Try again later.') };
    await expect(location(configuredVehicle(config, '.'))).rejects.toMatchObject({
      code: 'GW_REMOTE_RATE_LIMITED' });
    const down = { ...config, api_origin: 'http://127.0.0.1:9' };
    await expect(location(configuredVehicle(down, '.'))).rejects.toMatchObject({
      code: 'GW_REMOTE_UNAVAILABLE' });
  });

  it('is not set up without a vehicle id or a token', () => {
    expect(() => configuredVehicle({ ...config, vehicle_id: '' }, '.')).toThrow(
      expect.objectContaining({ code: 'GW_CONNECTOR_CONFIG' }));
    delete process.env.SMARTCAR_ACCESS_TOKEN;
    try {
      expect(() => configuredVehicle(config, '.')).toThrow(
        expect.objectContaining({ code: 'GW_CONNECTOR_CONFIG' }));
    } finally {
      process.env.SMARTCAR_ACCESS_TOKEN = TOKEN;
    }
  });
});
