/**
 * From configuration to one sandboxed call of the messaging worker: which endpoint the
 * broker may open, the settings the worker reads, and the token. Runs on the host (it reads
 * the token file); the worker never sees the configuration or the environment.
 */
import type { GatewayConfig } from '../../config/load.js';
import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { SandboxPlan } from '../types.js';
import { urlHost, urlPort } from './http.js';

/** The environment variable that holds the access token; it wins over token_file. */
export const TOKEN_ENV = 'WHATSAPP_TOKEN';

/**
 * Throws GW_CONNECTOR_CONFIG when messaging is not set up (no phone number id, no token),
 * so that nothing is started for a call that cannot succeed, and GW_SECRET_UNREADABLE when
 * the token file cannot be read.
 */
export function messagingPlan(config: GatewayConfig, baseDir: string): SandboxPlan {
  const m = config.connectors.messaging;
  if (!m.phone_number_id) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'Messaging is not set up: ' +
      'connectors.messaging.phone_number_id is empty');
  }
  const token = readSecret(TOKEN_ENV, m.token_file, baseDir);
  if (!token) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'Messaging is not set up: set ' +
      `${TOKEN_ENV} or connectors.messaging.token_file`);
  }
  const url = new URL(m.base_url);
  return {
    endpoints: [{ host: urlHost(url), port: urlPort(url) }],
    settings: {
      base_url: m.base_url,
      api_version: m.api_version,
      phone_number_id: m.phone_number_id,
      contacts: { ...m.contacts },
    },
    secrets: { whatsapp_token: token },
  };
}
