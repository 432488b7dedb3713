import type { GatewayConfig } from '../config/load.js';
import { tierRank, type RegisteredConnector, type Tier } from '../connectors/types.js';
import { GatewayError } from '../errors.js';
import { tierUnavailable } from './executor.js';
import { probeSandbox } from './sandbox/probe.js';

/**
 * The tier an action runs in: the manifest's, raised (never lowered) by
 * `critical_connectors`. In paranoid mode every action above safe needs a
 * spoken confirmation; that is a dialogue rule, handled in needsConfirmation.
 */
export function resolveTier(connector: string, manifestTier: Tier, config: GatewayConfig): Tier {
  const listed = config.critical_connectors.includes(connector);
  if (listed && tierRank(manifestTier) < tierRank('critical')) return 'critical';
  return manifestTier;
}

export function needsConfirmation(
  tier: Tier,
  config: GatewayConfig,
  emergencyStop: boolean,
): boolean {
  if (emergencyStop) return false;
  if (tierRank(tier) >= tierRank('dangerous')) return true;
  return config.security_mode === 'paranoid' && tierRank(tier) > tierRank('safe');
}

/**
 * Paranoid mode checks at start-up that every tier some connector action needs can be
 * provided, so that a missing layer stops the gateway instead of surprising a user later.
 * Throws GW_TIER_UNAVAILABLE naming each tier and what is missing.
 */
export async function checkTiersAtStartup(
  config: GatewayConfig,
  connectors: ReadonlyMap<string, RegisteredConnector>,
): Promise<void> {
  if (config.security_mode !== 'paranoid') return;
  const needed = new Set<Tier>();
  for (const { manifest } of connectors.values()) {
    for (const spec of Object.values(manifest.actions)) {
      needed.add(resolveTier(manifest.name, spec.tier, config));
    }
  }
  const probe = needed.has('dangerous') ? await probeSandbox() : null;
  const missing = [...needed].sort((a, b) => tierRank(a) - tierRank(b))
    .map((tier) => [tier, tierUnavailable(tier, config, probe)] as const)
    .filter(([, why]) => why !== null)
    .map(([tier, why]) => `${tier}: ${why ?? ''}`);
  if (missing.length > 0) {
    throw new GatewayError('GW_TIER_UNAVAILABLE', 'security_mode = "paranoid" needs every ' +
      `tier the connectors use, and these cannot be provided: ${missing.join('; ')}`);
  }
}
