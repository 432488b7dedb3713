/**
 * The critical tier's microVM with real components: the image built from Debian packages,
 * signed with a fresh key, booted under QEMU (software emulation here), one action per VM.
 * Deadlines are generous (a busy 2-core machine emulating x86); nothing asserts a duration.
 */
import {
  closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync,
  writeFileSync, writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateConfig } from '../../src/config/load.js';
import type { RegisteredConnector } from '../../src/connectors/types.js';
import { Executor } from '../../src/isolation/executor.js';
import { chooseAccel } from '../../src/isolation/vm/qemu.js';
import { generateKeys, loadKeyPair } from '../../src/keys/keys.js';
import { createLogger } from '../../src/log.js';
import { buildImage } from '../../src/isolation/vm/build.js';
import { Firelog } from '../../src/isolation/vm/firelog.js';
import { signImage } from '../../src/isolation/vm/image.js';
import {
  runInVm, sweepStaleVmDirs, type VmCall, type VmResult,
} from '../../src/isolation/vm/run.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ECHO = path.join(ROOT, 'test/fixtures/connectors/vmecho');
const BOOT_DEADLINE_MS = 180_000;

let work: string;
let imageDir: string;
let publicKey: Uint8Array;
let firelogPath: string;
const boots: number[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/isolation/vm/guest/agent.js'))) {
    throw new Error('dist/ is not built: run ./scripts/setup.sh');
  }
  work = mkdtempSync(path.join(os.tmpdir(), 'gw-microvm-test-'));
  imageDir = path.join(work, 'image');
  firelogPath = path.join(work, 'firecracker.log');
  generateKeys(path.join(work, 'keys'), { purposes: ['image'] });
  const pair = loadKeyPair(path.join(work, 'keys'), 'image');
  publicKey = pair.publicKey;
  await buildImage({ outDir: imageDir, extraConnectors: { vmecho: ECHO } });
  signImage(imageDir, pair.secretKey);
}, 600_000);

