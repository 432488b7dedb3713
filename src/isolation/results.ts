/**
 * What the tiers share when they turn an isolated worker's answer, or a refusal before it,
 * into an Execution: the input check, the call plan from configuration, the output check,
 * and the words a failure is said in.
 */
import type { ActionSpec, SandboxPlan } from '../connectors/types.js';
import { asGatewayError, type ErrorCode } from '../errors.js';
import type { Execution, Outcome } from './executor.js';

/**
 * Failures whose messages connectors write to be said as they are (the far side's answer,
 * an unknown contact); any other failure is said in general words.
 */
export const SPOKEN_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'GW_REMOTE_AUTH', 'GW_REMOTE_REJECTED', 'GW_REMOTE_RATE_LIMITED', 'GW_REMOTE_UNAVAILABLE',
  'GW_CONTACT_UNKNOWN', 'GW_CONNECTOR_CONFIG', 'GW_READBACK_MISMATCH',
]);

/** A message as the second half of a spoken sentence: lower-case start, one full stop. */
export function spokenMessage(message: string): string {
  const m = message.trim().replace(/[.\s]+$/, '');
  return `${m.charAt(0).toLowerCase()}${m.slice(1)}.`;
}

/** What a failed isolated action says: the far side's own words, or general ones. */
export function failureSpeech(error: { code: ErrorCode; message: string } | undefined): string {
  return error && SPOKEN_FAILURES.has(error.code)
    ? `That did not work: ${spokenMessage(error.message)}` : 'Sorry, that did not work.';
}

/** An isolated worker's result, held to the action's output schema when it has one. */
export function checkedOutput(
  spec: ActionSpec, speech: string | undefined, data: unknown,
): Execution {
  const checked = spec.output?.safeParse(data);
  if (checked && !checked.success) {
    return { outcome: 'failed', speech: 'Sorry, that did not work.',
      error: { code: 'GW_ACTION_OUTPUT_INVALID',
        message: checked.error.issues.map((i) => i.message).join('; ') } };
  }
  return { outcome: 'succeeded', speech: speech ?? '', data: checked?.data ?? data };
}

export function refusal(code: ErrorCode, message: string, speech: string): Execution {
  return { outcome: 'refused', speech, error: { code, message } };
}

/** The input held to the action's schema, or the refusal that says it was incomplete. */
export function checkedInput(
  spec: ActionSpec, raw: unknown,
): { ok: true; input: unknown } | { ok: false; refused: Execution } {
  const parsed = spec.input.safeParse(raw);
  if (parsed.success) return { ok: true, input: parsed.data };
  const problems = parsed.error.issues.map((i) => i.message).join('; ');
  return { ok: false, refused: refusal('GW_ACTION_INPUT_INVALID', problems,
    'I did not do it, because the request was incomplete.') };
}

/**
 * One call's plan from configuration (endpoints, settings, secrets), or the refusal when the
 * connector is not set up (no token, no endpoint): nothing is started for a call that cannot
 * work.
 */
export function callPlan(
  plans: ((connector: string) => Partial<SandboxPlan> | null | undefined) | undefined,
  connector: string,
): { ok: true; plan: Partial<SandboxPlan> } | { ok: false; refused: Execution } {
  try {
    return { ok: true, plan: plans?.(connector) ?? {} };
  } catch (err) {
    const e = asGatewayError(err, 'GW_CONNECTOR_CONFIG');
    return { ok: false,
      refused: refusal(e.code, e.message, `I did not do it: ${spokenMessage(e.message)}`) };
  }
}

/**
 * Codes with which an isolated connector says it could not tell what happened (no answer
 * after its request went out). Any other code of its own says the far side refused, or
 * nothing was sent.
 */
const UNKNOWN_OUTCOME: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'GW_REMOTE_UNAVAILABLE', 'GW_ACTION_TIMEOUT', 'GW_CONNECTOR_FAILED',
]);

/**
 * What an isolated connector's own error comes to, in the sandbox and the microVM alike:
 * indeterminate when it could not tell and a connection had been made (the far side may have
 * acted), failed otherwise.
 */
export function connectorErrorOutcome(code: ErrorCode, connected: number): Outcome {
  return UNKNOWN_OUTCOME.has(code) && connected > 0 ? 'indeterminate' : 'failed';
}
