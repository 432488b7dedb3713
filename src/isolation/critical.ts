/**
 * The critical tier: one microVM per action, from a verified image, or not at all.
 *
 * A VM may be launched ahead of its action (`prepare`, while the confirmation prompt is
 * spoken); it learns nothing of the action until `run` sends it, and it is used once. When a
 * launched VM did not become ready, `run` launches a fresh one: nothing had been delivered,
 * so nothing can happen twice. An action delivered to a VM that then dies is indeterminate
 * and never sent again.
 */
import path from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import type {
  ActionContext, ActionSpec, ConnectorManifest, Endpoint, RegisteredConnector,
} from '../connectors/types.js';
import { levelFor, type Logger } from '../log.js';
import type { Execution, ExecutorOptions, PreparedVm } from './executor.js';
import { callPlan, checkedInput, checkedOutput, failureSpeech, refusal } from './results.js';
import { projectRoot } from './sandbox/paths.js';
import { launchVm, type VmHandle, type VmLaunchOptions } from './vm/launch.js';
import { WarmPool } from './vm/pool.js';
import { probeVm, type VmProbe } from './vm/probe.js';
import { loadSnapshotKey, type SnapshotKey } from './vm/snapshot.js';

export class CriticalTier {
  constructor(
    private readonly connectors: ReadonlyMap<string, RegisteredConnector>,
    private readonly config: GatewayConfig,
    private readonly options: ExecutorOptions,
  ) {}

  /** Starts a VM for `connector`; null when its call cannot be planned (run says why). */
  prepare(connector: string, vm: VmProbe, log: Logger): PreparedVm | null {
    const manifest = this.connectors.get(connector)?.manifest;
    const planned = callPlan(this.options.sandboxPlan, connector);
    if (!manifest || !planned.ok || !vm.publicKey) return null;
    const handle = launchVm(this.launchOptions(manifest, planned.plan.endpoints, vm,
      log.child({ connector, tier: 'critical' })));
    const prepared: PreparedVm = { connector, handle, launchedAt: performance.now(),
      readyAt: null };
    handle.ready.then(() => {
      prepared.readyAt = performance.now();
    }, () => {
      // A VM that did not start is reported by `run`, which launches anew or refuses.
    });
    return prepared;
  }

  async run(
    manifest: ConnectorManifest, action: string, spec: ActionSpec, rawInput: unknown,
    ctx: ActionContext, vm: VmProbe, prepared: PreparedVm | null,
  ): Promise<Execution> {
    const connector = manifest.name;
    const checked = checkedInput(spec, rawInput);
    if (!checked.ok) return checked.refused;
    const planned = callPlan(this.options.sandboxPlan, connector);
    if (!planned.ok) return planned.refused;
    if (!vm.publicKey) {
      return refusal('GW_IMAGE_MISSING', 'no image key', 'I did not do it: no verified image.');
    }
    const log = ctx.log.child({ connector, action, tier: 'critical' });
    let handle: VmHandle | null = prepared ? prepared.handle : null;
    let ready = handle ? await handle.ready.catch(() => null) : null;
    if (!handle || !ready) {
      // Not launched ahead, or the launched VM failed before it held anything: a fresh one.
      await handle?.destroy();
      handle = launchVm(this.launchOptions(manifest, planned.plan.endpoints, vm, log));
      ready = await handle.ready.catch(() => null);
    }
    const used = handle;
    try {
      const plan = planned.plan;
      const r = await used.run({
        action, input: checked.input, settings: plan.settings ?? {}, secrets: plan.secrets ?? {},
        now: ctx.now, timeZone: ctx.timeZone, principal: ctx.principal, signal: ctx.signal,
        idempotencyKey: ctx.idempotencyKey ?? null,
        actionDeadlineMs: this.options.vmActionDeadlineMs
          ?? this.config.microvm.action_deadline_ms,
      });
      const microvm = { backend: r.backend, mode: ready?.mode ?? 'cold',
        bootMs: r.bootMs === null ? null : Math.round(r.bootMs) };
      log[levelFor(r.outcome === 'succeeded' ? 'ok' : r.outcome === 'refused' ? 'refused'
        : 'failed')]({ outcome: r.outcome, code: r.error?.code ?? null, backend: r.backend,
        mode: microvm.mode, bootMs: microvm.bootMs, egress: r.egress },
      'microVM action finished');
      if (r.outcome === 'succeeded') return { ...checkedOutput(spec, r.speech, r.data), microvm };
      const speech = r.outcome === 'refused'
        ? 'I did not do it: its secure virtual machine could not be started safely.'
        : failureSpeech(r.error);
      return { outcome: r.outcome, speech, error: r.error, microvm };
    } finally {
      await used.destroy();
    }
  }

  private launchOptions(
    manifest: ConnectorManifest, endpoints: readonly Endpoint[] | undefined, vm: VmProbe,
    log: Logger,
  ): VmLaunchOptions {
    return {
      connector: manifest.name,
      // A configured endpoint (a self-hosted or test API) replaces the manifest's default.
      endpoints: endpoints ?? manifest.egress ?? [],
      ...startOptions(this.config, vm, log, this.options.vmBootDeadlineMs),
    };
  }
}

/** How this configuration starts VMs of the probed image: memory, deadline, snapshots. */
function startOptions(
  config: GatewayConfig, vm: VmProbe, log: Logger, bootDeadlineMs?: number,
): Omit<VmLaunchOptions, 'connector' | 'endpoints'> {
  const m = config.microvm;
  const snapshots = m.snapshots;
  return {
    imageDir: vm.imageDir, publicKey: vm.publicKey ?? new Uint8Array(), accel: vm.accel, log,
    bootDeadlineMs: bootDeadlineMs ?? m.boot_deadline_ms, memMib: m.memory_mib,
    snapshotDir: snapshots ? path.resolve(projectRoot(), m.snapshot_dir) : null,
    snapshotKey: snapshots ? snapshotKeyOf(config) : null,
  };
}

/** The snapshot key pair (its secret half signs new snapshots), or null: cold boots only. */
function snapshotKeyOf(config: GatewayConfig): SnapshotKey | null {
  return loadSnapshotKey(path.resolve(projectRoot(), config.keys_dir));
}

/**
 * For a long-running gateway (`serve`, `listen`) with `[microvm] warm_pool > 0`: starts the
 * pool of VMs that critical actions claim instead of waiting for a boot. Null when the pool is
 * off or the tier cannot be provided (each action then says why). `closeAllPools()` (from
 * src/isolation/vm/pool.ts) destroys them on shutdown.
 */
export async function startWarmPool(config: GatewayConfig, log: Logger): Promise<WarmPool | null> {
  if (!config.enable_firecracker_sandbox || config.microvm.warm_pool === 0) return null;
  const vm = await probeVm(config);
  if (vm.unavailable || !vm.publicKey) {
    log.warn({ code: vm.code ?? 'GW_TIER_UNAVAILABLE' }, 'warm pool not started: ' +
      `${vm.unavailable ?? 'no image key'}`);
    return null;
  }
  return new WarmPool({ size: config.microvm.warm_pool,
    ...startOptions(config, vm, log.child({ pool: 'warm' })) }).start();
}
