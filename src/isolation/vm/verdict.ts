/**
 * What one microVM call came to, from what the host saw: the guest's answer (if any),
 * whether the request was delivered, and who killed the VM. Delivered and unanswered is
 * never "failed": the action may have happened, so it is indeterminate and never replayed.
 */
import { ERROR_CODES, type ErrorCode } from '../../errors.js';
import type { Outcome } from '../executor.js';
import type { BrokerStats } from '../sandbox/broker.js';
import { redactSecrets } from '../sandbox/run.js';
import type { WorkerResponse } from '../sandbox/worker.js';
import { connectorErrorOutcome } from '../results.js';

export interface VmResult {
  readonly outcome: Outcome;
  readonly speech?: string;
  readonly data?: unknown;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  readonly backend: string;
  /** VMM start to agent ready, host clock (a restore: to the reseeded agent's ready). */
  readonly bootMs: number | null;
  readonly verifyMs: number | null;
  readonly egress: BrokerStats;
  /** The last of the guest's console output (diagnostics; may hold connector output). */
  readonly console: string;
  /** How the VM was started, when it was. */
  readonly mode?: 'cold' | 'restored' | 'warm';
}

export function judge(
  secrets: Readonly<Record<string, string>>, base: Omit<VmResult, 'outcome'>,
  delivered: boolean, response: WorkerResponse | null, killedBy: string | null,
  broken: string | null,
): VmResult {
  if (response?.ok === true) {
    return { ...base, outcome: 'succeeded', speech: response.speech, data: response.data };
  }
  if (response && !response.ok) {
    const own = response.error.code;
    const code: ErrorCode = own !== null && Object.hasOwn(ERROR_CODES, own) ? own as ErrorCode
      : 'GW_CONNECTOR_FAILED';
    // The far side's refusal (or a read-back that disagrees) is a failure; a connector that
    // could not tell, after a connection was made, leaves the action indeterminate.
    const outcome = connectorErrorOutcome(code, base.egress.connected);
    return { ...base, outcome, error: { code,
      message: redactSecrets(response.error.message, secrets) } };
  }
  if (!delivered) {
    const why = killedBy ?? broken ?? 'the VMM exited';
    return { ...base, outcome: 'refused', error: { code: 'GW_VM_FAILED',
      message: `the microVM did not become ready: ${why}` } };
  }
  // The request was in the VM and no answer came: never replayed, recorded as unknown.
  if (killedBy === 'action deadline' || killedBy === 'cancelled') {
    return { ...base, outcome: 'indeterminate', error: { code: 'GW_ACTION_TIMEOUT',
      message: `${killedBy === 'cancelled' ? 'cancelled' : 'the action passed its deadline'}; ` +
        'the microVM was killed' } };
  }
  return { ...base, outcome: 'indeterminate', error: { code: 'GW_VM_CRASHED',
    message: broken ?? 'the microVM exited without a result' } };
}
