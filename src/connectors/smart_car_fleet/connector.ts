import { GatewayError } from '../../errors.js';
import { smartCarFleetManifest } from '../manifests.js';
import type { ActionContext, Connector } from '../types.js';
import { configuredVehicle, describeLocation, location } from './actions.js';
import type { SmartcarConfig } from './config.js';

/**
 * The car connector in process: location only (elevated). Lock and unlock are critical and
 * the cabin temperature dangerous; should one reach this code, it is refused, not sent.
 */
export function createSmartcarConnector(config: SmartcarConfig, baseDir: string): Connector {
  return {
    manifest: smartCarFleetManifest,
    async run(action: string, _input: unknown, _ctx: ActionContext) {
      if (action !== 'location') {
        throw new GatewayError('GW_TIER_UNAVAILABLE',
          `smart_car_fleet.${action} runs only in its own tier, never in the gateway process`);
      }
      const vehicle = configuredVehicle(config, baseDir);
      if (config.dry_run) {
        return { speech: 'Dry run: I would ask Smartcar where the car is.',
          data: { dryRun: true, path: `/v2.0/vehicles/${config.vehicle_id}/location` } };
      }
      const position = await location(vehicle);
      return { speech: describeLocation(position, config), data: position };
    },
  };
}
