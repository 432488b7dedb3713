/**
 * The default guest kernel: Debian's cloud kernel package (`linux-image-cloud-<arch>`),
 * fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the build cache, never
 * installed on the host. Its virtio drivers are modules, which the initramfs loads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../../errors.js';
import { kernelMetaPackage, type GuestArch } from './backend.js';

/** The virtio modules the initramfs loads, in order (rootfs/init.sh). */
export const KERNEL_MODULES = [
  'drivers/virtio/virtio_ring.ko', 'drivers/virtio/virtio.ko', 'drivers/virtio/virtio_mmio.ko',
  'drivers/block/virtio_blk.ko', 'drivers/char/virtio_console.ko',
  'drivers/char/hw_random/virtio-rng.ko',
];

/** Runs a build tool; its failure is GW_IMAGE_BUILD with the last lines it printed. */
export function runTool(
  cmd: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv,
): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GatewayError('GW_IMAGE_BUILD', `${cmd} ${args.join(' ')}: ` +
      `${(e.stderr ?? e.message).trim().split('\n').slice(-2).join(' / ')}`);
  }
}

/** The versioned kernel package the meta package depends on, e.g. linux-image-6.1.0-57-... */
function kernelPackage(meta: string): string {
  const out = runTool('apt-cache', ['depends', meta]);
  const m = /Depends:\s*(linux-image-\S+)/.exec(out);
  if (!m?.[1]) throw new GatewayError('GW_IMAGE_BUILD', `no kernel behind ${meta}`);
  return m[1];
}

export interface GuestKernel {
  readonly deb: string;
  readonly vmlinuz: string;
  /** null: everything built in (the small kernel), no modules in the initramfs. */
  readonly modulesDir: string | null;
}

/** Downloads and unpacks the kernel package once per version into the cache. */
export function cloudGuestKernel(
  cacheDir: string, arch: GuestArch, progress: (s: string) => void,
): GuestKernel {
  const pkg = kernelPackage(kernelMetaPackage(arch));
  const debs = path.join(cacheDir, 'debs');
  mkdirSync(debs, { recursive: true });
  let deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) {
    progress(`downloading ${pkg} (apt-get download)`);
    runTool('apt-get', ['download', pkg], debs);
    deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new GatewayError('GW_IMAGE_BUILD', `apt-get download left no ${pkg} package`);
  }
  const unpacked = path.join(cacheDir, 'kernel', deb.replace(/\.deb$/, ''));
  if (!existsSync(path.join(unpacked, '.complete'))) {
    progress(`unpacking ${deb} (dpkg-deb -x)`);
    rmSync(unpacked, { recursive: true, force: true });
    mkdirSync(unpacked, { recursive: true });
    runTool('dpkg-deb', ['-x', path.join(debs, deb), unpacked]);
    writeFileSync(path.join(unpacked, '.complete'), '');
  }
  const boot = path.join(unpacked, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  const release = vmlinuz?.slice('vmlinuz-'.length);
  if (!vmlinuz || !release) throw new GatewayError('GW_IMAGE_BUILD', `no vmlinuz in ${deb}`);
  return { deb, vmlinuz: path.join(boot, vmlinuz),
    modulesDir: path.join(unpacked, 'lib', 'modules', release, 'kernel') };
}
