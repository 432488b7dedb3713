/**
 * The small guest kernel's inputs, without building it (minutes of compile: never in the
 * suite): the committed config fragment, its checks, the check of what `make olddefconfig`
 * kept, the cache key and the refusal when build tools are missing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rootfsCommand } from '../../src/cli/rootfs.js';
import { GatewayError } from '../../src/errors.js';
import { DEFAULT_CMDLINE } from '../../src/isolation/vm/build.js';
import { buildCpio } from '../../src/isolation/vm/cpio.js';
import {
  checkBuildPackages, configMismatches, fragmentPath, fragmentProblems, missingBuildPackages,
  parseFragment, smallGuestKernel, smallKernelKey,
} from '../../src/isolation/vm/kernel-small.js';

const text = readFileSync(fragmentPath(), 'utf8');

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof GatewayError ? err.code : String(err);
  }
}

describe('rootfs/kernel-small.config', () => {
  const frag = parseFragment(text);

  it('builds in everything the guest needs, no modules and no IP stack', () => {
    expect(fragmentProblems(frag)).toEqual([]);
    expect([...frag.values()].filter((v) => v !== 'y' && v !== 'n')).toEqual([]);
  });

  it('matches the initramfs build.ts writes (uncompressed newc) and the console', () => {
    const cpio = buildCpio([{ name: 'init', kind: 'file', mode: 0o755, data: Buffer.from('x') }]);
    expect(cpio.subarray(0, 6).toString('latin1')).toBe('070701');
    expect(frag.get('BLK_DEV_INITRD')).toBe('y');
    for (const c of ['GZIP', 'BZIP2', 'LZMA', 'XZ', 'LZO', 'LZ4', 'ZSTD']) {
      expect(frag.get(`RD_${c}`), c).toBe('n');
    }
    expect(DEFAULT_CMDLINE).toContain('console=ttyS0');
    expect(frag.get('SERIAL_8250_CONSOLE')).toBe('y');
  });
});

describe('fragment checks', () => {
  it('names a module, a missing symbol and modules turned on', () => {
    const bad = parseFragment(text.replace('CONFIG_VIRTIO_BLK=y', 'CONFIG_VIRTIO_BLK=m')
      .replace('CONFIG_FUTEX=y\n', '').replace('# CONFIG_MODULES is not set', 'CONFIG_MODULES=y'));
    const problems = fragmentProblems(bad);
    expect(problems).toContain('CONFIG_VIRTIO_BLK must be y');
    expect(problems).toContain('CONFIG_VIRTIO_BLK=m: no modules, build it in');
    expect(problems).toContain('CONFIG_FUTEX must be y');
    expect(problems).toContain('CONFIG_MODULES must be "is not set"');
  });

  it('refuses unreadable lines and a symbol set twice', () => {
    expect(codeOf(() => parseFragment('CONFIG_A=y\nVIRTIO=y\n'))).toBe('GW_IMAGE_BUILD');
    expect(codeOf(() => parseFragment('CONFIG_A=y\n# CONFIG_A is not set\n')))
      .toBe('GW_IMAGE_BUILD');
    expect([...parseFragment('# a comment\n\nCONFIG_A=y\n').entries()]).toEqual([['A', 'y']]);
  });

  it('finds what olddefconfig dropped; absent counts as not set', () => {
    const frag = parseFragment('CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n');
    const dot = [
      '# Automatically generated file; DO NOT EDIT.',
      'CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14) 12.2.0"',
      'CONFIG_A=y', '# CONFIG_B is not set', '# end of General setup',
    ].join('\n');
    expect(configMismatches(frag, dot)).toEqual(['CONFIG_B: wanted y, got n']);
    expect(configMismatches(frag, 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y'))
      .toEqual(['CONFIG_C: wanted n, got y']);
  });
});

describe('cache key and build tools', () => {
  const deb = 'linux-source-6.1_6.1.192-3_all.deb';

  it('changes with the source version and the fragment, and only with them', () => {
    const k = smallKernelKey(deb, text);
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(smallKernelKey(deb, text)).toBe(k);
    expect(smallKernelKey('linux-source-6.1_6.1.193-1_all.deb', text)).not.toBe(k);
    expect(smallKernelKey(deb, `${text}CONFIG_IO_URING=y\n`)).not.toBe(k);
  });

  it('names the Debian packages a host lacks and refuses before any download', () => {
    const lacking = new Set(['flex', 'bison']);
    const missing = missingBuildPackages((t) => !lacking.has(t), () => false);
    expect(missing).toEqual(['flex', 'bison', 'libelf-dev']);
    expect(missingBuildPackages(() => true, () => true)).toEqual([]);
    let message = '';
    try {
      checkBuildPackages(missing);
    } catch (err) {
      message = (err as Error).message;
      expect((err as GatewayError).code).toBe('GW_IMAGE_BUILD');
    }
    expect(message).toContain('apt-get install flex bison libelf-dev');
    expect(() => checkBuildPackages([])).not.toThrow();
  });
});

describe('the small kernel in the image build', () => {
  it('takes a cached bzImage under its key without compiling; no modules to load', () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'gw-ks-unit-'));
    try {
      const deb = 'linux-source-6.1_6.1.192-3_all.deb';
      mkdirSync(path.join(cache, 'kernel-small', 'debs'), { recursive: true });
      writeFileSync(path.join(cache, 'kernel-small', 'debs', deb), '');
      const src = path.join(cache, 'kernel-small', 'src', deb.replace(/\.deb$/, ''));
      mkdirSync(src, { recursive: true });
      writeFileSync(path.join(src, '.complete'), '');
      const key = smallKernelKey(deb, text);
      const out = path.join(cache, 'kernel-small', 'out', key);
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, 'bzImage'), 'not really a kernel');
      const steps: string[] = [];
      const k = smallGuestKernel(cache, (s) => steps.push(s));
      expect(k).toEqual({ deb: `linux-source-6.1_6.1.192-3_all+small-${key}`,
        vmlinuz: path.join(out, 'bzImage'), modulesDir: null });
      expect(steps).toEqual([`small kernel ${key} (cached)`]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('`rootfs build --kernel` takes cloud or small only, before building anything', async () => {
    let code = '';
    try {
      await rootfsCommand(['build', '--kernel', 'tiny', '--dir', os.tmpdir()]);
    } catch (err) {
      code = (err as GatewayError).code;
    }
    expect(code).toBe('GW_USAGE');
  });
});
