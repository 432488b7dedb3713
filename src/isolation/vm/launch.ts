/**
 * A handle on one microVM, started before its action is known: the dialogue launches it
 * while the confirmation prompt is spoken, and runs the action on "confirm" (or destroys it
 * on "no"). The VM comes from the warm pool when one matches, else it is restored from a
 * verified snapshot or booted cold (start.ts). It runs one action and is destroyed; a
 * handle nobody uses within its boot deadline plus a grace destroys itself.
 */
import type { Endpoint } from '../../connectors/types.js';
import { asGatewayError, type ErrorCode } from '../../errors.js';
import type { IsolatedCall } from '../call.js';
import { claimWarm } from './pool.js';
import { defaults, startMicroVm, type StartOptions, type Started } from './start.js';
import type { VmResult } from './verdict.js';

export type { VmResult } from './verdict.js';

/** How long past its boot deadline an unused handle waits before destroying itself. */
export const DEFAULT_IDLE_GRACE_MS = 120_000;

export interface VmLaunchOptions extends StartOptions {
  readonly connector: string;
  readonly endpoints: readonly Endpoint[];
  /** Unused this long after the boot deadline, the handle destroys its VM. */
  readonly idleGraceMs?: number;
}

export interface VmReady {
  /** VMM start to agent ready (for a warm VM: when it was started, ahead of time). */
  readonly bootMs: number;
  readonly mode: 'cold' | 'restored' | 'warm';
  readonly verifyMs: number;
  /** launchVm() to ready: what the caller actually waited. */
  readonly waitMs: number;
  readonly snapshot?: string;
}

export interface VmActionRequest extends IsolatedCall {
  /** From the request's delivery to the result. */
  readonly actionDeadlineMs: number;
}

export interface VmHandle {
  /** e.g. "QEMU (tcg)". */
  readonly backend: string;
  /** Rejects with a GatewayError (GW_IMAGE_INVALID, GW_VM_FAILED, GW_SNAPSHOT_INVALID, ...). */
  readonly ready: Promise<VmReady>;
  /** The one action of this VM; refused before delivery, indeterminate after: never resent. */
  run(req: VmActionRequest): Promise<VmResult>;
  /** Idempotent: kills the VMM's process group and removes its files. */
  destroy(): Promise<void>;
}

class Handle implements VmHandle {
  readonly backend: string;
  readonly ready: Promise<VmReady>;
  private readonly started: Promise<Started & { warm: boolean }>;
  private idle: NodeJS.Timeout | null;
  private destroyed = false;

  constructor(private readonly o: VmLaunchOptions) {
    const t0 = performance.now();
    this.backend = `QEMU (${defaults(o).accel.accel})`;
    this.started = this.start();
    this.ready = this.started.then(async (s) => {
      const info = await s.vm.ready;
      // The connector's code (an SDK takes seconds to load under emulation) is imported
      // while the confirmation is awaited; it learns nothing of the action until run().
      const module = s.image.manifest.connectors[o.connector];
      if (module && !this.destroyed) s.vm.channel.send({ t: 'load', module });
      return { bootMs: info.bootMs, mode: s.warm ? 'warm' as const : info.mode,
        verifyMs: s.verifyMs, waitMs: performance.now() - t0,
        ...(info.snapshot ? { snapshot: info.snapshot } : {}) };
    });
    this.ready.catch(() => {});
    this.idle = setTimeout(() => {
      this.o.firelog?.line(`microVM for connector=${o.connector} destroyed unused`);
      void this.destroy();
    }, o.bootDeadlineMs + (o.idleGraceMs ?? DEFAULT_IDLE_GRACE_MS));
    this.idle.unref();
  }

  private async start(): Promise<Started & { warm: boolean }> {
    const warm = claimWarm(this.o);
    if (warm) {
      this.o.firelog?.line(`microVM for connector=${this.o.connector} taken from the warm pool`);
      warm.vm.channel.authorize(this.o.endpoints, this.o.connector);
      return { ...warm, warm: true };
    }
    const s = await startMicroVm(this.o, this.o.connector, this.o.connector);
    if (this.destroyed) await s.vm.destroy();
    return { ...s, warm: false };
  }

  async run(req: VmActionRequest): Promise<VmResult> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    let s: Started & { warm: boolean };
    try {
      s = await this.started;
    } catch (err) {
      const e = asGatewayError(err, 'GW_VM_FAILED');
      return this.refused(e.code, e.message);
    }
    const module = s.image.manifest.connectors[this.o.connector];
    if (!module) {
      await s.vm.destroy();
      return this.refused('GW_CONNECTOR_UNAVAILABLE',
        `the microVM image holds no ${this.o.connector} connector`, s.verifyMs);
    }
    const r = await s.vm.run({ ...req, connector: this.o.connector, module,
      endpoints: this.o.endpoints, verifyMs: s.verifyMs });
    const mode = await s.vm.ready.then((i) => (s.warm ? 'warm' as const : i.mode), () => null);
    return mode ? { ...r, mode } : r;
  }

  private refused(code: ErrorCode, message: string, verifyMs: number | null = null): VmResult {
    return { outcome: 'refused', error: { code, message }, backend: this.backend, bootMs: null,
      verifyMs, egress: { attempts: 0, allowed: 0, denied: 0, connected: 0 }, console: '' };
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    try {
      const s = await this.started;
      await s.vm.destroy();
    } catch {
      // never started: nothing to destroy
    }
  }
}

export function launchVm(o: VmLaunchOptions): VmHandle {
  return new Handle(o);
}
