import { existsSync } from 'node:fs';
import type { GatewayConfig } from '../config/load.js';
import type {
  ActionContext, ActionResult, ActionSpec, RegisteredConnector, SandboxPlan, Tier,
} from '../connectors/types.js';
import { GatewayError, asGatewayError, type ErrorCode } from '../errors.js';
import { levelFor, type Logger } from '../log.js';
import type { Layers, Limits } from './sandbox/bwrap.js';
import type { Violation } from './sandbox/classify.js';
import { connectorWorkerPath } from './sandbox/paths.js';
import { probeSandbox, type SandboxProbe } from './sandbox/probe.js';
import { runSandboxed } from './sandbox/run.js';
import { probeVm, type VmProbe } from './vm/probe.js';
import { CriticalTier } from './critical.js';
import {
  callPlan, checkedInput, checkedOutput, failureSpeech, refusal,
} from './results.js';
import type { VmHandle, VmReady } from './vm/launch.js';

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
  /** Set when a sandbox layer stopped the connector: which layer, and the evidence. */
  readonly violation?: Violation;
  /** The sandbox layers the action ran under (dangerous tier only). */
  readonly sandbox?: { readonly layers: readonly string[]; readonly landlockAbi: number };
  /** The microVM the action ran in (critical tier only): backend, how it started, its boot. */
  readonly microvm?: {
    readonly backend: string;
    readonly bootMs: number | null;
    readonly mode?: VmReady['mode'];
  };
}

/**
 * A critical action's microVM launched ahead of its run (while the confirmation prompt is
 * spoken). `readyAt` is the host time its agent became ready, or null (not yet, or never).
 */
export interface PreparedVm {
  readonly connector: string;
  readonly handle: VmHandle;
  readonly launchedAt: number;
  readyAt: number | null;
}

export interface ExecutorOptions {
  /**
   * Settings, secrets and endpoints from settings (a configured API URL) per connector for
   * the dangerous tier, added to the manifest's egress. Secrets reach the worker's stdin only.
   */
  readonly sandboxPlan?: (connector: string) => Partial<SandboxPlan> | null | undefined;
  /** Where a connector's sandboxed module lives; default dist/connectors/<name>/worker.js. */
  readonly workerModule?: (connector: string) => string;
  /** The dangerous tier's availability; default: the real probe of this host. */
  readonly probe?: () => Promise<SandboxProbe>;
  /** Tests only: switch layers off to show that each works alone; tighter limits. */
  readonly sandboxLayers?: Layers;
  readonly sandboxLimits?: Partial<Limits>;
  /** The critical tier's availability and image; default: the real probe of this host. */
  readonly vmProbe?: () => Promise<VmProbe>;
  /** From the VMM's start to the guest agent's ready; generous under software emulation. */
  readonly vmBootDeadlineMs?: number;
  /** From the action's delivery into the VM to its result; `[microvm] action_deadline_ms`. */
  readonly vmActionDeadlineMs?: number;
}

/** Default deadline of one in-process action. */
export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;

/**
 * Why a tier cannot be provided on this build, or null when it can. Tiers that
 * cannot be provided refuse: nothing ever runs in a weaker tier.
 */
export function tierUnavailable(
  tier: Tier,
  config: GatewayConfig,
  sandbox: SandboxProbe | null = null,
  vm: VmProbe | null = null,
): string | null {
  switch (tier) {
    case 'safe':
    case 'elevated':
      return null;
    case 'dangerous':
      // Without a probe result the answer is "no": fail closed.
      return sandbox ? sandbox.unavailable
        : 'the sandbox for dangerous actions (bubblewrap, seccomp and Landlock) was not probed';
    case 'critical':
      if (!config.enable_firecracker_sandbox) {
        return 'the microVM tier for critical actions is off (enable_firecracker_sandbox = false)';
      }
      return vm ? vm.unavailable : 'the microVM tier for critical actions was not probed';
  }
}

/**
 * Refusals because the microVM image (or its snapshot) failed verification. The pipeline
 * writes an audit record for these even though nothing ran (issue 6).
 */
export const IMAGE_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'GW_IMAGE_INVALID', 'GW_IMAGE_STORE_UNSAFE', 'GW_SNAPSHOT_INVALID',
]);

export class Executor {
  constructor(
    private readonly connectors: ReadonlyMap<string, RegisteredConnector>,
    private readonly config: GatewayConfig,
    private readonly timeoutMs = DEFAULT_ACTION_TIMEOUT_MS,
    private readonly options: ExecutorOptions = {},
  ) {
    this.critical = new CriticalTier(connectors, config, options);
  }

  private readonly critical: CriticalTier;

  /**
   * Launches the microVM of a critical action before it is confirmed, so that its boot is
   * hidden behind the prompt; null when there is nothing to launch (see CriticalTier).
   */
  async prepare(request: ActionRequest, log: Logger): Promise<PreparedVm | null> {
    if (request.tier !== 'critical') return null;
    const { refused, vm } = await this.check(request);
    return !refused && vm ? this.critical.prepare(request.connector, vm, log) : null;
  }

  /**
   * The refusal `run` would give before anything starts (no such action, its tier cannot
   * be provided), or null. The caller records an action in the audit trail only after this.
   */
  async precheck(request: ActionRequest): Promise<Execution | null> {
    return (await this.check(request)).refused;
  }

