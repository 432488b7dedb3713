/**
 * What the car connector asks of Smartcar. Location is elevated and runs in the gateway
 * process. Lock and unlock (critical) and the cabin temperature (dangerous) are request code
 * here, tested against a local server; lock and unlock run in the microVM (worker.ts).
 * Smartcar has no idempotency key: lock and unlock set a state, so repeating one is harmless,
 * and the gateway's own key keeps a confirmation from being acted on twice.
 */
import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { SmartcarConfig } from './config.js';
import { smartcarError, vehicleAt, withOrigin, type SmartcarVehicle } from './sdk.js';

export const TOKEN_ENV = 'SMARTCAR_ACCESS_TOKEN';

/** The configured vehicle with its token read now; GW_CONNECTOR_CONFIG when not set up. */
export function configuredVehicle(config: SmartcarConfig, baseDir: string): SmartcarVehicle {
  if (!config.vehicle_id) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'The car is not set up: connectors.smart_car_fleet.vehicle_id is empty');
  }
  const token = readSecret(TOKEN_ENV, config.access_token_file, baseDir);
  if (!token) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', `The car is not set up: set ${TOKEN_ENV} or `
      + 'connectors.smart_car_fleet.access_token_file');
  }
  return vehicleAt(config.api_origin, config.vehicle_id, token, config.unit_system);
}

export interface Position {
  readonly latitude: number;
  readonly longitude: number;
}

export async function location(vehicle: SmartcarVehicle): Promise<Position> {
  let r;
  try {
    r = await vehicle.location();
  } catch (err) {
    throw smartcarError(err, 'location request');
  }
  if (!Number.isFinite(r.latitude) || !Number.isFinite(r.longitude)
    || Math.abs(r.latitude) > 90 || Math.abs(r.longitude) > 180) {
    throw new GatewayError('GW_REMOTE_UNAVAILABLE', 'Smartcar sent a location I could not read');
  }
  return { latitude: r.latitude, longitude: r.longitude };
}

/** POST /vehicles/{id}/security with LOCK or UNLOCK, through the SDK's own methods. */
export async function setLocked(vehicle: SmartcarVehicle, locked: boolean): Promise<string> {
  try {
    const r = locked ? await vehicle.lock() : await vehicle.unlock();
    return r.status;
  } catch (err) {
    throw smartcarError(err, locked ? 'lock' : 'unlock');
  }
}

/** The make-specific cabin climate endpoint: POST /vehicles/{id}/{make}/climate/cabin. */
export async function setCabinTemperature(vehicle: SmartcarVehicle,
  config: Pick<SmartcarConfig, 'make' | 'api_origin'>,
  celsius: number): Promise<string> {
  if (!config.make) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'The car\'s make is not set: cabin climate '
      + 'needs connectors.smart_car_fleet.make');
  }
  try {
    const pending = withOrigin(config.api_origin, () => vehicle.request('post',
      `${config.make}/climate/cabin`, { action: 'SET', temperature: celsius }));
    const r = await pending;
    return typeof r.body.status === 'string' ? r.body.status : 'unknown';
  } catch (err) {
    throw smartcarError(err, 'temperature change');
  }
}

const EARTH_RADIUS_M = 6_371_000;

/** Great-circle distance in metres (haversine). */
export function distanceM(a: Position, b: Position): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2
    + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** "The car is at home." or "The car is at latitude 51.50070, longitude -0.12460." */
export function describeLocation(p: Position, config: SmartcarConfig): string {
  let best: { name: string; d: number } | null = null;
  for (const [name, place] of Object.entries(config.places)) {
    const d = distanceM(p, place);
    if (d <= place.radius_m && (best === null || d < best.d)) best = { name, d };
  }
  if (best) return `The car is at ${best.name}.`;
  return `The car is at latitude ${p.latitude.toFixed(5)}, longitude ${p.longitude.toFixed(5)}.`;
}
