/**
 * Which VMM runs the critical tier on this host, with which accelerator, and why.
 *
 * The choice follows the configuration (`[microvm] backend`, or the original guide's `vmm`)
 * and what the host can really do. "auto" prefers Firecracker where its binary and a KVM
 * that boots a stock guest exist, else QEMU with such a KVM, else QEMU under software
 * emulation. A backend named explicitly is never swapped for another: when it cannot run,
 * the tier is refused with what to install (fail closed). Pure functions over injected host
 * facts, so the decision is unit-tested without the hardware.
 */
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, type ErrorCode } from '../../errors.js';
import { which } from '../host.js';
import { chooseAccel, readKvmFacts, type AccelChoice, type KvmFacts } from './qemu.js';

export type Backend = 'qemu' | 'firecracker';
export type BackendRequest = 'auto' | Backend;
/** Guest architectures an image can be built for (the manifest's `arch`). */
export type GuestArch = 'x86_64' | 'aarch64';

/**
 * The Firecracker backend's API client exists (firecracker.ts), but the guest agent speaks
 * virtio-serial only (Node.js has no AF_VSOCK), so Firecracker cannot carry an action yet.
 */
export const FIRECRACKER_CARRIES_ACTIONS = false;

export interface HostFacts {
  readonly arch: GuestArch | null;
  readonly kvm: KvmFacts;
  readonly firecracker: string | null;
  /** The QEMU system emulator for the host's architecture. */
  readonly qemu: string | null;
}

export function hostArch(arch: string = process.arch): GuestArch | null {
  return arch === 'x64' ? 'x86_64' : arch === 'arm64' ? 'aarch64' : null;
}

/** Debian's meta package whose dependency is the cloud kernel for a guest architecture. */
export function kernelMetaPackage(arch: GuestArch): string {
  return arch === 'aarch64' ? 'linux-image-cloud-arm64' : 'linux-image-cloud-amd64';
}

/** `--arch` spellings: Debian's (amd64, arm64) and the kernel's (x86_64, aarch64). */
export function parseArch(text: string): GuestArch {
  if (text === 'x86_64' || text === 'amd64') return 'x86_64';
  if (text === 'aarch64' || text === 'arm64') return 'aarch64';
  throw new GatewayError('GW_USAGE', `--arch ${text}: expected x86_64 (amd64) or aarch64 (arm64)`);
}

export function qemuSystemBinary(arch: GuestArch): string {
  return arch === 'aarch64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
}

export function readHostFacts(): HostFacts {
  const arch = hostArch();
  return { arch, kvm: readKvmFacts(), firecracker: which('firecracker'),
    qemu: arch ? which(qemuSystemBinary(arch)) : null };
}

/**
 * The backend the configuration asks for: `[microvm] backend` when it is not "auto", else
 * `vmm`. Two explicit names that disagree are a configuration error, not a guess.
 */
export function requestedBackend(config: GatewayConfig): BackendRequest {
  const table = config.microvm.backend;
  if (table !== 'auto' && config.vmm !== 'auto' && table !== config.vmm) {
    throw new GatewayError('GW_CONFIG_INVALID',
      `vmm = "${config.vmm}" and [microvm] backend = "${table}" disagree: set one of them`);
  }
  return table !== 'auto' ? table : config.vmm;
}

/**
 * KVM only where a stock guest really boots under it. On x86-64 that is a /dev/kvm backed
 * by kvm_intel or kvm_amd (a PVM /dev/kvm hangs the Debian kernel: qemu.ts). On aarch64
 * KVM is usually built into the kernel (no module to name), so /dev/kvm without PVM counts.
 */
export function accelFor(arch: GuestArch | null, kvm: KvmFacts): AccelChoice {
  if (arch !== 'aarch64') return chooseAccel(kvm);
  if (!kvm.device) return { accel: 'tcg', why: 'no /dev/kvm: software emulation' };
  if (kvm.modules.includes('kvm_pvm')) {
    return { accel: 'tcg', why: '/dev/kvm is PVM: software emulation' };
  }
  return { accel: 'kvm', why: '/dev/kvm on aarch64 (virtualisation extensions)' };
}

export interface BackendChoice {
  readonly backend: Backend | null;
  readonly accel: AccelChoice;
  /** One line for `gateway doctor`: which backend, which accelerator, and why. */
  readonly why: string;
  /** Set when no backend can run: what is missing and what to install. */
  readonly missing: string | null;
  readonly code: ErrorCode | null;
}

const FC_INSTALL = 'install the firecracker binary (a release from ' +
  'github.com/firecracker-microvm/firecracker) on a host with hardware KVM';
const FC_GAP = 'the guest agent has no vsock transport yet, so Firecracker cannot carry an action';

export function chooseBackend(request: BackendRequest, facts: HostFacts): BackendChoice {
  const accel = accelFor(facts.arch, facts.kvm);
  const kvm = accel.accel === 'kvm';
  const refuse = (missing: string): BackendChoice =>
    ({ backend: null, accel, why: missing, missing, code: 'GW_VMM_UNAVAILABLE' });
  if (!facts.arch) return refuse(`no microVM backend for the ${process.arch} architecture`);
  if (request === 'firecracker') {
    if (!facts.firecracker) {
      return refuse(`backend "firecracker" was asked for but no firecracker binary is ` +
        `installed: ${FC_INSTALL}`);
    }
    if (!kvm) return refuse(`backend "firecracker" needs a usable KVM, but ${accel.why}`);
    if (!FIRECRACKER_CARRIES_ACTIONS) return refuse(`backend "firecracker": ${FC_GAP}`);
    return { backend: 'firecracker', accel, missing: null, code: null,
      why: `Firecracker (KVM): asked for in the configuration; ${accel.why}` };
  }
  if (request === 'auto' && facts.firecracker && kvm && FIRECRACKER_CARRIES_ACTIONS) {
    return { backend: 'firecracker', accel, missing: null, code: null,
      why: `Firecracker (KVM): auto, its binary and a usable KVM exist; ${accel.why}` };
  }
  const binary = qemuSystemBinary(facts.arch);
  if (!facts.qemu) {
    const pkg = facts.arch === 'aarch64' ? 'qemu-system-arm' : 'qemu-system-x86';
    return refuse(`${binary} is not installed (apt-get install ${pkg})`);
  }
  const machine = facts.arch === 'aarch64' ? 'virt' : 'microvm';
  const because = request === 'qemu' ? 'asked for in the configuration'
    : !facts.firecracker ? 'auto, no firecracker binary'
      : !kvm ? 'auto, firecracker present but no usable KVM'
        : `auto, firecracker present but ${FC_GAP}`;
  return { backend: 'qemu', accel, missing: null, code: null,
    why: `QEMU -M ${machine}, ${kvm ? 'KVM' : 'software emulation (TCG)'}: ${because}; ` +
      accel.why };
}
