/**
 * One QEMU microVM from its start to its destruction: booted cold (and then, when asked,
 * saved as a signed snapshot) or restored from a verified snapshot; its agent reseeded
 * after any snapshot; one action delivered at most once; killed at its deadlines; its
 * process group, agent socket and folder removed at the end. launch.ts, run.ts and the
 * warm pool build on this; none of them talks to QEMU directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Endpoint } from '../../connectors/types.js';
import { GatewayError, asGatewayError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BrokerStats } from '../sandbox/broker.js';
import { redactSecrets } from '../sandbox/run.js';
import type { WorkerResponse } from '../sandbox/worker.js';
import { AgentChannel, type ReadyInfo } from './channel.js';
import type { Firelog } from './firelog.js';
import type { VerifiedImage } from './image.js';
import { RESUME_ENTROPY_BYTES } from './protocol.js';
import { QmpClient } from './qmp.js';
import { qemuArgs, type AccelChoice } from './qemu.js';
import { makeSnapshot, type SnapshotParams, type VerifiedSnapshot } from './snapshot.js';
import { judge, type VmResult } from './verdict.js';
import { TEMP_PREFIX, sweepStaleVmDirs } from './vmdir.js';
import type { IsolatedCall } from '../call.js';

export { sweepStaleVmDirs } from './vmdir.js';

/** Kept from the guest's console: enough to diagnose a failed boot, bounded under a flood. */
export const MAX_CONSOLE_BYTES = 16 * 1024;

export interface MicroVmSpec {
  readonly image: VerifiedImage;
  readonly qemu: string;
  readonly accel: AccelChoice;
  readonly memMib: number;
  readonly bootDeadlineMs: number;
  readonly log: Logger;
  readonly firelog: Firelog;
  /** For the event log: the connector, or "warm pool" for a VM started ahead of its use. */
  readonly label: string;
}

export interface SnapshotTarget {
  readonly dir: string;
  readonly params: SnapshotParams;
  readonly secretKey: Uint8Array;
}

export type BootPlan =
  | { readonly kind: 'cold'; readonly saveTo?: SnapshotTarget }
  | { readonly kind: 'restore'; readonly snapshot: VerifiedSnapshot };

export interface BootInfo {
  /** VMM start to the agent's (fresh) ready, host clock; excludes saving a snapshot. */
  readonly bootMs: number;
  readonly mode: 'cold' | 'restored';
  /** The snapshot restored from or saved, if any. */
  readonly snapshot?: string;
}

export interface RunPlan extends IsolatedCall {
  readonly connector: string;
  readonly module: string;
  readonly endpoints: readonly Endpoint[];
  readonly actionDeadlineMs: number;
  readonly verifyMs: number | null;
}

export class MicroVm {
  readonly backend: string;
  readonly ready: Promise<BootInfo>;
  readonly channel: AgentChannel;
  private readonly dir: string;
  private child: ChildProcess | null = null;
  private consoleText = '';
  private readonly exited: Promise<void>;
  private markExited: () => void = () => {};
  private hasExited = false;
  private killedBy: 'boot deadline' | 'action deadline' | 'cancelled' | null = null;
  private broken: string | null = null;
  private delivered = false;
  private response: WorkerResponse | null = null;
  private used = false;
  private destroying: Promise<void> | null = null;
  private bootMs: number | null = null;

  constructor(private readonly spec: MicroVmSpec, plan: BootPlan) {
    this.backend = `QEMU (${spec.accel.accel})`;
    this.exited = new Promise((resolve) => {
      this.markExited = () => {
        this.hasExited = true;
        resolve();
      };
    });
    sweepStaleVmDirs();
    this.dir = mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
    this.channel = new AgentChannel(path.join(this.dir, 'agent.sock'), [], spec.label, spec.log);
    this.channel.on('result', (r) => {
      if (!this.delivered) this.fail('the agent answered before any request');
      else if (this.response === null) {
        this.response = r as WorkerResponse;
        this.kill(null); // one action per VM: it is destroyed as soon as it has answered
      }
    });
    // A guest that broke the protocol or closed its stream gets no more time.
    this.channel.on('broken', (why) => {
      if (this.response === null) this.fail(why);
    });
    this.ready = this.boot(plan);
    this.ready.catch(() => {});
  }

  /** True once the VMM process is gone (or never started). */
  get dead(): boolean {
    return this.hasExited;
  }

  private fail(why: string): void {
    if (this.broken === null) this.broken = why;
    this.kill(null);
  }

