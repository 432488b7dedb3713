import path from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { createCalendarConnector } from './calendar/connector.js';
import { calendarManifest, scadaDnp3Manifest } from './manifests.js';
import type { RegisteredConnector } from './types.js';

/**
 * Every connector the gateway knows, by name. A connector whose implementation
 * is not part of this build is still registered by its manifest, so that its
 * intents get the right tier and a clear refusal.
 */
export function createConnectors(
  config: GatewayConfig,
  baseDir: string,
): Map<string, RegisteredConnector> {
  const icsPath = path.resolve(baseDir, config.connectors.calendar.ics_path);
  return new Map<string, RegisteredConnector>([
    ['calendar', { manifest: calendarManifest, implementation: createCalendarConnector(icsPath) }],
    ['scada_dnp3', { manifest: scadaDnp3Manifest, implementation: null }],
  ]);
}