afterAll(() => {
  if (boots.length) {
    const sorted = [...boots].sort((a, b) => a - b);
    process.stderr.write(`microVM cold boot to agent ready (ms): ${sorted.map(Math.round)
      .join(', ')}; p50 ${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)}\n`);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

function call(action: string, input: unknown, over: Partial<VmCall> = {}): Promise<VmResult> {
  return runInVm({
    connector: 'vmecho', action, input, endpoints: [], settings: { mode: 'test' },
    secrets: { token: 'vm-secret-value' }, now: new Date('2026-12-07T08:00:00Z'),
    timeZone: 'UTC', principal: 'tester', signal: new AbortController().signal, imageDir,
    publicKey, bootDeadlineMs: BOOT_DEADLINE_MS, actionDeadlineMs: 60_000,
    log: createLogger({ level: 'silent' }), firelog: new Firelog(firelogPath), ...over,
  }).then((r) => {
    if (r.bootMs !== null) boots.push(r.bootMs);
    return r;
  });
}

function ownTempDirs(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith(`gw-vm-${process.pid}-`));
}

describe('critical tier microVM (QEMU)', () => {
  it('boots the verified image and runs one action round trip', async () => {
    const r = await call('echo', { text: 'breaker seven' });
    expect(r.error).toBeUndefined();
    expect(r.outcome).toBe('succeeded');
    expect(r.speech).toBe('echo breaker seven');
    // The secret reached the guest (its hash came back), over the stream only.
    expect((r.data as { secret: string }).secret).toMatch(/^[0-9a-f]{64}$/);
    expect(r.backend).toMatch(/^QEMU/);
    const log = readFileSync(firelogPath, 'utf8');
    expect(log).toMatch(/Spawning QEMU \((tcg|kvm)\) microVM for connector=vmecho/);
    expect(log).toMatch(/microVM boot complete in \d+ ms/);
    expect(log).toMatch(/connector=vmecho action=echo outcome=succeeded/);
    expect(log).not.toContain('vm-secret-value');
    expect(ownTempDirs()).toEqual([]);
  });

  it('gives the guest no network device, no host files and a read-only root', async () => {
    const r = await call('inspect', { paths: [ROOT, '/etc/passwd', os.homedir(), '/work'] });
    expect(r.outcome).toBe('succeeded');
    const data = r.data as { net: string[]; hostPaths: Record<string, boolean>;
      mounts: string[]; rootWritable: boolean };
    expect(data.net).toEqual(['lo']);
    expect(Object.values(data.hostPaths)).toEqual([false, false, false, false]);
    expect(data.rootWritable).toBe(false);
    expect(data.mounts).toContain('/dev/vda / ext4');
  });

  it('brokers only the allowed endpoint over the agent stream', async () => {
    const server = net.createServer((s) => {
      s.on('data', (d) => s.end(`pong:${d.toString('utf8').trim()}`));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const ok = await call('fetch', { host: '127.0.0.1', port, text: 'ping' },
        { endpoints: [{ host: '127.0.0.1', port }] });
      expect(ok.outcome).toBe('succeeded');
      expect((ok.data as { reply: string }).reply).toBe('pong:ping');
      expect(ok.egress).toMatchObject({ allowed: 1, denied: 0, connected: 1 });
      const denied = await call('fetch', { host: '127.0.0.1', port, text: 'ping' });
      expect(denied.outcome).toBe('failed');
      expect(denied.error?.message).toContain('refused');
      expect(denied.egress).toMatchObject({ allowed: 0, denied: 1, connected: 0 });
    } finally {
      server.close();
    }
  });

  it('kills a hung guest at its deadline and records the outcome as indeterminate', async () => {
    const r = await call('hang', {}, { actionDeadlineMs: 3_000 });
    expect(r.outcome).toBe('indeterminate');
    expect(r.error?.code).toBe('GW_ACTION_TIMEOUT');
    expect(ownTempDirs()).toEqual([]);
    const log = readFileSync(firelogPath, 'utf8');
    expect(log).toMatch(/action=hang outcome=indeterminate code=GW_ACTION_TIMEOUT/);
  });

  it('refuses a tampered kernel, root filesystem or manifest before booting', async () => {
    const flip = (file: string, at: number): void => {
      const fd = openSync(file, 'r+');
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at);
      b[0] = (b[0] ?? 0) ^ 0x01;
      writeSync(fd, b, 0, 1, at);
      closeSync(fd);
    };
    const cases: Array<[string, (dir: string) => void]> = [
      ['kernel', (d) => flip(path.join(d, 'vmlinuz'), 4096)],
      ['rootfs', (d) => flip(path.join(d, 'rootfs.ext4'), 10 * 1024 * 1024)],
      ['manifest', (d) => {
        const f = path.join(d, 'manifest.json');
        writeFileSync(f, readFileSync(f, 'utf8').replace('quiet', 'quiet init=/bin/sh'));
      }],
    ];
    for (const [what, tamper] of cases) {
      const copy = path.join(work, `tampered-${what}`);
      cpSync(imageDir, copy, { recursive: true });
      tamper(copy);
      const before = readFileSync(firelogPath, 'utf8').split('\n').length;
      const r = await call('echo', { text: 'x' }, { imageDir: copy });
      expect(r.outcome, what).toBe('refused');
      expect(r.error?.code, what).toBe('GW_IMAGE_INVALID');
      expect(r.bootMs, what).toBeNull();
      const added = readFileSync(firelogPath, 'utf8').split('\n').slice(before - 1).join('\n');
      expect(added, what).not.toContain('Spawning');
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('runs a critical action through the executor in one microVM', async () => {
    const manifest = {
      name: 'vmecho', description: 'microVM test connector',
      actions: { echo: { tier: 'critical' as const, description: 'echo',
        input: z.strictObject({ text: z.string() }) } },
    };
    const connectors = new Map<string, RegisteredConnector>([
      ['vmecho', { manifest, implementation: null }]]);
    const on = validateConfig({ enable_firecracker_sandbox: true, vmm: 'qemu' }, 'test');
    const ex = new Executor(connectors, on, 60_000, {
      vmBootDeadlineMs: BOOT_DEADLINE_MS,
      vmProbe: async () => ({ unavailable: null, backend: 'qemu', why: 'test', imageDir,
        publicKey, accel: chooseAccel() }),
    });
    const ctx = { now: new Date(), timeZone: 'UTC', principal: 'tester',
      signal: new AbortController().signal, log: createLogger({ level: 'silent' }) };
    const r = await ex.run({ connector: 'vmecho', action: 'echo', input: { text: 'seven' },
      tier: 'critical' }, ctx);
    expect(r.outcome).toBe('succeeded');
    expect(r.speech).toBe('echo seven');
    expect(r.microvm?.backend).toMatch(/^QEMU/);
    if (r.microvm?.bootMs) boots.push(r.microvm.bootMs);
    // Bad input never starts a VM.
    const bad = await ex.run({ connector: 'vmecho', action: 'echo', input: { text: 7 },
      tier: 'critical' }, ctx);
    expect(bad.error?.code).toBe('GW_ACTION_INPUT_INVALID');
    expect(bad.microvm).toBeUndefined();
  });

  it('leaves no VMM process behind when the gateway process is killed', async () => {
    // A stand-in gateway: starts a VM whose action hangs, prints its pid, and is SIGKILLed.
    const script = path.join(work, 'parent.mjs');
    const dist = (f: string): string => JSON.stringify(path.join(ROOT, 'dist', f));
    writeFileSync(script, [
      `import { runInVm } from ${dist('isolation/vm/run.js')};`,
      `import { createLogger } from ${dist('log.js')};`,
      `import { Firelog } from ${dist('isolation/vm/firelog.js')};`,
      `const publicKey = new Uint8Array(${JSON.stringify([...publicKey])});`,
      'void runInVm({ connector: "vmecho", action: "hang", input: {}, endpoints: [],',
      '  settings: {}, secrets: {}, now: new Date(), timeZone: "UTC", principal: "p",',
      `  signal: new AbortController().signal, imageDir: ${JSON.stringify(imageDir)}, publicKey,`,
      '  bootDeadlineMs: 600000, actionDeadlineMs: 600000, log: createLogger({ level: "silent" }),',
      `  firelog: new Firelog(${JSON.stringify(path.join(work, 'orphan.log'))}) });`,
    ].join('\n'));
    const parent = spawn(process.execPath, [script], { stdio: 'ignore', cwd: ROOT });
    // Wait (bounded in count, not time) until the VM's boot is logged: the VMM is running.
    const log = path.join(work, 'orphan.log');
    for (let i = 0; i < 600 && !(existsSync(log) &&
      readFileSync(log, 'utf8').includes('boot complete')); i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(readFileSync(log, 'utf8')).toContain('boot complete');
    const vmms = (): string[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(imageDir);
        } catch {
          return false;
        }
      });
    expect(vmms().length).toBeGreaterThan(0);
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    for (let i = 0; i < 100 && vmms().length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(vmms()).toEqual([]);
    // Its temporary folder (agent socket) is removed before the next VM starts.
    const leftover = readdirSync(os.tmpdir()).filter((n) => n.startsWith(`gw-vm-${parent.pid}-`));
    expect(leftover.length).toBe(1);
    sweepStaleVmDirs();
    expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith(`gw-vm-${parent.pid}-`)))
      .toEqual([]);
  });
});
