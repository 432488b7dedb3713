/**
 * The `smartcar` SDK (CommonJS, no type declarations) behind the small typed surface this
 * connector uses. The SDK takes its API origin only from the environment variable
 * SMARTCAR_API_ORIGIN, read synchronously when a Vehicle is built and when `request` starts;
 * `withOrigin` sets it for exactly that synchronous span, so a configured origin (a test
 * server) applies to this vehicle only and the process environment is left as it was.
 */
import { createRequire } from 'node:module';
import { GatewayError } from '../../errors.js';

export interface SmartcarMeta {
  readonly requestId?: string;
  readonly dataAge?: Date;
}

export interface SmartcarVehicle {
  location(): Promise<{ latitude: number; longitude: number; meta: SmartcarMeta }>;
  lock(): Promise<{ status: string; message: string; meta: SmartcarMeta }>;
  unlock(): Promise<{ status: string; message: string; meta: SmartcarMeta }>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>):
  Promise<{ body: Record<string, unknown>; meta: SmartcarMeta }>;
}

interface SmartcarModule {
  Vehicle: new (id: string, token: string, options: { unitSystem: string }) => SmartcarVehicle;
}

/** The fields of the SDK's SmartcarError this connector reads. */
interface SmartcarErrorShape {
  statusCode?: unknown; type?: unknown; code?: unknown; description?: unknown;
  suggestedUserMessage?: unknown;
}

const sdk = createRequire(import.meta.url)('smartcar') as SmartcarModule;
const ORIGIN_ENV = 'SMARTCAR_API_ORIGIN';

export function withOrigin<T>(origin: string, fn: () => T): T {
  const saved = process.env[ORIGIN_ENV];
  process.env[ORIGIN_ENV] = origin.replace(/\/+$/, '');
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[ORIGIN_ENV];
    else process.env[ORIGIN_ENV] = saved;
  }
}

export function vehicleAt(origin: string, id: string, token: string, unitSystem: string):
SmartcarVehicle {
  return withOrigin(origin, () => new sdk.Vehicle(id, token, { unitSystem }));
}

/**
 * Smartcar's error as a spoken, secret-free GatewayError: the message meant for the driver
 * when Smartcar gives one, its description otherwise.
 */
export function smartcarError(err: unknown, what: string): GatewayError {
  const e = (err ?? {}) as SmartcarErrorShape;
  if (typeof e.statusCode !== 'number') {
    return new GatewayError('GW_REMOTE_UNAVAILABLE',
      `Smartcar could not be reached for the ${what}`, { cause: err });
  }
  const said = [e.suggestedUserMessage, e.description]
    .find((m): m is string => typeof m === 'string' && m.length > 0)?.slice(0, 200) ?? '';
  const detail = said ? `: ${said.replace(/[.\s]+$/, '')}` : '';
  if (e.statusCode === 401 || e.type === 'AUTHENTICATION') {
    return new GatewayError('GW_REMOTE_AUTH', `Smartcar did not accept the access token${detail}`);
  }
  if (e.statusCode === 429 || e.type === 'RATE_LIMIT') {
    return new GatewayError('GW_REMOTE_RATE_LIMITED', 'Smartcar asks to slow down; try later');
  }
  if (e.statusCode >= 400 && e.statusCode < 500) {
    return new GatewayError('GW_REMOTE_REJECTED', `The car could not do the ${what}${detail}`);
  }
  return new GatewayError('GW_REMOTE_UNAVAILABLE', `Smartcar failed to answer the ${what}`
    + ` (HTTP ${e.statusCode})`);
}
