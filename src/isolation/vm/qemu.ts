/**
 * The QEMU backend: `-M microvm` on x86-64, with exactly four devices (the read-only root
 * disk, a virtio-serial port for the agent, a virtio RNG, the serial console) and no network
 * device. KVM is used only where it can really boot a stock guest: a /dev/kvm that is not
 * backed by hardware virtualisation (this build machine's PVM) hangs the Debian kernel, so
 * its presence alone decides nothing.
 */
import { existsSync } from 'node:fs';
import { which } from '../host.js';
import type { VerifiedImage } from './image.js';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  readonly accel: Accel;
  readonly why: string;
}

/** Where the host's KVM comes from, read from /sys; injectable for tests. */
export interface KvmFacts {
  readonly device: boolean;
  readonly modules: readonly string[];
}

export function readKvmFacts(): KvmFacts {
  const modules = ['kvm_intel', 'kvm_amd', 'kvm_pvm'].filter((m) => existsSync(`/sys/module/${m}`));
  return { device: existsSync('/dev/kvm'), modules };
}

export function chooseAccel(facts: KvmFacts = readKvmFacts()): AccelChoice {
  if (!facts.device) return { accel: 'tcg', why: 'no /dev/kvm: software emulation' };
  if (facts.modules.includes('kvm_intel') || facts.modules.includes('kvm_amd')) {
    return { accel: 'kvm', why: `/dev/kvm backed by ${facts.modules.join(', ')}` };
  }
  const what = facts.modules.includes('kvm_pvm') ? 'PVM (paravirtual, no VMX/SVM)'
    : 'no kvm_intel or kvm_amd module';
  return { accel: 'tcg',
    why: `/dev/kvm is ${what}: a stock guest kernel does not boot under it; software emulation` };
}

/** The host's own QEMU system emulator (aarch64 on a Pi 5, x86-64 elsewhere). */
export function qemuBinary(): string | null {
  return which(process.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64');
}

export interface QemuPlan {
  readonly image: VerifiedImage;
  readonly agentSocket: string;
  readonly accel: Accel;
  readonly memMib: number;
}

export function qemuArgs(plan: QemuPlan): string[] {
  // `microvm` exists for x86-64 only: an aarch64 image boots on the `virt` machine.
  if (plan.image.manifest.arch === 'aarch64') return qemuVirtArgs(plan);
  // pit and pic on: with microvm's defaults (off) boots under emulation hang (REFERENCE.md).
  const machine = `microvm,pit=on,pic=on,rtc=on${plan.accel === 'kvm' ? ',accel=kvm' : ''}`;
  return ['-M', machine, ...commonArgs(plan)];
}

/**
 * aarch64 (a Raspberry Pi 5): `-M virt` with its GIC and virtio-mmio transports, the same
 * four devices on virtio-mmio, no network device and the same sandbox flags. Under KVM the
 * host's CPU and GIC version are used; under emulation a GICv3 and the `max` CPU model.
 * Unit-tested as an argument list only: this build machine is x86-64 (README).
 */
export function qemuVirtArgs(plan: QemuPlan): string[] {
  const kvm = plan.accel === 'kvm';
  return ['-M', `virt,gic-version=${kvm ? 'host' : '3'}${kvm ? ',accel=kvm' : ''}`,
    '-cpu', kvm ? 'host' : 'max', ...commonArgs(plan)];
}

/**
 * Both machines: one vCPU, no defaults and no network device, QEMU's own seccomp sandbox,
 * the signed kernel, initramfs and command line, and exactly four devices (the read-only
 * root disk, the agent's virtio-serial port, a virtio RNG, the serial console).
 */
function commonArgs(plan: QemuPlan): string[] {
  return [
    '-accel', plan.accel, '-m', String(plan.memMib), '-smp', '1',
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-nic', 'none',
    // No new processes, no privilege changes, no obsolete syscalls, no resource control.
    '-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    '-kernel', plan.image.kernel, '-initrd', plan.image.initrd,
    '-append', plan.image.manifest.cmdline,
    '-serial', 'stdio',
    '-drive', `id=root,file=${plan.image.rootfs},format=raw,if=none,readonly=on`,
    '-device', 'virtio-blk-device,drive=root',
    '-device', 'virtio-serial-device',
    '-chardev', `socket,id=agent,path=${plan.agentSocket}`,
    '-device', 'virtserialport,chardev=agent,name=gw.agent',
    '-device', 'virtio-rng-device',
  ];
}
