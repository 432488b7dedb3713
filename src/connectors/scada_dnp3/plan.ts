/**
 * From configuration to one microVM call of the DNP3 worker (operate, critical): the
 * outstations of the configured DNP3 points are the only endpoints the broker may open; the
 * worker gets the master's settings and those points (no secrets: DNP3 over TCP has none).
 * The plan does not know the action's slots, so every DNP3 point travels and the worker
 * resolves the one named; a breaker that is not a DNP3 point is refused there.
 */
import type { GatewayConfig } from '../../config/load.js';
import type { Endpoint, SandboxPlan } from '../types.js';

export function dnp3Plan(config: GatewayConfig): SandboxPlan {
  const points: Record<string, unknown> = {};
  const endpoints: Endpoint[] = [];
  for (const [key, p] of Object.entries(config.points).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (p.protocol !== 'dnp3') continue;
    points[key] = { ...p };
    if (!endpoints.some((e) => e.host === p.host && e.port === p.port)) {
      endpoints.push({ host: p.host, port: p.port });
    }
  }
  return {
    endpoints,
    settings: { scada_dnp3: { ...config.connectors.scada_dnp3 }, points },
    secrets: {},
  };
}
