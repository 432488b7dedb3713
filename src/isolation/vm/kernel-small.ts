/**
 * The small guest kernel (`[microvm] kernel = "small"`, issue 6 item 1): Debian's
 * `linux-source-6.1`, configured as `make tinyconfig` plus rootfs/kernel-small.config, with
 * virtio-mmio, block, console, RNG and vsock built in, so that the initramfs needs no
 * modules. The source package is fetched with `apt-get download` and unpacked into the
 * cache (never installed); the bzImage is cached under the source version and the hash of
 * the fragment.
 *
 * buildImage takes it with `kernel: 'small'` (`gateway rootfs build --kernel small`) through
 * smallGuestKernel below; the default stays the cloud kernel. No test of ./scripts/test.sh
 * builds it (minutes of compiling): the unit tests cover the fragment and the cache key.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../../errors.js';
import { which } from '../host.js';
import { projectRoot } from '../sandbox/paths.js';

/** Changing how the small kernel is made changes this, and with it its cache key. */
const KERNEL_RECIPE_VERSION = '1';
export const SMALL_KERNEL_SOURCE = 'linux-source-6.1';
/** Symbols the guest cannot boot or run the agent without: checked in the fragment. */
export const REQUIRED_SYMBOLS = [
  '64BIT', 'PRINTK', 'TTY', 'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'BLK_DEV_INITRD',
  'BINFMT_ELF', 'BINFMT_SCRIPT', 'PROC_FS', 'SYSFS', 'DEVTMPFS', 'TMPFS', 'SHMEM', 'FUTEX',
  'EPOLL', 'EVENTFD', 'SIGNALFD', 'TIMERFD', 'MULTIUSER', 'NET', 'UNIX', 'VIRTIO_MMIO',
  'VIRTIO_MMIO_CMDLINE_DEVICES', 'VIRTIO_BLK', 'VIRTIO_CONSOLE', 'HW_RANDOM_VIRTIO',
  'VSOCKETS', 'VIRTIO_VSOCKETS', 'EXT4_FS', 'HIGH_RES_TIMERS',
] as const;
/** Must stay off: loadable modules, the IP stack and network devices. */
export const FORBIDDEN_SYMBOLS = ['MODULES', 'INET', 'NETDEVICES'] as const;

/** Host tools the kernel build runs, with the Debian package that has each. */
const BUILD_TOOLS: readonly { readonly tool: string; readonly pkg: string }[] = [
  { tool: 'make', pkg: 'make' }, { tool: 'gcc', pkg: 'gcc' }, { tool: 'bc', pkg: 'bc' },
  { tool: 'flex', pkg: 'flex' }, { tool: 'bison', pkg: 'bison' }, { tool: 'perl', pkg: 'perl' },
  { tool: 'xz', pkg: 'xz-utils' }, { tool: 'dpkg-deb', pkg: 'dpkg' },
  { tool: 'apt-get', pkg: 'apt' },
];
/** Headers: objtool (built for every x86-64 6.1 kernel) includes gelf.h. */
const BUILD_HEADERS: readonly { readonly file: string; readonly pkg: string }[] = [
  { file: '/usr/include/gelf.h', pkg: 'libelf-dev' },
];

export type Fragment = ReadonlyMap<string, string>;

/** `CONFIG_X=v` and `# CONFIG_X is not set` lines (as `n`); other comments are skipped. */
export function parseFragment(text: string): Fragment {
  const out = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const off = /^# CONFIG_([A-Z0-9_]+) is not set$/.exec(line);
    const on = /^CONFIG_([A-Z0-9_]+)=(.+)$/.exec(line);
    if (!line || (line.startsWith('#') && !off)) return;
    const [name, value] = off ? [off[1], 'n'] : on ? [on[1], on[2]] : [undefined, undefined];
    if (!name || value === undefined) {
      throw new GatewayError('GW_IMAGE_BUILD', `kernel fragment line ${i + 1}: cannot read it`);
    }
    if (out.has(name)) {
      throw new GatewayError('GW_IMAGE_BUILD', `kernel fragment: CONFIG_${name} set twice`);
    }
    out.set(name, value);
  });
  return out;
}

