/**
 * The critical tier's backend choice (configuration and host facts, injected) and the
 * aarch64 pieces that this x86-64 machine can check: the `virt` machine's QEMU arguments,
 * the arm64 kernel package, and the refusal of a cross build. Nothing is booted.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';
import {
  accelFor, chooseBackend, kernelMetaPackage, parseArch, requestedBackend, type HostFacts,
} from '../../src/isolation/vm/backend.js';
import { checkBuildArch } from '../../src/isolation/vm/build.js';
import type { ImageManifest } from '../../src/isolation/vm/image.js';
import { qemuArgs } from '../../src/isolation/vm/qemu.js';

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof GatewayError ? err.code : String(err);
  }
}

const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  arch: 'x86_64', kvm: { device: false, modules: [] }, firecracker: null,
  qemu: '/usr/bin/qemu-system-x86_64', ...over,
});

describe('backend choice', () => {
  it('picks QEMU under emulation, KVM only when it can boot a guest, and says why', () => {
    const tcg = chooseBackend('auto', facts());
    expect(tcg).toMatchObject({ backend: 'qemu', missing: null });
    expect(tcg.accel.accel).toBe('tcg');
    expect(tcg.why).toMatch(/QEMU -M microvm, software emulation \(TCG\): auto, no firecracker/);
    const pvm = chooseBackend('auto', facts({ kvm: { device: true, modules: ['kvm_pvm'] } }));
    expect(pvm.accel.accel).toBe('tcg');
    expect(pvm.why).toContain('PVM');
    const kvm = chooseBackend('qemu', facts({ kvm: { device: true, modules: ['kvm_intel'] } }));
    expect(kvm.accel.accel).toBe('kvm');
    expect(kvm.why).toMatch(/QEMU -M microvm, KVM: asked for in the configuration/);
    // Firecracker with a real KVM: auto still says why it is not used (no vsock agent yet).
    const fc = chooseBackend('auto', facts({ firecracker: '/usr/bin/firecracker',
      kvm: { device: true, modules: ['kvm_amd'] } }));
    expect(fc.backend).toBe('qemu');
    expect(fc.why).toContain('firecracker present but the guest agent has no vsock transport');
  });

  it('refuses an explicit firecracker it cannot run, saying what to install', () => {
    const none = chooseBackend('firecracker', facts());
    expect(none).toMatchObject({ backend: null, code: 'GW_VMM_UNAVAILABLE' });
    expect(none.missing).toContain('install the firecracker binary');
    const noKvm = chooseBackend('firecracker', facts({ firecracker: '/usr/bin/firecracker',
      kvm: { device: true, modules: ['kvm_pvm'] } }));
    expect(noKvm.backend).toBeNull();
    expect(noKvm.missing).toContain('needs a usable KVM');
    const noQemu = chooseBackend('qemu', facts({ arch: 'aarch64', qemu: null }));
    expect(noQemu.missing).toContain('apt-get install qemu-system-arm');
  });

  it('takes [microvm] backend over vmm and refuses two names that disagree', () => {
    expect(requestedBackend(validateConfig({}, 't'))).toBe('auto');
    expect(requestedBackend(validateConfig({ vmm: 'qemu' }, 't'))).toBe('qemu');
    expect(requestedBackend(validateConfig({ microvm: { backend: 'firecracker' } }, 't')))
      .toBe('firecracker');
    expect(code(() => requestedBackend(validateConfig({ vmm: 'qemu',
      microvm: { backend: 'firecracker' } }, 't')))).toBe('GW_CONFIG_INVALID');
  });

  it('on aarch64 uses KVM without an x86 module and the virt machine', () => {
    expect(accelFor('aarch64', { device: true, modules: [] }).accel).toBe('kvm');
    expect(accelFor('aarch64', { device: true, modules: ['kvm_pvm'] }).accel).toBe('tcg');
    expect(accelFor('x86_64', { device: true, modules: [] }).accel).toBe('tcg');
    const arm = chooseBackend('auto', facts({ arch: 'aarch64', qemu: '/usr/bin/qemu-system-aarch64',
      kvm: { device: true, modules: [] } }));
    expect(arm.why).toMatch(/^QEMU -M virt, KVM/);
  });
});

describe('aarch64 virt machine and build', () => {
  const image = (arch: string, dir = '/img'): Parameters<typeof qemuArgs>[0]['image'] => ({
    dir, kernel: `${dir}/vmlinuz`, initrd: `${dir}/initrd.img`, rootfs: `${dir}/rootfs.ext4`,
    manifest: { arch, cmdline: 'console=ttyAMA0 quiet' } as ImageManifest,
  });

  it('starts qemu-system-aarch64 -M virt with virtio-mmio devices, no NIC, the sandbox on', () => {
    const args = qemuArgs({ image: image('aarch64'), agentSocket: '/run/a.sock', accel: 'tcg',
      memMib: 256 });
    const at = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? '']
      : []));
    expect(at('-M')).toEqual(['virt,gic-version=3']);
    expect(at('-cpu')).toEqual(['max']);
    expect(at('-nic')).toEqual(['none']);
    expect(at('-sandbox')[0]).toMatch(/^on,.*spawn=deny/);
    expect(at('-device')).toEqual(['virtio-blk-device,drive=root', 'virtio-serial-device',
      'virtserialport,chardev=agent,name=gw.agent', 'virtio-rng-device']);
    expect(at('-drive')[0]).toContain('readonly=on');
    expect(args.join(' ')).not.toMatch(/microvm|virtio-net|-netdev|pci/);
    const kvm = qemuArgs({ image: image('aarch64'), agentSocket: '/a', accel: 'kvm', memMib: 128 });
    expect(kvm.slice(0, 4)).toEqual(['-M', 'virt,gic-version=host,accel=kvm', '-cpu', 'host']);
    // An x86-64 image keeps the microvm machine.
    const x86 = qemuArgs({ image: image('x86_64'), agentSocket: '/a', accel: 'tcg', memMib: 128 });
    expect(x86[1]).toMatch(/^microvm,/);
  });

  it('names the arm64 cloud kernel and refuses a cross build before downloading', () => {
    expect(kernelMetaPackage('aarch64')).toBe('linux-image-cloud-arm64');
    expect(kernelMetaPackage('x86_64')).toBe('linux-image-cloud-amd64');
    expect(parseArch('arm64')).toBe('aarch64');
    expect(code(() => parseArch('riscv64'))).toBe('GW_USAGE');
    expect(checkBuildArch(undefined, 'x86_64')).toBe('x86_64');
    let message = '';
    try {
      checkBuildArch('aarch64', 'x86_64');
    } catch (err) {
      message = (err as GatewayError).code + (err as Error).message;
    }
    expect(message).toMatch(/^GW_IMAGE_BUILD.*linux-image-cloud-arm64/);
    expect(checkBuildArch('aarch64', 'aarch64')).toBe('aarch64');
  });
});
