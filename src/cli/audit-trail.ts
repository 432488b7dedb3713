import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { openAuditTrail } from '../audit/setup.js';
import type { AuditLog } from '../audit/log.js';
import { secretKeyPath } from '../keys/keys.js';
import type { Logger } from '../log.js';
import { StateStore } from '../state/store.js';

/** The audit trail of a CLI session or the service, and the state database under it. */
export interface OpenTrail {
  readonly audit: AuditLog | null;
  readonly store: StateStore | null;
  close(): Promise<void>;
}

/**
 * Opens the audit trail when its signing key exists (after `gateway keys`), recording as
 * indeterminate whatever a crashed run left open. Without the key there is no trail, and
 * the pipeline refuses world-changing actions; that is said once in the log.
 */
export async function openTrailIfKeyed(
  config: GatewayConfig,
  baseDir: string,
  log: Logger,
  paths: { keysDir?: string; statePath?: string; auditPath?: string } = {},
): Promise<OpenTrail> {
  const keysDir = paths.keysDir ?? path.resolve(baseDir, config.keys_dir);
  if (!existsSync(secretKeyPath(keysDir, 'audit'))) {
    log.warn({ keysDir }, 'no audit signing key: dangerous and critical actions are refused ' +
      'until `gateway keys` makes one');
    return { audit: null, store: null, close: async () => {} };
  }
  const store = StateStore.open(paths.statePath ?? path.resolve(baseDir, config.state_path));
  try {
    const { audit } = await openAuditTrail({
      keysDir, store, log,
      auditPath: paths.auditPath ?? path.resolve(baseDir, config.audit_path),
    });
    return {
      audit, store,
      async close() {
        await audit.close();
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