/** What is wrong with a fragment for the guest (empty: nothing). */
export function fragmentProblems(frag: Fragment): string[] {
  const problems: string[] = [];
  for (const s of REQUIRED_SYMBOLS) {
    if (frag.get(s) !== 'y') problems.push(`CONFIG_${s} must be y`);
  }
  for (const s of FORBIDDEN_SYMBOLS) {
    if (frag.get(s) !== 'n') problems.push(`CONFIG_${s} must be "is not set"`);
  }
  for (const [s, v] of frag) {
    if (v === 'm') problems.push(`CONFIG_${s}=m: no modules, build it in`);
  }
  return problems;
}

/**
 * Settings of the fragment that `make olddefconfig` did not keep (an unmet dependency drops
 * a symbol silently): compared against the resulting .config.
 */
export function configMismatches(frag: Fragment, dotConfig: string): string[] {
  const got = parseFragment(dotConfig.split('\n')
    .filter((l) => /^CONFIG_|^# CONFIG_\S+ is not set$/.test(l.trim())).join('\n'));
  const out: string[] = [];
  for (const [s, want] of frag) {
    const have = got.get(s) ?? 'n';
    if (have !== want) out.push(`CONFIG_${s}: wanted ${want}, got ${have}`);
  }
  return out;
}

/** The cache key of a bzImage: recipe, source package file name and fragment text. */
export function smallKernelKey(sourceDeb: string, fragmentText: string): string {
  const h = createHash('sha256');
  for (const [label, data] of [['recipe', KERNEL_RECIPE_VERSION], ['source', sourceDeb],
    ['fragment', fragmentText]] as const) {
    h.update(`${label}\0${Buffer.byteLength(data)}\0`);
    h.update(data);
  }
  return h.digest('hex').slice(0, 32);
}

/** Debian packages the build still needs on this host (empty: none). */
export function missingBuildPackages(
  has: (tool: string) => boolean = (t) => which(t) !== null,
  exists: (file: string) => boolean = existsSync,
): string[] {
  const pkgs = [...BUILD_TOOLS.filter((t) => !has(t.tool)).map((t) => t.pkg),
    ...BUILD_HEADERS.filter((h) => !exists(h.file)).map((h) => h.pkg)];
  return [...new Set(pkgs)];
}

/** Refuses, before anything is downloaded, when a build tool is missing. */
export function checkBuildPackages(missing = missingBuildPackages()): void {
  if (missing.length === 0) return;
  throw new GatewayError('GW_IMAGE_BUILD', `the small kernel cannot be built here: missing ` +
    `${missing.join(', ')} (apt-get install ${missing.join(' ')}), or use kernel = "cloud"`);
}

function run(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GatewayError('GW_IMAGE_BUILD', `${cmd} ${args.slice(0, 4).join(' ')}: ` +
      `${(e.stderr ?? e.message).trim().split('\n').slice(-2).join(' / ')}`);
  }
}

export interface KernelSource {
  readonly deb: string;
  readonly dir: string;
}

/** Downloads linux-source once, unpacks the .deb and its tarball into the cache. */
export function fetchKernelSource(cacheDir: string, progress: (s: string) => void): KernelSource {
  const base = path.join(cacheDir, 'kernel-small');
  const debs = path.join(base, 'debs');
  mkdirSync(debs, { recursive: true });
  const find = (): string | undefined => readdirSync(debs)
    .find((f) => f.startsWith(`${SMALL_KERNEL_SOURCE}_`) && f.endsWith('.deb'));
  let deb = find();
  if (!deb) {
    progress(`downloading ${SMALL_KERNEL_SOURCE} (apt-get download, ~140 MB)`);
    run('apt-get', ['download', SMALL_KERNEL_SOURCE], debs);
    deb = find();
    if (!deb) {
      throw new GatewayError('GW_IMAGE_BUILD', `apt-get download left no ${SMALL_KERNEL_SOURCE}`);
    }
  }
  const dir = path.join(base, 'src', deb.replace(/\.deb$/, ''));
  if (!existsSync(path.join(dir, '.complete'))) {
    progress(`unpacking ${deb} (dpkg-deb -x, tar)`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    run('dpkg-deb', ['-x', path.join(debs, deb), path.join(dir, 'pkg')]);
    const tarball = path.join(dir, 'pkg', 'usr', 'src', `${SMALL_KERNEL_SOURCE}.tar.xz`);
    run('tar', ['-xJf', tarball, '-C', dir]);
    rmSync(path.join(dir, 'pkg'), { recursive: true, force: true });
    writeFileSync(path.join(dir, '.complete'), '');
  }
  return { deb, dir: path.join(dir, SMALL_KERNEL_SOURCE) };
}

export interface SmallKernel {
  readonly bzImage: string;
  readonly key: string;
  readonly cached: boolean;
}

export function fragmentPath(): string {
  return path.join(projectRoot(), 'rootfs', 'kernel-small.config');
}

/**
 * Builds (or takes from the cache) the small bzImage. Niced, at most two jobs: the machine
 * is shared.
 */
export function buildSmallKernel(cacheDir: string, progress: (s: string) => void,
  fragmentFile = fragmentPath()): SmallKernel {
  const text = readFileSync(fragmentFile, 'utf8');
  const frag = parseFragment(text);
  const problems = fragmentProblems(frag);
  if (problems.length > 0) {
    throw new GatewayError('GW_IMAGE_BUILD', `kernel fragment: ${problems.join('; ')}`);
  }
  const src = fetchKernelSource(cacheDir, progress);
  const key = smallKernelKey(src.deb, text);
  const outDir = path.join(cacheDir, 'kernel-small', 'out', key);
  const bzImage = path.join(outDir, 'bzImage');
  if (existsSync(bzImage)) return { bzImage, key, cached: true };
  checkBuildPackages();
  const work = path.join(cacheDir, 'kernel-small', 'out', `.build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const make = (...args: string[]): string => run('nice',
    ['-n', '19', 'make', '-j2', 'ARCH=x86_64', `O=${work}`, ...args], src.dir);
  try {
    progress('kernel: make tinyconfig + rootfs/kernel-small.config');
    make('tinyconfig');
    writeFileSync(path.join(work, '.config'),
      `${readFileSync(path.join(work, '.config'), 'utf8')}\n${text}`);
    make('olddefconfig');
    const lost = configMismatches(frag, readFileSync(path.join(work, '.config'), 'utf8'));
    if (lost.length > 0) {
      throw new GatewayError('GW_IMAGE_BUILD', `kernel config dropped: ${lost.join('; ')}`);
    }
    progress('kernel: make bzImage (nice -n 19, -j2; minutes)');
    make('bzImage');
    mkdirSync(outDir, { recursive: true });
    copyFileSync(path.join(work, 'arch', 'x86', 'boot', 'bzImage'), `${bzImage}.tmp`);
    copyFileSync(path.join(work, '.config'), path.join(outDir, 'config'));
    renameSync(`${bzImage}.tmp`, bzImage);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { bzImage, key, cached: false };
}

/** The kernel as buildImage uses it: no modules directory, nothing for the initramfs. */
export interface GuestKernel {
  /** What the image's cache key and manifest name: source package and bzImage key. */
  readonly deb: string;
  readonly vmlinuz: string;
  readonly modulesDir: null;
}

export function smallGuestKernel(cacheDir: string, progress: (s: string) => void): GuestKernel {
  const k = buildSmallKernel(cacheDir, progress);
  progress(`small kernel ${k.key}${k.cached ? ' (cached)' : ' (built)'}`);
  const deb = readdirSync(path.join(cacheDir, 'kernel-small', 'debs'))
    .find((f) => f.startsWith(`${SMALL_KERNEL_SOURCE}_`)) ?? SMALL_KERNEL_SOURCE;
  return { deb: `${deb.replace(/\.deb$/, '')}+small-${k.key}`, vmlinuz: k.bzImage,
    modulesDir: null };
}