  /** The precheck's refusal, with the tier's probe results that `run` goes on with. */
  private async check(request: ActionRequest): Promise<{
    refused: Execution | null; probe: SandboxProbe | null; vm: VmProbe | null;
  }> {
    const spec = this.connectors.get(request.connector)?.manifest.actions[request.action];
    if (!spec) {
      return { probe: null, vm: null, refused: refusal('GW_CONNECTOR_UNAVAILABLE',
        `no action ${request.connector}.${request.action}`,
        'I cannot do that: no connector provides that action.') };
    }
    const { probe, vm } = await this.probes(request.tier);
    const missing = tierUnavailable(request.tier, this.config, probe, vm);
    // An image that failed verification keeps its own code: the audit trail records it.
    const refused = !missing ? null
      : vm?.code && IMAGE_REFUSALS.has(vm.code)
        ? refusal(vm.code, missing, 'I did not do it: its virtual machine image failed ' +
          'verification.')
        : refusal('GW_TIER_UNAVAILABLE', missing, `I did not do it, because ${missing}.`);
    return { refused, probe, vm };
  }

  private async probes(tier: Tier): Promise<{
    probe: SandboxProbe | null; vm: Awaited<ReturnType<typeof probeVm>> | null;
  }> {
    const probe = tier === 'dangerous' ? await (this.options.probe ?? probeSandbox)() : null;
    const vm = tier === 'critical' && this.config.enable_firecracker_sandbox
      ? await (this.options.vmProbe ?? (() => probeVm(this.config)))() : null;
    return { probe, vm };
  }

  async run(
    request: ActionRequest, ctx: ActionContext, prepared: PreparedVm | null = null,
  ): Promise<Execution> {
    const { refused, probe, vm } = await this.check(request);
    if (refused) return refused;
    const registered = this.connectors.get(request.connector);
    const spec = registered?.manifest.actions[request.action];
    if (!registered || !spec) throw new GatewayError('GW_CONNECTOR_UNAVAILABLE', request.connector);
    if (request.tier === 'dangerous' && probe) {
      return this.runSandboxed(registered.manifest.name, request.action, spec, request.input, ctx,
        probe);
    }
    if (request.tier === 'critical' && vm) {
      return this.critical.run(registered.manifest, request.action, spec, request.input, ctx, vm,
        prepared?.connector === registered.manifest.name ? prepared : null);
    }
    if (!registered.implementation) {
      return refusal('GW_CONNECTOR_UNAVAILABLE', `connector ${request.connector} is not installed`,
        `I did not do it, because the ${request.connector} connector is not installed.`);
    }
    const checked = checkedInput(spec, request.input);
    if (!checked.ok) return checked.refused;
    return this.runInProcess(registered, request.action, checked.input, ctx);
  }

  /** The dangerous tier: never in process, only through the sandbox, or not at all. */
  private async runSandboxed(
    connector: string,
    action: string,
    spec: ActionSpec,
    rawInput: unknown,
    ctx: ActionContext,
    probe: SandboxProbe,
  ): Promise<Execution> {
    const modulePath = (this.options.workerModule ?? connectorWorkerPath)(connector);
    if (!existsSync(modulePath)) {
      return refusal('GW_CONNECTOR_UNAVAILABLE', `connector ${connector} has no sandboxed worker`,
        `I did not do it, because the ${connector} connector is not installed.`);
    }
    const checked = checkedInput(spec, rawInput);
    if (!checked.ok) return checked.refused;
    const manifest = this.connectors.get(connector)?.manifest;
    const planned = callPlan(this.options.sandboxPlan, connector);
    if (!planned.ok) return planned.refused;
    const plan = planned.plan;
    const layers = this.options.sandboxLayers;
    const used = Object.entries(layers ?? { namespaces: true, landlock: true, seccomp: true,
      rlimits: true }).filter(([, on]) => on).map(([name]) => name);
    const sandbox = { layers: [...used, 'broker'], landlockAbi: probe.landlockAbi };
    const log = ctx.log.child({ connector, action, tier: 'dangerous' });
    const r = await runSandboxed({
      connector, action, input: checked.input, modulePath,
      // A configured endpoint (a self-hosted or test API) replaces the manifest's default.
      endpoints: plan.endpoints ?? manifest?.egress ?? [],
      settings: plan.settings ?? {}, secrets: plan.secrets ?? {},
      now: ctx.now, timeZone: ctx.timeZone, principal: ctx.principal, signal: ctx.signal,
      idempotencyKey: ctx.idempotencyKey ?? null, deadlineMs: this.timeoutMs, log,
      bwrap: probe.bwrap ?? 'bwrap', cgroupNs: probe.cgroupNs,
      layers, limits: this.options.sandboxLimits,
    });
    log[levelFor(r.outcome === 'succeeded' ? 'ok' : r.violation ? 'refused' : 'failed')]({
      outcome: r.outcome, code: r.error?.code ?? null, layer: r.violation?.layer ?? null,
      readyMs: r.readyMs === null ? null : Math.round(r.readyMs), egress: r.egress,
    }, 'sandboxed action finished');
    if (r.outcome === 'succeeded') return { ...checkedOutput(spec, r.speech, r.data), sandbox };
    const speech = r.violation
      ? 'I stopped that connector: it tried something its sandbox does not allow.'
      : failureSpeech(r.error);
    return { outcome: r.outcome, speech, error: r.error, violation: r.violation, sandbox };
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
      // As for sandboxed actions: the far side's answer and a missing setting are said.
      const speech = failureSpeech(error);
      return { outcome, speech, error };
    } finally {
      removeListener();
    }
  }
}
