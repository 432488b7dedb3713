/**
 * `gateway rootfs build`: the guest image from what this host already has.
 *
 * - kernel: the Debian cloud kernel package, fetched with `apt-get download` and unpacked
 *   with `dpkg-deb -x` into the cache (never installed on the host);
 * - initramfs: busybox-static, the virtio modules and rootfs/init.sh, as a newc archive;
 * - root: the host's own Node.js binary and the libraries `ldd` names, all of dist/ (the
 *   guest agent and connector modules), extra connector folders, as a read-only ext4 image
 *   made by `mke2fs -d` (no mount, no root needed);
 * - manifest.json with every hash and the kernel command line (signed separately).
 *
 * Results are cached outside the clone under a key made of every input, so a rebuild with
 * unchanged inputs is a copy.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync,
  readdirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayError } from '../../errors.js';
import { nodeRuntimeFiles, projectRoot } from '../sandbox/paths.js';
import { hostArch, kernelMetaPackage, type GuestArch } from './backend.js';
import { buildCpio, type CpioEntry } from './cpio.js';
import { compileGuestNative, guestNativeInputs } from './guest-native.js';
import {
  KERNEL_MODULES, cloudGuestKernel, runTool as run, type GuestKernel as Kernel,
} from './kernel-cloud.js';
import { smallGuestKernel } from './kernel-small.js';
import {
  copyClosure, describeClosure, guestClosure, type GuestClosure,
} from './packages.js';
import {
  IMAGE_FORMAT, MANIFEST_FILE, sha256File, writeManifest, type ImageManifest, type RootFile,
} from './image.js';

/** Changing how images are made changes this, and with it every cache key. */
const RECIPE_VERSION = '2';
/** The guest's architecture is the host's: the guest runs the host's own Node.js binary. */
const GUEST_ARCH: GuestArch = hostArch() ?? 'x86_64';
/**
 * quiet: the serial console is slow under emulation. tsc_early_khz: under QEMU's software
 * emulation the kernel cannot calibrate the TSC against the PIT and stalls without it.
 * panic=-1 with the VMM's -no-reboot: when the agent (PID 1) exits, the VM ends.
 */
export const DEFAULT_CMDLINE = GUEST_ARCH === 'aarch64'
  ? 'console=ttyAMA0 quiet panic=-1 reboot=t random.trust_cpu=off' // virt's PL011 UART
  : 'console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=2000000 random.trust_cpu=off' +
    // Freed guest pages are zeroed: a snapshot then skips them (zero pages are not saved).
    ' init_on_free=1';
const FIXED_TIME = new Date(0);
/** The SDKs copied (with their dependency closure) to /opt/gw/node_modules: packages.ts. */
export { GUEST_PACKAGES } from './packages.js';

export interface BuildOptions {
  readonly outDir: string;
  readonly cacheDir?: string;
  /** Extra connector modules: name to a folder holding worker.js or worker.mjs. */
  readonly extraConnectors?: Readonly<Record<string, string>>;
  readonly progress?: (step: string) => void;
  /** Must be this host's architecture (`--arch`): no cross builds, see checkBuildArch. */
  readonly arch?: GuestArch;
  /** `[microvm] kernel`: the cloud kernel (default) or the small one (kernel-small.ts). */
  readonly kernel?: 'cloud' | 'small';
}

/**
 * An image for another architecture cannot be made here: its root holds this host's Node.js
 * binary and libraries. Refused before any package is downloaded.
 */
export function checkBuildArch(arch: GuestArch | undefined, host = hostArch()): GuestArch {
  const want = arch ?? host;
  if (!want || want !== host) {
    throw new GatewayError('GW_IMAGE_BUILD', `cannot build an ${want ?? process.arch} image on ` +
      `this ${host ?? process.arch} host: the guest runs the host's own Node.js binary; build ` +
      `it on an ${want ?? '?'} host (its kernel package: ${want ? kernelMetaPackage(want) : '?'})`);
  }
  return want;
}

export interface BuildResult {
  readonly manifest: ImageManifest;
  readonly cached: boolean;
  readonly ms: number;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'digital-twin-gateway');
}

