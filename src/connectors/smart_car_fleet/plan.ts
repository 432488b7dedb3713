/**
 * From configuration to one isolated call of the car worker (lock and unlock in a microVM,
 * the cabin temperature in the sandbox): the Smartcar API origin the broker may open, the
 * vehicle, its make, and the access token read per call.
 */
import type { GatewayConfig } from '../../config/load.js';
import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { urlHost, urlPort } from '../messaging/http.js';
import type { SandboxPlan } from '../types.js';
import { TOKEN_ENV } from './actions.js';

export function smartcarPlan(config: GatewayConfig, baseDir: string): SandboxPlan {
  const c = config.connectors.smart_car_fleet;
  if (!c.vehicle_id) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'The car is not set up: connectors.smart_car_fleet.vehicle_id is empty');
  }
  const token = readSecret(TOKEN_ENV, c.access_token_file, baseDir);
  if (!token) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', `The car is not set up: set ${TOKEN_ENV} or `
      + 'connectors.smart_car_fleet.access_token_file');
  }
  const url = new URL(c.api_origin);
  return {
    endpoints: [{ host: urlHost(url), port: urlPort(url) }],
    settings: { api_origin: c.api_origin, vehicle_id: c.vehicle_id,
      unit_system: c.unit_system, make: c.make, dry_run: c.dry_run },
    secrets: { smartcar_access_token: token },
  };
}
