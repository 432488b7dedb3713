import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Probe {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to install or enable when it is missing. */
  readonly fix: string | null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The first executable called `name` on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, name);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export function binaryProbe(name: string, pkg: string, purpose: string): Probe {
  const found = which(name);
  return {
    name,
    ok: found !== null,
    detail: found ?? `not found (${purpose})`,
    fix: found ? null : `apt-get install ${pkg}`,
  };
}

/** What the host offers the isolation tiers. Reads /proc and /sys only; runs nothing. */
export function probeIsolation(): Probe[] {
  const maxUserNs = readText('/proc/sys/user/max_user_namespaces');
  const usernsClone = readText('/proc/sys/kernel/unprivileged_userns_clone');
  const apparmorRestrict = readText('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  const userns = maxUserNs !== null && Number(maxUserNs) > 0
    && usernsClone !== '0' && apparmorRestrict !== '1';
  const lsm = readText('/sys/kernel/security/lsm') ?? '';
  const seccomp = /^Seccomp:\s/m.test(readText('/proc/self/status') ?? '');
  const kvm = existsSync('/dev/kvm');
  return [
    {
      name: 'user namespaces',
      ok: userns,
      detail: userns ? `max_user_namespaces=${maxUserNs}` : 'restricted or disabled',
      fix: userns
        ? null
        : 'enable unprivileged user namespaces (sysctl user.max_user_namespaces, ' +
          'kernel.apparmor_restrict_unprivileged_userns=0)',
    },
    binaryProbe('bwrap', 'bubblewrap', 'dangerous-tier sandbox'),
    {
      name: 'landlock',
      ok: lsm.split(',').includes('landlock'),
      detail: lsm ? `active LSMs: ${lsm}`
        : 'unknown: /sys/kernel/security/lsm is unreadable (securityfs not mounted)',
      fix: lsm.includes('landlock')
        ? null
        : 'boot a kernel with CONFIG_SECURITY_LANDLOCK and lsm=landlock',
    },
    {
      name: 'seccomp',
      ok: seccomp,
      detail: seccomp ? 'available' : 'not reported by the kernel',
      fix: seccomp ? null : 'boot a kernel with CONFIG_SECCOMP_FILTER',
    },
    {
      name: 'kvm',
      ok: kvm,
      detail: kvm ? '/dev/kvm present (whether a guest boots under it is checked at first boot)'
        : '/dev/kvm missing: microVMs would use software emulation',
      fix: kvm ? null : 'load kvm_intel or kvm_amd, or accept QEMU software emulation',
    },
    binaryProbe('qemu-system-x86_64', 'qemu-system-x86', 'microVM backend'),
    { ...binaryProbe('firecracker', 'firecracker', 'microVM backend'),
      fix: which('firecracker') ? null : 'not packaged by Debian: install a Firecracker release' },
  ];
}
