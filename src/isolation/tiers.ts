import type { GatewayConfig } from '../config/load.js';
import { tierRank, type Tier } from '../connectors/types.js';

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