export function defaultImageDir(): string {
  return path.join(projectRoot(), 'build', 'rootfs');
}

/** Every regular file under a folder, as paths relative to it, sorted. */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(path.join(dir, name));
    if (st.isDirectory()) out.push(...walk(path.join(dir, name), rel));
    else if (st.isFile()) out.push(rel);
  }
  return out;
}

function hashBytes(h: ReturnType<typeof createHash>, label: string, data: Buffer | string): void {
  h.update(`${label}\0${Buffer.byteLength(data)}\0`);
  h.update(data);
}

interface Inputs {
  readonly key: string;
  readonly busybox: string;
  readonly initScript: string;
  readonly dist: string;
  readonly extra: Readonly<Record<string, string>>;
  readonly packages: GuestClosure;
}

function collectInputs(kernel: Kernel, extra: Readonly<Record<string, string>>): Inputs {
  const root = projectRoot();
  const busybox = '/bin/busybox';
  if (!existsSync(busybox)) {
    throw new GatewayError('GW_IMAGE_BUILD', 'busybox is missing: apt-get install busybox-static');
  }
  const initScript = path.join(root, 'rootfs', 'init.sh');
  const dist = path.join(root, 'dist');
  if (!existsSync(path.join(dist, 'isolation', 'vm', 'guest', 'agent.js'))) {
    throw new GatewayError('GW_IMAGE_BUILD', 'dist/ has no guest agent: run `npm run build`');
  }
  const h = createHash('sha256');
  hashBytes(h, 'recipe', RECIPE_VERSION);
  hashBytes(h, 'cmdline', DEFAULT_CMDLINE);
  hashBytes(h, 'kernel', kernel.deb);
  for (const f of [busybox, initScript, ...nodeRuntimeFiles().binds.map((b) => b.source)]) {
    hashBytes(h, f, readFileSync(f));
  }
  for (const f of walk(dist)) hashBytes(h, `dist/${f}`, readFileSync(path.join(dist, f)));
  for (const [name, dir] of Object.entries(extra).sort()) {
    for (const f of walk(dir)) hashBytes(h, `extra/${name}/${f}`, readFileSync(path.join(dir, f)));
  }
  for (const f of guestNativeInputs(root)) hashBytes(h, f.label, f.data);
  const packages = guestClosure(root);
  for (const p of packages.packages) {
    for (const f of p.files) {
      hashBytes(h, `node_modules/${p.rel}/${f}`,
        readFileSync(path.join(root, 'node_modules', p.rel, f)));
    }
  }
  return { key: h.digest('hex').slice(0, 32), busybox, initScript, dist, extra, packages };
}

function initramfs(kernel: Kernel, inputs: Inputs): Buffer {
  const entries: CpioEntry[] = [
    { name: 'bin', kind: 'dir', mode: 0o755 },
    { name: 'lib', kind: 'dir', mode: 0o755 },
    { name: 'lib/modules', kind: 'dir', mode: 0o755 },
    { name: 'init', kind: 'file', mode: 0o755, data: readFileSync(inputs.initScript) },
    { name: 'bin/busybox', kind: 'file', mode: 0o755, data: readFileSync(inputs.busybox) },
  ];
  for (const m of kernel.modulesDir ? KERNEL_MODULES : []) {
    entries.push({ name: `lib/modules/${path.basename(m)}`, kind: 'file', mode: 0o644,
      data: readFileSync(path.join(kernel.modulesDir ?? '', m)) });
  }
  return buildCpio(entries);
}

function copyTree(from: string, to: string): void {
  for (const rel of walk(from)) {
    mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
    copyFileSync(path.join(from, rel), path.join(to, rel));
  }
}

