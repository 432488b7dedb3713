import type { GatewayConfig } from '../config/load.js';
import type {
  ActionContext, ActionResult, RegisteredConnector, Tier,
} from '../connectors/types.js';
import { GatewayError, asGatewayError, type ErrorCode } from '../errors.js';

export type Outcome = 'succeeded' | 'failed' | 'refused' | 'indeterminate';

export interface ActionRequest {
  readonly connector: string;
  readonly action: string;
  readonly input: unknown;
  readonly tier: Tier;
}

export interface Execution {
  readonly outcome: Outcome;
  readonly speech: string;
  readonly data?: unknown;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** Default deadline of one in-process action. */
export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;

/**
 * Why a tier cannot be provided on this build, or null when it can. Tiers that
 * cannot be provided refuse: nothing ever runs in a weaker tier.
 */
export function tierUnavailable(tier: Tier, config: GatewayConfig): string | null {
  switch (tier) {
    case 'safe':
    case 'elevated':
      return null;
    case 'dangerous':
      return 'the sandboxed tier for dangerous actions (bubblewrap, seccomp and Landlock) ' +
        'is not part of this version of the gateway';
    case 'critical':
      // Both halves are said: enabling the setting alone would not help in this version.
      return 'the microVM tier for critical actions is not part of this version of the gateway' +
        (config.enable_firecracker_sandbox ? '' : ', and enable_firecracker_sandbox is off');
  }
}

function refusal(code: ErrorCode, message: string, speech: string): Execution {
  return { outcome: 'refused', speech, error: { code, message } };
}

export class Executor {
  constructor(
    private readonly connectors: ReadonlyMap<string, RegisteredConnector>,
    private readonly config: GatewayConfig,
    private readonly timeoutMs = DEFAULT_ACTION_TIMEOUT_MS,
  ) {}

  async run(request: ActionRequest, ctx: ActionContext): Promise<Execution> {
    const registered = this.connectors.get(request.connector);
    const spec = registered?.manifest.actions[request.action];
    if (!registered || !spec) {
      return refusal('GW_CONNECTOR_UNAVAILABLE', `no action ${request.connector}.${request.action}`,
        'I cannot do that: no connector provides that action.');
    }
    const missing = tierUnavailable(request.tier, this.config);
    if (missing) {
      return refusal('GW_TIER_UNAVAILABLE', missing,
        `I did not do it, because ${missing}.`);
    }
    if (!registered.implementation) {
      return refusal('GW_CONNECTOR_UNAVAILABLE', `connector ${request.connector} is not installed`,
        `I did not do it, because the ${request.connector} connector is not installed.`);
    }
    const parsed = spec.input.safeParse(request.input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => i.message).join('; ');
      return refusal('GW_ACTION_INPUT_INVALID', problems,
        'I did not do it, because the request was incomplete.');
    }
    return this.runInProcess(registered, request.action, parsed.data, ctx);
  }

  private async runInProcess(
    registered: RegisteredConnector,
    action: string,
    input: unknown,
    ctx: ActionContext,
  ): Promise<Execution> {
    const impl = registered.implementation;
    if (!impl) throw new GatewayError('GW_CONNECTOR_UNAVAILABLE', registered.manifest.name);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    let removeListener = (): void => {};
    const timedOut = new Promise<never>((_, reject) => {
      const onAbort = (): void => {
        reject(new GatewayError('GW_ACTION_TIMEOUT', 'action deadline passed'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      removeListener = () => signal.removeEventListener('abort', onAbort);
    });
    try {
      const running = impl.run(action, input, { ...ctx, signal });
      const result: ActionResult = await Promise.race([running, timedOut]);
      return { outcome: 'succeeded', speech: result.speech, data: result.data };
    } catch (err) {
      const e = asGatewayError(err, 'GW_CONNECTOR_FAILED');
      const outcome: Outcome = e.code === 'GW_ACTION_TIMEOUT' ? 'indeterminate' : 'failed';
      const error = { code: e.code, message: e.message };
      return { outcome, speech: 'Sorry, that did not work.', error };
    } finally {
      removeListener();
    }
  }
}
