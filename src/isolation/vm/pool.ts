/**
 * The warm pool: `[microvm] warm_pool` VMs started ahead of time (restored from the signed
 * snapshot, or cold), so that a critical action does not wait for a boot. The VMs are
 * connector-agnostic (the agent is told the connector module with the action), so any
 * launch for the same image, memory size and accelerator may claim one. Each VM is used
 * once; a claimed or dead VM is replaced in the background, one start at a time (the host
 * has few cores); close() destroys them all.
 *
 * The image was verified in full when a pooled VM started; at claim time its manifest
 * signature is checked again and must still name the same image.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { GatewayError, asGatewayError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Firelog } from './firelog.js';
import { MANIFEST_FILE, SIGNATURE_FILE, type ImageManifest } from './image.js';
import { chooseAccel, type AccelChoice } from './qemu.js';
import { imageHash, type SnapshotKey } from './snapshot.js';
import { defaults, startMicroVm, type StartOptions, type Started } from './start.js';

export interface WarmPoolOptions extends StartOptions {
  readonly size: number;
  /** How a VM is started (startMicroVm; a fake in unit tests of the pool's logic). */
  readonly starter?: typeof startMicroVm;
}

/** What a launch must match to take a pooled VM. */
export interface PoolClaim {
  readonly imageDir: string;
  readonly publicKey: Uint8Array;
  readonly memMib?: number;
  readonly accel?: AccelChoice;
}

const pools = new Set<WarmPool>();
/** Consecutive failed starts after which the pool stops trying until its next claim. */
const MAX_FAILURES = 3;

/** The manifest now on disk still verifies and is the one the pooled VMs booted. */
function stillSameImage(dir: string, publicKey: Uint8Array, hash: string): boolean {
  try {
    const bytes = readFileSync(path.join(dir, MANIFEST_FILE));
    const sig = Buffer.from(readFileSync(path.join(dir, SIGNATURE_FILE), 'utf8').trim(),
      'base64');
    if (sig.length !== nacl.sign.signatureLength ||
        !nacl.sign.detached.verify(new Uint8Array(bytes), new Uint8Array(sig), publicKey)) {
      return false;
    }
    return imageHash(JSON.parse(bytes.toString('utf8')) as ImageManifest) === hash;
  } catch {
    return false;
  }
}

export class WarmPool {
  private readonly vms: Started[] = [];
  private filling = false;
  private closed = false;
  private failures = 0;
  readonly accel: AccelChoice;
  readonly memMib: number;
  private readonly firelog: Firelog;
  private readonly log: Logger;

  constructor(private readonly o: WarmPoolOptions) {
    const d = defaults(o);
    this.accel = d.accel;
    this.memMib = d.memMib;
    this.firelog = d.firelog;
    this.log = o.log;
  }

  /** Registers the pool (launchVm claims from it) and starts filling it. */
  start(): this {
    pools.add(this);
    this.fill();
    return this;
  }

  /** VMs held now (started or starting). */
  get count(): number {
    return this.vms.length;
  }

  /** Resolves when the pool holds `size` VMs whose agents are ready (tests, the bench). */
  async whenFull(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      if (this.failures >= MAX_FAILURES && !this.filling) {
        throw new GatewayError('GW_VM_FAILED', 'the warm pool cannot start its VMs');
      }
      if (this.vms.length >= this.o.size && !this.filling) {
        const ready = await Promise.allSettled(this.vms.map((v) => v.vm.ready));
        if (ready.every((r) => r.status === 'fulfilled') && this.vms.length >= this.o.size) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private fill(): void {
    if (this.filling || this.closed) return;
    this.filling = true;
    void (async () => {
      while (!this.closed && this.vms.length < this.o.size && this.failures < MAX_FAILURES) {
        try {
          const s = await (this.o.starter ?? startMicroVm)(this.o, 'warm pool', null);
          if (this.closed) {
            await s.vm.destroy();
            break;
          }
          this.vms.push(s);
          await s.vm.ready.then(() => {
            this.failures = 0;
          }, async (err: unknown) => {
            this.failures++;
            this.drop(s);
            await s.vm.destroy();
            const e = asGatewayError(err, 'GW_VM_FAILED');
            this.log.warn({ code: e.code, err: e.message }, 'warm pool VM failed to start');
          });
        } catch (err) {
          this.failures++;
          const e = asGatewayError(err, 'GW_VM_FAILED');
          this.log.warn({ code: e.code, err: e.message }, 'warm pool cannot start a VM');
        }
      }
      this.filling = false;
    })();
  }

  private drop(s: Started): void {
    const i = this.vms.indexOf(s);
    if (i >= 0) this.vms.splice(i, 1);
  }

  matches(c: PoolClaim): boolean {
    return !this.closed && path.resolve(c.imageDir) === path.resolve(this.o.imageDir) &&
      Buffer.from(c.publicKey).equals(Buffer.from(this.o.publicKey)) &&
      (c.memMib ?? 256) === this.memMib &&
      (c.accel ?? chooseAccel()).accel === this.accel.accel;
  }

  /** A VM for one action (the oldest, most likely ready), or null; the pool refills. */
  claim(): Started | null {
    // A pool that gave up after failed starts tries again when it is needed.
    if (this.failures >= MAX_FAILURES) this.failures = 0;
    for (const s of [...this.vms]) if (s.vm.dead) this.drop(s);
    if (this.vms.length === 0) {
      this.fill();
      return null;
    }
    const hash = this.vms[0]?.imageHash ?? '';
    if (!stillSameImage(this.o.imageDir, this.o.publicKey, hash)) {
      this.firelog.line('warm pool: the image changed or no longer verifies; pool emptied');
      for (const s of this.vms.splice(0)) void s.vm.destroy();
      this.fill();
      return null;
    }
    const s = this.vms.shift() ?? null;
    this.fill();
    return s;
  }

  /** Destroys every pooled VM and unregisters the pool. */
  async close(): Promise<void> {
    this.closed = true;
    pools.delete(this);
    await Promise.all(this.vms.splice(0).map((s) => s.vm.destroy()));
  }
}

/** Takes a VM from a matching pool, or returns null (launchVm then starts its own). */
export function claimWarm(c: PoolClaim): Started | null {
  for (const pool of pools) {
    if (pool.matches(c)) {
      const s = pool.claim();
      if (s) return s;
    }
  }
  return null;
}

/** Closes every pool (gateway shutdown). */
export async function closeAllPools(): Promise<void> {
  await Promise.all([...pools].map((p) => p.close()));
}

export type { SnapshotKey };
