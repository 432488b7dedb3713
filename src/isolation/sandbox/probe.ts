/**
 * Can this host provide the dangerous tier? Checked for real, not guessed from /proc:
 * bubblewrap is started with the same namespaces a worker gets, and the helper reports from
 * inside it which Landlock ABI the kernel offers and whether its seccomp filter loads.
 * Any layer missing means dangerous actions are refused; nothing falls back.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { which, type Probe } from '../host.js';
import { nodeRuntimeFiles, sandboxHelperPath, workerRuntimePath } from './paths.js';
import { SANDBOX_UID } from './run.js';

export interface SandboxProbe {
  /** Null when the tier can be provided, else what is missing and what to do. */
  readonly unavailable: string | null;
  readonly layers: readonly Probe[];
  readonly bwrap: string | null;
  readonly landlockAbi: number;
  readonly cgroupNs: boolean;
}

interface HelperReport {
  arch: string;
  landlock_abi: number;
  landlock_net: boolean;
  seccomp: boolean;
}

function run(file: string, args: string[], uid: boolean): Promise<{ ok: boolean; out: string }> {
  const owner = uid ? { uid: SANDBOX_UID, gid: SANDBOX_UID } : {};
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, env: {}, ...owner }, (err, stdout, stderr) => {
      resolve({ ok: !err, out: err ? `${stderr}`.trim() || String(err.message) : stdout });
    });
  });
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function helperInside(bwrap: string, helper: string, cgroup: boolean): Promise<{
  report: HelperReport | null; error: string;
}> {
  const rt = nodeRuntimeFiles();
  const args = ['--unshare-user', '--unshare-pid', '--unshare-net', '--unshare-ipc',
    '--unshare-uts', ...(cgroup ? ['--unshare-cgroup'] : []), '--disable-userns',
    '--die-with-parent', '--new-session', '--clearenv', '--tmpfs', '/tmp',
    ...rt.links.flatMap((l) => ['--symlink', l.target, l.path]),
    ...rt.binds.flatMap((b) => ['--ro-bind', b.source, b.dest]),
    '--ro-bind', helper, helper, '--proc', '/proc', '--dev', '/dev',
    '--', helper, '--probe'];
  const r = await run(bwrap, args, process.getuid?.() === 0);
  if (!r.ok) return { report: null, error: r.out.split('\n')[0] ?? '' };
  try {
    return { report: JSON.parse(r.out) as HelperReport, error: '' };
  } catch {
    return { report: null, error: `unreadable probe output: ${r.out.slice(0, 200)}` };
  }
}

async function probeNow(): Promise<SandboxProbe> {
  const layers: Probe[] = [];
  const bwrap = which('bwrap');
  const helper = sandboxHelperPath();
  const helperOk = executable(helper);
  layers.push({ name: 'bubblewrap', ok: bwrap !== null, detail: bwrap ?? 'not found',
    fix: bwrap ? null : 'apt-get install bubblewrap' });
  layers.push({ name: 'sandbox helper', ok: helperOk, detail: helper,
    fix: helperOk ? null : 'run ./scripts/setup.sh (builds native/sandbox.c with gcc)' });
  const runtime = workerRuntimePath();
  const runtimeOk = existsSync(runtime);
  layers.push({ name: 'worker runtime', ok: runtimeOk, detail: runtime,
    fix: runtimeOk ? null : 'run npm run build' });
  let report: HelperReport | null = null;
  let cgroupNs = false;
  if (bwrap && helperOk) {
    let inside = await helperInside(bwrap, helper, true);
    cgroupNs = inside.report !== null;
    if (!inside.report) inside = await helperInside(bwrap, helper, false);
    report = inside.report;
    layers.push({ name: 'user namespaces', ok: report !== null,
      detail: report ? `bubblewrap started a sandbox${cgroupNs ? ' (cgroup ns too)' : ''}`
        : `bubblewrap could not start a sandbox: ${inside.error}`,
      fix: report ? null : 'enable unprivileged user namespaces (user.max_user_namespaces > 0; ' +
        'on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile ' +
        'for bwrap)' });
  }
  const abi = report?.landlock_abi ?? 0;
  if (report) {
    layers.push({ name: 'landlock', ok: abi >= 1,
      detail: abi >= 1 ? `ABI ${abi}${report.landlock_net ? ' (TCP rules)' : ''}` : 'unsupported',
      fix: abi >= 1 ? null
        : 'boot a kernel with CONFIG_SECURITY_LANDLOCK=y and landlock in its lsm= list' });
    layers.push({ name: 'seccomp', ok: report.seccomp,
      detail: report.seccomp ? `filter loads (${report.arch})` : 'the filter was rejected',
      fix: report.seccomp ? null : 'boot a kernel with CONFIG_SECCOMP_FILTER=y' });
  }
  const missing = layers.filter((p) => !p.ok);
  const complete = report !== null && missing.length === 0;
  const unavailable = complete ? null
    : 'the sandbox for dangerous actions is not available on this host: ' +
      (missing.length ? missing.map((p) => `${p.name} (${p.fix ?? p.detail})`).join('; ')
        : 'it could not be probed');
  return { unavailable, layers, bwrap, landlockAbi: abi, cgroupNs };
}

let cached: Promise<SandboxProbe> | null = null;

/** Probes once per process; the answer does not change while the gateway runs. */
export function probeSandbox(): Promise<SandboxProbe> {
  cached ??= probeNow().catch((err: unknown): SandboxProbe => ({
    unavailable: `the sandbox for dangerous actions could not be probed: ${String(err)}`,
    layers: [], bwrap: null, landlockAbi: 0, cgroupNs: false,
  }));
  return cached;
}
