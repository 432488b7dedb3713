/**
 * Can this host run a critical action in a microVM, with which backend, and why (for the
 * executor and `gateway doctor`). The backend follows `vmm` and what the host can really do;
 * the image must exist, be signed, and (with `deep`) verify file by file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../../config/load.js';
import { asGatewayError } from '../../errors.js';
import { loadPublicKey } from '../../keys/keys.js';
import { which } from '../host.js';
import { projectRoot } from '../sandbox/paths.js';
import { defaultImageDir } from './build.js';
import { MANIFEST_FILE, SIGNATURE_FILE, verifyImage } from './image.js';
import { chooseAccel, qemuBinary, readKvmFacts, type AccelChoice } from './qemu.js';

export interface VmProbe {
  /** Null when critical actions can run; otherwise why not, in words. */
  readonly unavailable: string | null;
  readonly backend: 'qemu' | 'firecracker' | null;
  /** Which backend and why, for `gateway doctor`. */
  readonly why: string;
  readonly accel: AccelChoice;
  readonly imageDir: string;
  readonly publicKey: Uint8Array | null;
}

export interface VmProbeOptions {
  readonly imageDir?: string;
  readonly keysDir?: string;
  /** Hash every artefact now (doctor); the executor verifies in full before each boot anyway. */
  readonly deep?: boolean;
}

function chooseBackend(config: GatewayConfig, accel: AccelChoice):
{ backend: 'qemu' | 'firecracker' | null; why: string; missing: string | null } {
  const firecracker = which('firecracker');
  const hardwareKvm = accel.accel === 'kvm';
  // The guest agent speaks virtio-serial; its vsock side (Node.js has no AF_VSOCK) is not built.
  const fcGap = 'the guest agent has no vsock transport yet, so the Firecracker backend ' +
    'cannot carry an action';
  if (config.vmm === 'firecracker') {
    const missing = !firecracker ? 'vmm = "firecracker" but no firecracker binary is installed'
      : !hardwareKvm ? `vmm = "firecracker" but ${accel.why}` : `vmm = "firecracker" but ${fcGap}`;
    return { backend: null, why: missing, missing };
  }
  const qemu = qemuBinary();
  if (!qemu) {
    const missing = 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)';
    return { backend: null, why: missing, missing };
  }
  const fcNote = config.vmm === 'qemu' ? 'vmm = "qemu"'
    : !firecracker ? 'no firecracker binary'
      : !hardwareKvm ? `firecracker present but ${accel.why}` : `firecracker present but ${fcGap}`;
  return { backend: 'qemu', missing: null,
    why: `QEMU microvm, ${accel.accel === 'kvm' ? 'KVM' : 'software emulation (TCG)'}: ` +
      `${fcNote}; ${accel.why}` };
}

export async function probeVm(config: GatewayConfig, opts: VmProbeOptions = {}):
Promise<VmProbe> {
  const accel = chooseAccel(readKvmFacts());
  const imageDir = opts.imageDir ?? defaultImageDir();
  const keysDir = opts.keysDir ?? path.resolve(projectRoot(), config.keys_dir);
  const chosen = chooseBackend(config, accel);
  const base = { backend: chosen.backend, why: chosen.why, accel, imageDir };
  if (chosen.missing) return { ...base, unavailable: chosen.missing, publicKey: null };
  let publicKey: Uint8Array;
  try {
    publicKey = loadPublicKey(keysDir, 'image');
  } catch (err) {
    const e = asGatewayError(err);
    return { ...base, publicKey: null,
      unavailable: `the image signing key cannot be read (${e.code}: ${e.message})` };
  }
  if (!existsSync(path.join(imageDir, MANIFEST_FILE)) ||
      !existsSync(path.join(imageDir, SIGNATURE_FILE))) {
    return { ...base, publicKey, unavailable: `no signed microVM image in ${imageDir} ` +
      '(gateway rootfs build, then gateway rootfs sign)' };
  }
  if (opts.deep) {
    try {
      await verifyImage(imageDir, publicKey);
    } catch (err) {
      const e = asGatewayError(err);
      return { ...base, publicKey, unavailable: `${e.code}: ${e.message}` };
    }
  }
  return { ...base, publicKey, unavailable: null };
}
