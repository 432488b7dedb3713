import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { patternMatches } from '../policy/index.js';
import type { ConnectorManifest } from './types.js';

/**
 * Names in configuration that must name a connector or an action: a typo there would
 * quietly switch a protection off ("binanse" never asks for the PIN, a deny of "scada.*"
 * denies nothing). Throws GW_CONFIG_INVALID naming the key and what exists.
 */
export function checkConfigNames(
  config: GatewayConfig,
  manifests: readonly ConnectorManifest[],
): void {
  const names = manifests.map((m) => m.name);
  const known = new Set(names);
  const fail = (key: string, problem: string): never => {
    throw new GatewayError('GW_CONFIG_INVALID', `${key}: ${problem}`);
  };
  const connector = (key: string, name: string): void => {
    if (!known.has(name)) {
      fail(key, `"${name}" is no connector (connectors: ${names.join(', ')})`);
    }
  };
  config.critical_connectors.forEach((name, i) => connector(`critical_connectors[${i}]`, name));
  for (const name of Object.keys(config.dialogue.second_factor.connectors)) {
    connector(`dialogue.second_factor.connectors.${name}`, name);
  }
  const actions = manifests.flatMap((m) => Object.keys(m.actions).map((a) => [m.name, a]));
  const pattern = (key: string, p: string): void => {
    if (!actions.some(([c = '', a = '']) => patternMatches(p, c, a))) {
      fail(key, `"${p}" matches no connector action (they look like connector.action, ` +
        `e.g. scada_dnp3.operate; connectors: ${names.join(', ')})`);
    }
  };
  for (const [who, p] of Object.entries(config.policy.principals)) {
    const at = `policy.principals.${who}`;
    p.allow.forEach((x, i) => pattern(`${at}.allow[${i}]`, x));
    p.deny.forEach((x, i) => pattern(`${at}.deny[${i}]`, x));
    for (const x of Object.keys(p.caps)) pattern(`${at}.caps."${x}"`, x);
  }
}
