/**
 * From configuration to one microVM call of scada_modbus_write: the broker may open only
 * the host:port pairs of the Modbus points in `[points]` (the call's input names one of
 * them), and the worker gets its response timeout. Runs on the host; no secrets.
 */
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { Endpoint, SandboxPlan } from '../types.js';
import { DEFAULT_RESPONSE_TIMEOUT_MS } from './schemas.js';

export function modbusPlan(config: GatewayConfig): SandboxPlan {
  const endpoints: Endpoint[] = [];
  for (const p of Object.values(config.points)) {
    if (p.protocol !== 'modbus') continue;
    if (!endpoints.some((e) => e.host === p.host && e.port === p.port)) {
      endpoints.push({ host: p.host, port: p.port });
    }
  }
  if (endpoints.length === 0) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'no Modbus point is configured in [points]');
  }
  return {
    endpoints,
    settings: { response_timeout_ms: DEFAULT_RESPONSE_TIMEOUT_MS },
    secrets: {},
  };
}
