/**
 * What one isolated action is handed, in the sandbox and the microVM alike: the action and
 * its validated input, its settings and secrets from configuration (secrets only ever over
 * the worker's own channel), the clock, who asked, the idempotency key, and cancellation.
 */
export interface IsolatedCall {
  readonly action: string;
  readonly input: unknown;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, string>>;
  readonly now: Date;
  readonly timeZone: string;
  readonly principal: string;
  readonly idempotencyKey?: string | null;
  readonly signal: AbortSignal;
}
