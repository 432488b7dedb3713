import { z } from 'zod';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { createPlaidConnector } from './banking_plaid/connector.js';
import { createBinanceConnector } from './binance/connector.js';
import { createCalendarConnector } from './calendar/connector.js';
import { messagingPlan } from './messaging/plan.js';
import { modbusPlan } from './scada_modbus_write/plan.js';
import { plaidPlan } from './banking_plaid/plan.js';
import { binancePlan } from './binance/plan.js';
import { smartcarPlan } from './smart_car_fleet/plan.js';
import { dnp3Plan } from './scada_dnp3/plan.js';
import { createRos2Connector } from './ros2_dangerous_actions/connector.js';
import { ros2Plan } from './ros2_dangerous_actions/plan.js';
import { createSmartcarConnector } from './smart_car_fleet/connector.js';
import { checkConfigNames } from './config-names.js';
import { MANIFESTS } from './manifests.js';
import { createScadaDnp3Connector } from './scada_dnp3/connector.js';
import {
  TIERS, type Connector, type ConnectorManifest, type RegisteredConnector, type SandboxPlan,
} from './types.js';

/** Connector and action names: how intents name them (`connector.action`). */
const NAME = /^[a-z][a-z0-9_]*$/;

const actionSchema = z.strictObject({
  tier: z.enum(TIERS),
  description: z.string().min(1),
  input: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'expected a zod schema'),
  output: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'expected a zod schema').optional(),
  emergencyStop: z.boolean().optional(),
});

const endpointSchema = z.strictObject({
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:-]+$/, 'expected a host name or address'),
  port: z.number().int().min(1).max(65_535),
});

const manifestSchema = z.strictObject({
  name: z.string().regex(NAME, 'expected lower_snake_case'),
  description: z.string().min(1),
  actions: z.record(z.string().regex(NAME, 'expected lower_snake_case'), actionSchema)
    .refine((a) => Object.keys(a).length > 0, 'a connector declares at least one action'),
  egress: z.array(endpointSchema).optional(),
  secrets: z.array(z.string().regex(NAME, 'expected lower_snake_case')).optional(),
});

/**
 * Checks every manifest's shape (names, tiers, input schemas) and that no two
 * share a name. Throws GW_CONNECTOR_CONFIG naming the manifest and the key.
 */
export function validateManifests(manifests: readonly ConnectorManifest[]): void {
  const seen = new Set<string>();
  for (const m of manifests) {
    const result = manifestSchema.safeParse(m);
    if (!result.success) {
      const problems = result.error.issues
        .map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`).join('; ');
      throw new GatewayError('GW_CONNECTOR_CONFIG',
        `connector manifest ${String(m.name)} is invalid: ${problems}`);
    }
    if (seen.has(m.name)) {
      throw new GatewayError('GW_CONNECTOR_CONFIG', `two connector manifests are named ${m.name}`);
    }
    seen.add(m.name);
  }
}

/**
 * Every connector the gateway knows, by name. A connector whose implementation
 * is not part of this build is still registered by its manifest, so that its
 * intents get the right tier, a read-back, and a clear refusal.
 */
export function createConnectors(
  config: GatewayConfig,
  baseDir: string,
): Map<string, RegisteredConnector> {
  validateManifests(MANIFESTS);
  checkConfigNames(config, MANIFESTS);
  const implementations = new Map<string, Connector>([
    ['calendar', createCalendarConnector(config.connectors.calendar, baseDir)],
    ['binance', createBinanceConnector(config.connectors.binance, baseDir)],
    // balance and location only: the rest is critical or dangerous and never runs here.
    ['banking_plaid', createPlaidConnector(config.connectors.banking_plaid, baseDir)],
    ['smart_car_fleet', createSmartcarConnector(config.connectors.smart_car_fleet, baseDir)],
    // status only: operate is critical and is refused before it reaches the process.
    ['scada_dnp3', createScadaDnp3Connector(config)],
    // stop only (elevated, emergency stop): move_to is critical and runs in the microVM.
    ['ros2_dangerous_actions', createRos2Connector(config)],
  ]);
  return new Map(MANIFESTS.map((manifest) => [manifest.name, {
    manifest,
    implementation: implementations.get(manifest.name) ?? null,
  }]));
}

/**
 * For each connector that runs in the sandbox, its call plan from configuration: the
 * endpoints the broker may open, its settings, and its secrets (read per call). Throws
 * GW_CONNECTOR_CONFIG when the connector is not set up.
 */
export function sandboxPlans(
  config: GatewayConfig,
  baseDir: string,
): (connector: string) => SandboxPlan | null {
  return (connector) => ISOLATED_PLANS[connector]?.(config, baseDir) ?? null;
}

/**
 * The connectors whose actions run isolated (dangerous tier sandbox or critical tier
 * microVM), each with the function that makes one call's plan from configuration.
 */
const ISOLATED_PLANS: Readonly<Record<string,
  (config: GatewayConfig, baseDir: string) => SandboxPlan>> = {
  messaging: messagingPlan,
  scada_modbus_write: modbusPlan,
  // The critical actions of these run in microVMs (their worker.ts); reads stay in process.
  binance: binancePlan,
  banking_plaid: plaidPlan,
  smart_car_fleet: smartcarPlan,
  scada_dnp3: dnp3Plan,
  ros2_dangerous_actions: ros2Plan,
};