  private kill(why: MicroVm['killedBy']): void {
    if (!this.killedBy && why) this.killedBy = why;
    const pid = this.child?.pid;
    try {
      if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (!this.child) this.markExited();
  }

  private keep = (chunk: Buffer): void => {
    this.consoleText = (this.consoleText + chunk.toString('utf8')).slice(-MAX_CONSOLE_BYTES);
  };

  /** The last of the guest's console output, bounded (diagnostics). */
  get console(): string {
    return this.consoleText;
  }

  /** The next "ready" frame, or a failure when the VM ends first. */
  private nextReady(): Promise<ReadyInfo> {
    return new Promise((resolve, reject) => {
      const onReady = (info: ReadyInfo): void => resolve(info);
      this.channel.once('ready', onReady);
      void this.exited.then(() => {
        this.channel.off('ready', onReady);
        reject(new GatewayError('GW_VM_FAILED', 'the microVM did not become ready: ' +
          `${this.killedBy ?? this.broken ?? 'the VMM exited'}`));
      });
    });
  }

  /** After a snapshot: fresh entropy and the time go in first; the agent says ready again. */
  private async resume(): Promise<ReadyInfo> {
    const entropy = randomBytes(RESUME_ENTROPY_BYTES);
    const ready = this.nextReady();
    this.channel.send({ t: 'resume', entropy: entropy.toString('base64'), nowMs: Date.now() });
    entropy.fill(0);
    const info = await ready;
    if (info.fresh !== true) {
      this.fail('the guest could not reseed its RNG');
      throw new GatewayError('GW_VM_FAILED',
        `the restored microVM could not reseed its RNG: ${info.error ?? 'no reason given'}`);
    }
    return info;
  }

  private async boot(plan: BootPlan): Promise<BootInfo> {
    const { spec } = this;
    const timer = setTimeout(() => this.kill('boot deadline'), spec.bootDeadlineMs);
    const restoring = plan.kind === 'restore';
    let snapshotFd = restoring ? plan.snapshot.fd : null;
    try {
      await this.channel.listen();
      if (this.destroying) throw new GatewayError('GW_VM_FAILED', 'destroyed before its start');
      const qmpPath = path.join(this.dir, 'qmp.sock');
      const args = qemuArgs({ image: spec.image, agentSocket: this.channel.socketPath,
        accel: spec.accel.accel, memMib: spec.memMib });
      if (plan.kind === 'cold' && plan.saveTo) {
        args.push('-qmp', `unix:${qmpPath},server=on,wait=off`);
      }
      // The verified descriptor itself becomes QEMU's fd 3: nothing is reopened by name.
      if (restoring) args.push('-incoming', 'fd:3');
      spec.firelog.line(restoring
        ? `Restoring ${this.backend} microVM for connector=${spec.label} from snapshot ` +
          plan.snapshot.id
        : `Spawning ${this.backend} microVM for connector=${spec.label}`);
      const started = performance.now();
      // Own process group (one kill reaches it all); SIGKILL when the gateway dies.
      const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', spec.qemu, ...args], {
        stdio: ['ignore', 'pipe', 'pipe', restoring ? plan.snapshot.fd : 'ignore'],
        detached: true, env: {},
      });
      this.child = child;
      if (snapshotFd !== null) closeSync(snapshotFd); // QEMU holds its own copy
      snapshotFd = null;
      child.stdout?.on('data', this.keep);
      child.stderr?.on('data', this.keep);
      child.once('error', (err) => {
        this.broken ??= `cannot start QEMU: ${err.message}`;
        this.markExited();
      });
      child.once('close', () => this.markExited());
      if (restoring) {
        // A restored guest is still waiting in its read: the host speaks first.
        await Promise.race([
          new Promise<void>((resolve) => this.channel.once('connected', resolve)),
          this.exited.then(() => {
            throw new GatewayError('GW_VM_FAILED', 'the microVM did not become ready: ' +
              `${this.killedBy ?? this.broken ?? 'the VMM exited'}`);
          })]);
        const connectedMs = performance.now() - started;
        const info = await this.resume();
        this.bootMs = performance.now() - started;
        spec.log.debug({ connectedMs, reseedMs: info.reseedMs, bootMs: this.bootMs },
          'microVM restored');
        spec.firelog.line(`microVM restore complete in ${Math.round(this.bootMs)} ms`);
        return { bootMs: this.bootMs, mode: 'restored', snapshot: plan.snapshot.id };
      }
      await this.nextReady();
      this.bootMs = performance.now() - started;
      spec.firelog.line(`microVM boot complete in ${Math.round(this.bootMs)} ms`);
      if (!plan.saveTo) return { bootMs: this.bootMs, mode: 'cold' };
      // One resume before the save: its code and pages are then in the saved state, and
      // each clone's resume runs warm (measured: ~50 ms less per restore under emulation).
      await this.resume();
      const saved = await this.save(qmpPath, plan.saveTo);
      // The saved state's RNG is now shared with every future clone: this VM reseeds too.
      await this.resume();
      return { bootMs: this.bootMs, mode: 'cold', ...(saved ? { snapshot: saved } : {}) };
    } catch (err) {
      this.kill(null);
      const e = asGatewayError(err, 'GW_VM_FAILED');
      spec.firelog.line(`microVM for connector=${spec.label} not ready: ${e.code}`);
      throw e;
    } finally {
      clearTimeout(timer);
      if (snapshotFd !== null) closeSync(snapshotFd);
    }
  }

  /** Pause, save and sign, continue. A failed save is logged; the VM itself goes on. */
  private async save(qmpPath: string, to: SnapshotTarget): Promise<string | null> {
    const t0 = performance.now();
    const qmp = await QmpClient.connect(qmpPath);
    try {
      const { id, bytes } = await makeSnapshot(qmp, to.dir, to.params, to.secretKey, this.dir);
      const ms = Math.round(performance.now() - t0);
      this.spec.firelog.line(`microVM snapshot ${id} saved in ${ms} ms (${bytes} bytes)`);
      this.spec.log.info({ snapshot: id, ms, bytes }, 'microVM snapshot saved');
      return id;
    } catch (err) {
      const e = asGatewayError(err, 'GW_VM_FAILED');
      this.spec.log.warn({ code: e.code, err: e.message }, 'microVM snapshot not saved');
      this.spec.firelog.line(`microVM snapshot not saved: ${e.code}`);
      return null;
    } finally {
      try {
        await qmp.execute('cont');
      } finally {
        qmp.close();
      }
    }
  }

  /** Delivers one action (at most once), waits for its answer or a deadline, destroys. */
  async run(p: RunPlan): Promise<VmResult> {
    const base = (): Omit<VmResult, 'outcome'> => ({ backend: this.backend, bootMs: this.bootMs,
      verifyMs: p.verifyMs, egress: { ...this.channel.stats } as BrokerStats,
      console: redactSecrets(this.consoleText, p.secrets) });
    const refuse = async (code: ErrorCode, message: string): Promise<VmResult> => {
      await this.destroy();
      return { ...base(), outcome: 'refused', error: { code, message } };
    };
    if (this.used) return { ...base(), outcome: 'refused', error: { code: 'GW_VM_FAILED',
      message: 'this microVM was already used: one action per VM' } };
    this.used = true;
    // Cancelled while still booting: the VM goes, nothing was sent.
    const onEarlyAbort = (): void => this.kill('cancelled');
    if (p.signal.aborted) onEarlyAbort();
    p.signal.addEventListener('abort', onEarlyAbort, { once: true });
    try {
      await this.ready;
    } catch (err) {
      const e = asGatewayError(err, 'GW_VM_FAILED');
      return refuse(e.code, e.message);
    } finally {
      p.signal.removeEventListener('abort', onEarlyAbort);
    }
    if (this.hasExited || this.broken !== null) {
      return refuse('GW_VM_FAILED',
        `the microVM died before the request: ${this.broken ?? 'exited'}`);
    }
    if (p.signal.aborted) return refuse('GW_VM_FAILED', 'cancelled before the request was sent');
    const started = performance.now();
    this.channel.authorize(p.endpoints, p.connector);
    const timer = setTimeout(() => this.kill('action deadline'), p.actionDeadlineMs);
    const onAbort = (): void => this.kill('cancelled');
    p.signal.addEventListener('abort', onAbort, { once: true });
    this.channel.send({ t: 'run', module: p.module, request: {
      action: p.action, input: p.input, settings: { ...p.settings }, secrets: { ...p.secrets },
      now: p.now.toISOString(), timeZone: p.timeZone, principal: p.principal,
      idempotencyKey: p.idempotencyKey ?? null } });
    this.delivered = true;
    await this.exited;
    clearTimeout(timer);
    p.signal.removeEventListener('abort', onAbort);
    const result = judge(p.secrets, base(), this.delivered, this.response, this.killedBy,
      this.broken);
    this.spec.firelog.line(`connector=${p.connector} action=${p.action} ` +
      `outcome=${result.outcome}${result.error ? ` code=${result.error.code}` : ''}` +
      ` total ${Math.round(performance.now() - started)} ms`);
    await this.destroy();
    return result;
  }

  /** Idempotent: kills the VMM's process group, closes the channel, removes the folder. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.used = true;
      this.kill(null);
      await this.exited;
      await this.channel.close();
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.destroying;
  }
}
