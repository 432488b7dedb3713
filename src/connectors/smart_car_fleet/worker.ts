/**
 * The car connector as it runs isolated: lock and unlock (critical) in a microVM, the cabin
 * temperature (dangerous) in the sandbox. The `smartcar` SDK (in the image's node_modules, or
 * the project's for the sandbox) calls the global fetch with no transport option, so the call
 * runs with the brokered fetch in its place.
 *
 * Smartcar's API has no idempotency key. At most once is the gateway's own guarantee: the
 * action's key is recorded (state database and audit trail) before the VM gets the request,
 * a repeated "confirm" or a replayed HTTP request gets the recorded answer, and an action
 * whose VM died is recorded indeterminate and never sent again. Lock and unlock set a state,
 * so even a repeat would not unlock twice. It logs nothing (token, vehicle, status).
 */
import { GatewayError } from '../../errors.js';
import { withBrokeredFetch } from '../egress/fetch.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { setCabinTemperature, setLocked } from './actions.js';
import { vehicleAt } from './sdk.js';

interface Settings {
  readonly origin: string;
  readonly vehicleId: string;
  readonly unitSystem: string;
  readonly make: string;
  readonly dryRun: boolean;
}

/** The settings smartcarPlan (plan.ts) hands over, checked again here. */
function settingsOf(ctx: SandboxContext): Settings {
  const s = ctx.settings;
  if (typeof s.api_origin !== 'string' || !/^https?:\/\//.test(s.api_origin)
    || typeof s.vehicle_id !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(s.vehicle_id)) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'The car is not set up; check connectors.smart_car_fleet (api_origin, vehicle_id)');
  }
  return { origin: s.api_origin, vehicleId: s.vehicle_id,
    unitSystem: s.unit_system === 'imperial' ? 'imperial' : 'metric',
    make: typeof s.make === 'string' && /^[a-z0-9-]{0,32}$/.test(s.make) ? s.make : '',
    dryRun: s.dry_run === true };
}

function tokenOf(ctx: SandboxContext): string {
  const token = ctx.secrets.smartcar_access_token;
  if (!token) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'The car is not set up: set '
      + 'SMARTCAR_ACCESS_TOKEN or connectors.smart_car_fleet.access_token_file');
  }
  return token;
}

async function setTemperature(input: unknown, ctx: SandboxContext): Promise<ActionResult> {
  const celsius = (input as { temperature?: unknown } | null)?.temperature;
  if (typeof celsius !== 'number' || !Number.isInteger(celsius) || celsius < 16 || celsius > 28) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'a temperature of 16 to 28 degrees');
  }
  const s = settingsOf(ctx);
  const token = tokenOf(ctx);
  if (s.dryRun) {
    return { speech: `Dry run: I would set the car to ${celsius} degrees; nothing was sent.`,
      data: { dryRun: true, temperature: celsius } };
  }
  const status = await withBrokeredFetch((h, p) => ctx.connect(h, p),
    () => setCabinTemperature(vehicleAt(s.origin, s.vehicleId, token, s.unitSystem),
      { make: s.make, api_origin: s.origin }, celsius));
  return { speech: `The car is set to ${celsius} degrees.`, data: { dryRun: false, status } };
}

async function lockOrUnlock(locked: boolean, ctx: SandboxContext): Promise<ActionResult> {
  const s = settingsOf(ctx);
  const token = tokenOf(ctx);
  const verb = locked ? 'lock' : 'unlock';
  if (s.dryRun) {
    return { speech: `Dry run: I would ${verb} the car; nothing was sent.`,
      data: { dryRun: true, path: `/v2.0/vehicles/${s.vehicleId}/security`,
        action: locked ? 'LOCK' : 'UNLOCK' } };
  }
  const status = await withBrokeredFetch((h, p) => ctx.connect(h, p),
    () => setLocked(vehicleAt(s.origin, s.vehicleId, token, s.unitSystem), locked));
  return { speech: `The car is ${locked ? 'locked' : 'unlocked'}.`,
    data: { dryRun: false, status } };
}

export const connector: SandboxedConnector = {
  name: 'smart_car_fleet',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    if (action === 'set_temperature') return setTemperature(input, ctx);
    if (action !== 'lock' && action !== 'unlock') {
      throw new GatewayError('GW_CONNECTOR_UNAVAILABLE',
        `smart_car_fleet has no isolated action ${action}`);
    }
    if (typeof input !== 'object' || input === null || Object.keys(input).length > 0) {
      throw new GatewayError('GW_ACTION_INPUT_INVALID', `${action} takes no slots`);
    }
    return lockOrUnlock(action === 'lock', ctx);
  },
};