/** The staging tree of the root filesystem; returns connector name to guest module path. */
function stageRoot(stage: string, inputs: Inputs): Record<string, string> {
  for (const d of ['dev', 'proc', 'sys', 'tmp', 'usr/bin', 'opt/gw']) {
    mkdirSync(path.join(stage, d), { recursive: true });
  }
  const runtime = nodeRuntimeFiles();
  for (const b of runtime.binds) {
    const dest = path.join(stage, b.dest);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(b.source, dest);
    chmodSync(dest, 0o755);
  }
  // The interpreter path baked into the binary must resolve: /usr/bin/node runs as PID 1.
  copyFileSync(runtime.node, path.join(stage, 'usr', 'bin', 'node'));
  chmodSync(path.join(stage, 'usr', 'bin', 'node'), 0o755);
  for (const l of runtime.links) symlinkSync(l.target, path.join(stage, l.path));
  copyTree(inputs.dist, path.join(stage, 'opt', 'gw', 'dist'));
  compileGuestNative(projectRoot(), path.join(stage, 'opt', 'gw', 'native'));
  copyClosure(projectRoot(), inputs.packages, path.join(stage, 'opt', 'gw', 'node_modules'));
  const connectors: Record<string, string> = {};
  const builtIn = path.join(inputs.dist, 'connectors');
  for (const name of existsSync(builtIn) ? readdirSync(builtIn).sort() : []) {
    if (existsSync(path.join(builtIn, name, 'worker.js'))) {
      connectors[name] = `/opt/gw/dist/connectors/${name}/worker.js`;
    }
  }
  for (const [name, dir] of Object.entries(inputs.extra).sort()) {
    copyTree(dir, path.join(stage, 'opt', 'gw', 'extra', name));
    const file = ['worker.js', 'worker.mjs'].find((f) => existsSync(path.join(dir, f)));
    if (!file) throw new GatewayError('GW_IMAGE_BUILD', `${dir} has no worker.js or worker.mjs`);
    connectors[name] = `/opt/gw/extra/${name}/${file}`;
  }
  return connectors;
}

async function rootFiles(stage: string): Promise<RootFile[]> {
  const files: RootFile[] = [];
  for (const rel of walk(stage)) {
    const full = path.join(stage, rel);
    const st = statSync(full);
    files.push({ path: `/${rel}`, sha256: await sha256File(full), size: st.size,
      mode: st.mode & 0o7777 });
  }
  return files;
}

function fixTimes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const st = lstatSync(full);
    if (st.isDirectory()) fixTimes(full);
    if (!st.isSymbolicLink()) utimesSync(full, FIXED_TIME, FIXED_TIME);
  }
  utimesSync(dir, FIXED_TIME, FIXED_TIME);
}

function makeExt4(stage: string, out: string, key: string, bytes: number): void {
  // Room for metadata on top of the contents; the image is read-only in the guest.
  const mib = Math.ceil((bytes * 1.1) / (1024 * 1024)) + 16;
  // A UUID and directory hash seed derived from the inputs: the same inputs, the same bytes.
  const k = key;
  const uuid = `${k.slice(0, 8)}-${k.slice(8, 12)}-4${k.slice(13, 16)}-8${k.slice(17, 20)}-` +
    k.slice(20, 32);
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-L', 'gwroot', '-U', uuid,
    '-E', `hash_seed=${uuid},root_owner=0:0`, '-d', stage, out, `${mib}M`], undefined,
  { ...process.env, E2FSPROGS_FAKE_TIME: '1', SOURCE_DATE_EPOCH: '1' });
  // mke2fs 1.47.0 copies each inode's times from the staging file, and a change time (or a
  // symlink's times) cannot be set there: pin them all with debugfs so that equal inputs
  // give byte-identical images.
  const all = ['/', '/lost+found', ...walkAll(stage)];
  const commands = all.flatMap((p) => ['ctime', 'mtime', 'atime'].map((f) => `sif ${p} ${f} @1`))
    .join('\n');
  const cmdFile = path.join(path.dirname(out), 'debugfs.cmds');
  writeFileSync(cmdFile, `${commands}\n`);
  run('debugfs', ['-w', '-f', cmdFile, out], undefined,
    { ...process.env, E2FSPROGS_FAKE_TIME: '1' });
  rmSync(cmdFile);
}

