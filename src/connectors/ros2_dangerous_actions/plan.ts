/**
 * From configuration to one isolated call of the robot worker: the rosbridge server's host
 * and port (the only endpoint the broker opens for it) and the settings the worker reads.
 * The in-process stop reads the same settings, so both tiers resolve places identically.
 */
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { SandboxPlan } from '../types.js';

/** Throws GW_CONNECTOR_CONFIG when no rosbridge URL is configured. */
export function ros2Plan(config: GatewayConfig): SandboxPlan {
  const r = config.connectors.ros2_dangerous_actions;
  if (!r.url) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'The robot is not set up: ' +
      'connectors.ros2_dangerous_actions.url is empty');
  }
  const url = new URL(r.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : url.protocol === 'wss:' ? 443 : 80;
  return {
    endpoints: [{ host, port }],
    settings: {
      url: r.url, navigate_service: r.navigate_service, cmd_vel_topic: r.cmd_vel_topic,
      stop_service: r.stop_service, timeout_ms: r.timeout_ms, dry_run: r.dry_run,
      places: Object.fromEntries(Object.entries(r.places).map(([k, p]) => [k, { ...p }])),
    },
    secrets: {},
  };
}
