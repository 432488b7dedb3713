import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export interface Probe {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to install or enable when it is missing. */
  readonly fix: string | null;
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

/**
 * What the host offers the microVM tier. Reads /dev only; runs nothing. The dangerous tier's
 * layers are probed for real by src/isolation/sandbox/probe.ts.
 */
export function probeIsolation(): Probe[] {
  const kvm = existsSync('/dev/kvm');
  return [
    {
      name: 'kvm',
      ok: kvm,
      detail: kvm ? '/dev/kvm present (the microVM backend line says whether it is used)'
        : '/dev/kvm missing: microVMs would use software emulation',
      fix: kvm ? null : 'load kvm_intel or kvm_amd, or accept QEMU software emulation',
    },
    binaryProbe('qemu-system-x86_64', 'qemu-system-x86', 'microVM backend'),
    { ...binaryProbe('firecracker', 'firecracker', 'microVM backend'),
      fix: which('firecracker') ? null : 'not packaged by Debian: install a Firecracker release' },
  ];
}
