import type { Logger } from 'pino';
import { loadKeyPair } from '../keys/keys.js';
import type { StateStore } from '../state/store.js';
import { AuditLog } from './log.js';

/**
 * Start-up of the audit trail for a service: loads the audit key pair, opens the log
 * (reconciling it with the head in the state database, or refusing to start), and records
 * every action a previous run left without an outcome as indeterminate. Nothing is re-run.
 */
export async function openAuditTrail(o: {
  keysDir: string;
  auditPath: string;
  store: StateStore;
  log?: Logger;
}): Promise<{ audit: AuditLog; recovered: number }> {
  const audit = await AuditLog.open({ file: o.auditPath, keys: loadKeyPair(o.keysDir, 'audit'),
    store: o.store });
  try {
    const recovered = await audit.recoverInterrupted();
    if (recovered > 0) {
      o.log?.warn({ recovered, head: audit.head().seq },
        'actions interrupted by a crash recorded as indeterminate; they were not re-run');
    }
    return { audit, recovered };
  } catch (err) {
    await audit.close();
    throw err;
  }
}