/** Every path under a folder (folders, files, links), absolute inside it, sorted. */
function walkAll(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = `${prefix}/${name}`;
    out.push(rel);
    const st = lstatSync(path.join(dir, name));
    if (st.isDirectory()) out.push(...walkAll(path.join(dir, name), rel));
  }
  return out;
}

async function artefact(dir: string, name: string): Promise<ImageManifest['kernel']> {
  const file = path.join(dir, name);
  return { path: name, sha256: await sha256File(file), size: statSync(file).size };
}

/** Cached images kept besides the newest: each is ~130 MiB, and every dist/ change adds one. */
const KEEP_CACHED_IMAGES = 3;

function pruneCache(images: string, keep: string): void {
  const entries = readdirSync(images).filter((n) => !n.startsWith('.') && n !== keep)
    .map((n) => ({ n, t: statSync(path.join(images, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of entries.slice(KEEP_CACHED_IMAGES - 1)) {
    rmSync(path.join(images, n), { recursive: true, force: true });
  }
}

/** Builds (or takes from the cache) the image and copies it to `outDir`, unsigned. */
export async function buildImage(opts: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  checkBuildArch(opts.arch);
  const progress = opts.progress ?? ((): void => {});
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  progress('kernel package');
  const kernel = opts.kernel === 'small' ? smallGuestKernel(cacheDir, progress)
    : cloudGuestKernel(cacheDir, GUEST_ARCH, progress);
  progress('hashing inputs');
  const inputs = collectInputs(kernel, opts.extraConnectors ?? {});
  progress(describeClosure(inputs.packages));
  const cached = path.join(cacheDir, 'images', inputs.key);
  const hit = existsSync(path.join(cached, MANIFEST_FILE));
  if (!hit) {
    mkdirSync(path.join(cacheDir, 'images'), { recursive: true });
    const work = mkdtempSync(path.join(cacheDir, 'images', `.build-${process.pid}-`));
    try {
      progress('initramfs (busybox, virtio modules, init)');
      writeFileSync(path.join(work, 'initrd.img'), initramfs(kernel, inputs));
      copyFileSync(kernel.vmlinuz, path.join(work, 'vmlinuz'));
      progress('root tree (node, its libraries, dist/, connectors)');
      const stage = path.join(work, 'stage');
      const connectors = stageRoot(stage, inputs);
      const files = await rootFiles(stage);
      fixTimes(stage);
      progress(`root filesystem (mke2fs -d, ${files.length} files)`);
      makeExt4(stage, path.join(work, 'rootfs.ext4'), inputs.key,
        files.reduce((n, f) => n + f.size, 0));
      rmSync(stage, { recursive: true, force: true });
      progress('manifest');
      const manifest: ImageManifest = {
        format: IMAGE_FORMAT, arch: GUEST_ARCH, inputsKey: inputs.key,
        sources: { kernel: kernel.deb, node: process.version, busybox: inputs.busybox },
        kernel: await artefact(work, 'vmlinuz'), initrd: await artefact(work, 'initrd.img'),
        rootfs: await artefact(work, 'rootfs.ext4'), cmdline: DEFAULT_CMDLINE, connectors, files,
      };
      writeManifest(work, manifest);
      rmSync(cached, { recursive: true, force: true });
      renameSync(work, cached);
      pruneCache(path.join(cacheDir, 'images'), inputs.key);
    } catch (err) {
      rmSync(work, { recursive: true, force: true });
      throw err;
    }
  } else {
    progress(`cached image ${inputs.key}`);
  }
  progress(`copying to ${opts.outDir}`);
  mkdirSync(opts.outDir, { recursive: true });
  // An old signature must never cover a new manifest.
  rmSync(path.join(opts.outDir, 'manifest.sig'), { force: true });
  for (const f of ['vmlinuz', 'initrd.img', 'rootfs.ext4', MANIFEST_FILE]) {
    copyFileSync(path.join(cached, f), path.join(opts.outDir, f));
  }
  const manifest = JSON.parse(readFileSync(path.join(cached, MANIFEST_FILE), 'utf8')) as
    ImageManifest;
  return { manifest, cached: hit, ms: performance.now() - started };
}
