/**
 * Starting a microVM the safe way, shared by launchVm and the warm pool: verify the image
 * (signature and every artefact's hash), then choose the start: restore from a verified
 * signed snapshot, or boot cold (and save a snapshot for the next launches when asked).
 * A snapshot that fails verification refuses the start before any VMM runs; none at all
 * means a cold boot that makes one (one at a time per snapshot in this process).
 */
import { GatewayError, asGatewayError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { Firelog } from './firelog.js';
import { verifyImage, type VerifiedImage } from './image.js';
import { chooseAccel, qemuBinary, type AccelChoice } from './qemu.js';
import {
  imageHash, snapshotId, snapshotParams, verifySnapshot, type SnapshotKey,
} from './snapshot.js';
import { MicroVm, type BootPlan } from './vm.js';

export interface StartOptions {
  readonly imageDir: string;
  readonly publicKey: Uint8Array;
  readonly bootDeadlineMs: number;
  readonly log: Logger;
  readonly firelog?: Firelog;
  readonly memMib?: number;
  readonly accel?: AccelChoice;
  /** null/undefined: cold boots only. */
  readonly snapshotDir?: string | null;
  /** Verifies snapshots; with its secret half it also signs new ones. */
  readonly snapshotKey?: SnapshotKey | null;
}

export interface Started {
  readonly vm: MicroVm;
  readonly image: VerifiedImage;
  readonly imageHash: string;
  readonly verifyMs: number;
}

/** Snapshots being saved by this process: a second cold boot does not save the same one. */
const saving = new Set<string>();
let warnedNoKey = false;

export function defaults(o: StartOptions): { accel: AccelChoice; memMib: number;
  firelog: Firelog } {
  return { accel: o.accel ?? chooseAccel(), memMib: o.memMib ?? 256,
    firelog: o.firelog ?? new Firelog() };
}

/** Verifies and starts; throws a GatewayError (after an event-log line) when it must refuse. */
export async function startMicroVm(o: StartOptions, label: string,
  needsConnector: string | null): Promise<Started> {
  const { accel, memMib, firelog } = defaults(o);
  const refuse = (e: GatewayError): GatewayError => {
    firelog.line(`Refused microVM for connector=${label}: ${e.code} ${e.message}`);
    return e;
  };
  const t0 = performance.now();
  let image: VerifiedImage;
  try {
    image = await verifyImage(o.imageDir, o.publicKey);
  } catch (err) {
    throw refuse(asGatewayError(err, 'GW_IMAGE_INVALID'));
  }
  if (needsConnector !== null && !image.manifest.connectors[needsConnector]) {
    throw new GatewayError('GW_CONNECTOR_UNAVAILABLE',
      `the microVM image holds no ${needsConnector} connector`);
  }
  const qemu = qemuBinary();
  if (!qemu) {
    throw new GatewayError('GW_VM_FAILED',
      'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
  }
  let plan: BootPlan = { kind: 'cold' };
  if (o.snapshotDir && !o.snapshotKey && !warnedNoKey) {
    warnedNoKey = true;
    o.log.warn({ snapshotDir: o.snapshotDir },
      'microVM snapshots are on but no snapshot key was given: cold boots only');
  }
  if (o.snapshotDir && o.snapshotKey) {
    const params = snapshotParams(image.manifest, memMib, accel.accel, qemu);
    let snap;
    try {
      snap = verifySnapshot(o.snapshotDir, params, o.snapshotKey);
    } catch (err) {
      throw refuse(asGatewayError(err, 'GW_SNAPSHOT_INVALID'));
    }
    const id = snapshotId(params);
    if (snap) {
      plan = { kind: 'restore', snapshot: snap };
    } else if (o.snapshotKey.secretKey && !saving.has(id)) {
      plan = { kind: 'cold', saveTo: { dir: o.snapshotDir, params,
        secretKey: o.snapshotKey.secretKey } };
      saving.add(id);
    }
  }
  const verifyMs = performance.now() - t0;
  const vm = new MicroVm({ image, qemu, accel, memMib, bootDeadlineMs: o.bootDeadlineMs,
    log: o.log, firelog, label }, plan);
  if (plan.kind === 'cold' && plan.saveTo) {
    const id = snapshotId(plan.saveTo.params);
    vm.ready.finally(() => saving.delete(id)).catch(() => {});
  }
  return { vm, image, imageHash: imageHash(image.manifest), verifyMs };
}
