/**
 * `gateway say --dry-run`: every connector that has a dry-run mode (`dry_run` in its table)
 * is switched to it for the session, so each action validates and resolves everything
 * (point, account, amount, symbol), in the tier its manifest names, and says what it would do
 * without any request to the far side that changes anything.
 */
import type { GatewayConfig } from '../config/load.js';

/** The configuration with dry_run = true in every connector table that has the key. */
export function withDryRun(config: GatewayConfig): GatewayConfig {
  const connectors: Record<string, unknown> = {};
  for (const [name, table] of Object.entries(config.connectors)) {
    connectors[name] = typeof table === 'object' && table !== null && 'dry_run' in table
      ? Object.freeze({ ...table, dry_run: true }) : table;
  }
  return Object.freeze({ ...config, connectors: Object.freeze(connectors) }) as GatewayConfig;
}
