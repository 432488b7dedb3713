/**
 * The bubblewrap command line for one worker: fresh namespaces, a filesystem holding only
 * what the worker needs (read-only), a private tmpfs, then the native helper, which applies
 * rlimits, no_new_privs, Landlock and seccomp before it executes Node.js on the worker.
 */
import path from 'node:path';
import { projectRoot, type Bind, type Link, type RuntimeFiles } from './paths.js';

/** The sandbox's layers. All on in the gateway; tests switch some off to test each alone. */
export interface Layers {
  /** New user, pid, net, ipc, uts, cgroup and mount namespaces with a minimal view. */
  readonly namespaces: boolean;
  readonly landlock: boolean;
  readonly seccomp: boolean;
  readonly rlimits: boolean;
}

export const ALL_LAYERS: Layers = { namespaces: true, landlock: true, seccomp: true,
  rlimits: true };

/** Resource limits of one worker, with the defaults the gateway uses. */
export interface Limits {
  /** Address space (RLIMIT_AS). Node.js needs about 0.8 GiB of it just to start. */
  readonly addressSpaceBytes: number;
  /** Tasks of the sandbox's user, threads included (RLIMIT_NPROC). Node.js starts ~11. */
  readonly processes: number;
  /**
   * Open files (RLIMIT_NOFILE). Node.js's ES module loader opens a package's files in
   * parallel: zod alone imports 64 locale modules at once.
   */
  readonly openFiles: number;
  /** CPU seconds (RLIMIT_CPU): SIGXCPU, then SIGKILL a second later. */
  readonly cpuSeconds: number;
  /** Largest file the worker may write (RLIMIT_FSIZE), and the size of its tmpfs. */
  readonly fileBytes: number;
  /** V8 old-space cap, so a heap runaway ends in V8's own error before RLIMIT_AS. */
  readonly heapMiB: number;
}

export const DEFAULT_LIMITS: Limits = {
  addressSpaceBytes: 1.5 * 1024 ** 3,
  processes: 32,
  openFiles: 256,
  cpuSeconds: 5,
  fileBytes: 16 * 1024 ** 2,
  heapMiB: 192,
};

/** Where the broker socket appears inside the sandbox. */
export const SANDBOX_BROKER_PATH = '/tmp/.gw/broker.sock';
/**
 * The only place the worker may write (TMPDIR and its working directory): a folder inside
 * the private /tmp, so that Landlock's write grant never covers a project kept under /tmp.
 */
export const SANDBOX_WORK_DIR = '/tmp/w';

export interface SandboxSpec {
  readonly runtime: RuntimeFiles;
  readonly helper: string;
  readonly workerRuntime: string;
  /** Read-only folders or files the worker may read (dist/, the connector's module). */
  readonly readable: readonly string[];
  readonly modulePath: string;
  readonly brokerSocket: string;
  readonly layers: Layers;
  readonly limits: Limits;
  /** Whether cgroup namespaces can be made here (probed). */
  readonly cgroupNs: boolean;
}

function roBind(b: Bind): string[] {
  return ['--ro-bind', b.source, b.dest];
}

function link(l: Link): string[] {
  return ['--symlink', l.target, l.path];
}

/** argv for bwrap (without the program name). */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const { layers, limits } = spec;
  const args = ['--unshare-user', '--unshare-pid', '--disable-userns', '--die-with-parent',
    '--new-session', '--clearenv', '--setenv', 'TZ', 'UTC', '--setenv', 'HOME', '/nonexistent',
    // An empty OpenSSL configuration: Node.js would otherwise read the host's /etc/ssl.
    '--setenv', 'OPENSSL_CONF', '/dev/null'];
  const helperIn = spec.helper;
  const programs = [...spec.runtime.binds, { source: spec.helper, dest: helperIn }];
  const tmpfs = ['--size', String(limits.fileBytes), '--tmpfs', '/tmp', '--dir', SANDBOX_WORK_DIR];
  if (layers.namespaces) {
    args.push('--unshare-net', '--unshare-ipc', '--unshare-uts');
    if (spec.cgroupNs) args.push('--unshare-cgroup');
    args.push('--hostname', 'sandbox');
    // The private /tmp first, so that a project kept under /tmp is bound over it, not
    // hidden by it.
    args.push(...tmpfs);
    for (const l of spec.runtime.links) args.push(...link(l));
    for (const b of programs) args.push(...roBind(b));
    for (const r of spec.readable) args.push('--ro-bind', r, r);
    args.push('--proc', '/proc', '--dev', '/dev');
  } else {
    // Test-only: the host's whole filesystem and network, so that Landlock, seccomp and the
    // rlimits must stop the attempts on their own. A project kept under /tmp is bound
    // again over the private /tmp, as the host has it.
    const root = projectRoot();
    args.push('--bind', '/', '/', '--proc', '/proc', '--dev', '/dev', ...tmpfs);
    if (root.startsWith('/tmp/')) args.push('--bind', root, root);
  }
  args.push('--ro-bind', spec.brokerSocket, SANDBOX_BROKER_PATH, '--chdir', SANDBOX_WORK_DIR,
    '--setenv', 'TMPDIR', SANDBOX_WORK_DIR);
  args.push('--', helperIn, ...helperArgs(spec), '--', spec.runtime.node,
    `--max-old-space-size=${limits.heapMiB}`, '--disallow-code-generation-from-strings',
    spec.workerRuntime, spec.modulePath, SANDBOX_BROKER_PATH);
  return args;
}

function helperArgs(spec: SandboxSpec): string[] {
  const { layers, limits } = spec;
  const args: string[] = [];
  if (!layers.landlock) args.push('--no-landlock');
  if (!layers.seccomp) args.push('--no-seccomp');
  if (!layers.rlimits) args.push('--no-rlimits');
  const readable = new Set([...spec.runtime.binds.map((b) => b.dest), ...spec.readable]);
  for (const r of readable) args.push('--ro', r);
  args.push('--rw', SANDBOX_WORK_DIR, '--rw', '/dev/null');
  args.push('--as', String(Math.floor(limits.addressSpaceBytes)),
    '--nproc', String(limits.processes), '--nofile', String(limits.openFiles),
    '--cpu', String(limits.cpuSeconds), '--fsize', String(limits.fileBytes));
  return args;
}

/** Folders a worker for `modulePath` must read: dist/ and the module's own folder. */
export function readableFor(distDir: string, modulePath: string): string[] {
  const moduleDir = path.dirname(modulePath);
  const inside = moduleDir === distDir || moduleDir.startsWith(distDir + path.sep);
  return inside ? [distDir] : [distDir, moduleDir];
}
