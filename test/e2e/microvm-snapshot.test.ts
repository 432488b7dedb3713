/**
 * Snapshots, the VM handle and the warm pool with real components: one image build, one
 * cold boot that saves the signed snapshot, then restored clones (cheap) for the rest.
 * Deadlines are generous (a busy 2-core machine emulating x86); nothing asserts a duration.
 */
import {
  closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync,
  statSync, writeFileSync, writeSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/isolation/vm/build.js';
import { AgentChannel } from '../../src/isolation/vm/channel.js';
import { Firelog } from '../../src/isolation/vm/firelog.js';
import { signImage, verifyImage, type ImageManifest } from '../../src/isolation/vm/image.js';
import { launchVm, type VmActionRequest, type VmLaunchOptions } from
  '../../src/isolation/vm/launch.js';
import { WarmPool } from '../../src/isolation/vm/pool.js';
import { chooseAccel, qemuArgs, qemuBinary } from '../../src/isolation/vm/qemu.js';
import { runInVm, type VmResult } from '../../src/isolation/vm/run.js';
import {
  snapshotFiles, snapshotId, snapshotParams, type SnapshotKey,
} from '../../src/isolation/vm/snapshot.js';
import { MAX_CONSOLE_BYTES } from '../../src/isolation/vm/vm.js';
import { generateKeys, loadKeyPair } from '../../src/keys/keys.js';
import { createLogger } from '../../src/log.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RAND = path.join(ROOT, 'test/fixtures/connectors/vmrand');
const DEADLINE_MS = 240_000;

let work: string;
let imageDir: string;
let snapDir: string;
let publicKey: Uint8Array;
let snapshotKey: SnapshotKey;
let firelogPath: string;
let manifest: ImageManifest;
const restores: number[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/isolation/vm/guest/agent.js'))) {
    throw new Error('dist/ is not built: run ./scripts/setup.sh');
  }
  work = mkdtempSync(path.join(os.tmpdir(), 'gw-snapshot-test-'));
  imageDir = path.join(work, 'image');
  snapDir = path.join(work, 'snapshots');
  firelogPath = path.join(work, 'firecracker.log');
  generateKeys(path.join(work, 'keys'), { purposes: ['image', 'snapshot'] });
  const pair = loadKeyPair(path.join(work, 'keys'), 'image');
  publicKey = pair.publicKey;
  snapshotKey = loadKeyPair(path.join(work, 'keys'), 'snapshot');
  manifest = (await buildImage({ outDir: imageDir, extraConnectors: { vmrand: RAND } })).manifest;
  signImage(imageDir, pair.secretKey);
}, 900_000);

afterAll(() => {
  if (restores.length) {
    const s = [...restores].sort((a, b) => a - b);
    process.stderr.write(`microVM restore to agent ready (ms): ${s.map(Math.round).join(', ')}` +
      `; p50 ${Math.round(s[Math.floor(s.length / 2)] ?? 0)}\n`);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

function options(over: Partial<VmLaunchOptions> = {}): VmLaunchOptions {
  return { connector: 'vmrand', endpoints: [], imageDir, publicKey, bootDeadlineMs: DEADLINE_MS,
    log: createLogger({ level: 'silent' }), firelog: new Firelog(firelogPath),
    snapshotDir: snapDir, snapshotKey, ...over };
}

function request(action: string, input: unknown = {}): VmActionRequest {
  return { action, input, settings: {}, secrets: { token: 'snap-secret' }, now: new Date(),
    timeZone: 'UTC', principal: 'tester', signal: new AbortController().signal,
    actionDeadlineMs: DEADLINE_MS };
}

async function call(action: string, input: unknown = {}, over: Partial<VmLaunchOptions> = {}):
Promise<VmResult> {
  const r = await runInVm({ ...options(over), ...request(action, input) });
  if (r.mode === 'restored' && r.bootMs !== null) restores.push(r.bootMs);
  return r;
}

const vmProcesses = (): string[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  .filter((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(imageDir);
    } catch {
      return false;
    }
  });

const firelogLines = (): number => readFileSync(firelogPath, 'utf8').split('\n').length;

function snapshotPaths(): ReturnType<typeof snapshotFiles> {
  const qemu = qemuBinary();
  if (!qemu) throw new Error('no QEMU');
  const params = snapshotParams(manifest, 256, chooseAccel().accel, qemu);
  return snapshotFiles(snapDir, snapshotId(params));
}

interface Random { kernel: string; node: string; uuid: string; x25519: string; clock: number }

/** A clone restored by hand (real QEMU) and given its action with no resume before it. */
async function cloneWithoutResume(): Promise<Random> {
  const image = await verifyImage(imageDir, publicKey);
  const dir = mkdtempSync(path.join(work, 'clone-'));
  const channel = new AgentChannel(path.join(dir, 'agent.sock'), [], 'vmrand',
    createLogger({ level: 'silent' }));
  await channel.listen();
  const fd = openSync(snapshotPaths().state, 'r');
  const qemu = spawn(qemuBinary() ?? 'qemu-system-x86_64', [...qemuArgs({ image,
    agentSocket: channel.socketPath, accel: chooseAccel().accel, memMib: 256 }),
  '-incoming', 'fd:3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
  closeSync(fd);
  const exited = new Promise<never>((_, reject) => qemu.once('exit', () =>
    reject(new Error('the control clone exited'))));
  exited.catch(() => {});
  try {
    await Promise.race([exited,
      new Promise((resolve) => channel.once('connected', () => resolve(null)))]);
    const result = Promise.race([exited, new Promise((resolve) => channel.once('result', resolve))]);
    channel.send({ t: 'run', module: image.manifest.connectors.vmrand ?? '', request: {
      action: 'random', input: {}, settings: {}, secrets: {}, now: new Date().toISOString(),
      timeZone: 'UTC', principal: 'tester', idempotencyKey: null } });
    return ((await result) as { data: Random }).data;
  } finally {
    qemu.kill('SIGKILL');
    await channel.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('microVM snapshots (QEMU)', () => {
  it('boots cold once, saves a signed snapshot, then restores clones for round trips', async () => {
    const first = await call('echo', { text: 'cold' });
    expect(first.error).toBeUndefined();
    expect(first.mode).toBe('cold');
    expect(first.speech).toBe('echo cold');
    const f = snapshotPaths();
    for (const file of [f.state, f.record, f.sig]) {
      expect(existsSync(file), file).toBe(true);
      expect(readFileSync(file).length).toBeGreaterThan(0);
    }
    expect(statSync(f.state).mode & 0o777).toBe(0o600);
    expect(statSync(snapDir).mode & 0o777).toBe(0o700);
    const restored = await call('echo', { text: 'restored' });
    expect(restored.error).toBeUndefined();
    expect(restored.mode).toBe('restored');
    expect(restored.speech).toBe('echo restored');
    const log = readFileSync(firelogPath, 'utf8');
    expect(log).toMatch(/microVM snapshot [0-9a-f]{32} saved/);
    expect(log).toMatch(/Restoring QEMU \((tcg|kvm)\) microVM for connector=vmrand from snapshot/);
    expect(log).toMatch(/microVM restore complete in \d+ ms/);
    expect(log).not.toContain('snap-secret');
    expect(vmProcesses()).toEqual([]);
  });

  it('gives two clones of one snapshot different kernel and Node.js random values', async () => {
    // The control: clones sent their action without the host's resume (fresh entropy) agree
    // on every value, so this test fails if the reseed or the RAND engine stops working.
    const [ca, cb] = [await cloneWithoutResume(), await cloneWithoutResume()];
    expect(ca.kernel).toBe(cb.kernel);
    expect(ca.node).toBe(cb.node);
    expect(ca.x25519).toBe(cb.x25519);
    const [a, b] = await Promise.all([call('random'), call('random')]);
    expect(a?.mode).toBe('restored');
    expect(b?.mode).toBe('restored');
    const da = a?.data as Random;
    const db = b?.data as Random;
    const values = [da.kernel, da.node, db.kernel, db.node];
    for (const v of values) expect(v).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(values).size).toBe(4);
    expect(da.uuid).not.toBe(db.uuid);
    expect(da.x25519).not.toBe(db.x25519);
    // The clock was set from the host's at the restore, not left at the snapshot's time.
    expect(Math.abs(da.clock - Date.now())).toBeLessThan(10 * 60_000);
  });

  it('refuses a tampered snapshot before any VMM starts', async () => {
    const f = snapshotPaths();
    const keep = path.join(work, 'keep');
    rmSync(keep, { recursive: true, force: true });
    cpSync(snapDir, keep, { recursive: true });
    const restore = (): void => {
      rmSync(snapDir, { recursive: true, force: true });
      cpSync(keep, snapDir, { recursive: true });
    };
    const other = nacl.sign.keyPair();
    const resign = (bytes: Buffer, key: Uint8Array): void => {
      writeFileSync(f.record, bytes);
      writeFileSync(f.sig, `${Buffer.from(nacl.sign.detached(new Uint8Array(bytes), key))
        .toString('base64')}\n`);
    };
    const cases: Array<[string, () => void]> = [
      ['a flipped byte', () => {
        const fd = openSync(f.state, 'r+');
        const at = 5 * 1024 * 1024;
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, at);
        b[0] = (b[0] ?? 0) ^ 0x01;
        writeSync(fd, b, 0, 1, at);
        closeSync(fd);
      }],
      ['another key', () => resign(readFileSync(f.record), other.secretKey)],
      ['another image', () => {
        // A genuine record for another image, signed with the right key, put in its place.
        const rec = JSON.parse(readFileSync(f.record, 'utf8')) as { params: { image: string } };
        rec.params.image = 'f'.repeat(64);
        resign(Buffer.from(JSON.stringify(rec)), snapshotKey.secretKey ?? new Uint8Array());
      }],
    ];
    try {
      for (const [what, tamper] of cases) {
        restore();
        tamper();
        const before = firelogLines();
        const r = await call('echo', { text: 'x' });
        expect(r.outcome, what).toBe('refused');
        expect(r.error?.code, what).toBe('GW_SNAPSHOT_INVALID');
        expect(r.bootMs, what).toBeNull();
        const added = readFileSync(firelogPath, 'utf8').split('\n').slice(before - 1).join('\n');
        expect(added, what).toMatch(/Refused microVM for connector=vmrand: GW_SNAPSHOT_INVALID/);
        expect(added, what).not.toMatch(/Spawning|Restoring/);
      }
    } finally {
      restore();
    }
    expect((await call('echo', { text: 'again' })).mode).toBe('restored');
  });

  it('completes four critical actions in parallel', async () => {
    const rs = await Promise.all([1, 2, 3, 4].map((i) => call('echo', { text: `p${i}` })));
    expect(rs.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded',
      'succeeded']);
    expect(rs.map((r) => r.speech)).toEqual(['echo p1', 'echo p2', 'echo p3', 'echo p4']);
    expect(vmProcesses()).toEqual([]);
  });

  it('keeps the console bounded when a guest floods it', async () => {
    const before = process.memoryUsage().rss;
    const r = await call('flood', { bytes: 1024 * 1024 });
    // Handled either way (answered, or killed at its deadline); the kept text stays capped.
    expect(['succeeded', 'indeterminate']).toContain(r.outcome);
    expect(r.console.length).toBeGreaterThan(1000);
    expect(r.console.length).toBeLessThanOrEqual(MAX_CONSOLE_BYTES);
    expect(r.console).toContain('flood flood');
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    expect(vmProcesses()).toEqual([]);
  });
});

describe('microVM handle', () => {
  it('starts ahead of its action, runs it once, and refuses a second run', async () => {
    const h = launchVm(options());
    const ready = await h.ready;
    expect(ready.mode).toBe('restored');
    expect(h.backend).toMatch(/^QEMU/);
    const r = await h.run(request('echo', { text: 'handle' }));
    expect(r.speech).toBe('echo handle');
    const again = await h.run(request('echo', { text: 'twice' }));
    expect(again.outcome).toBe('refused');
    expect(again.error?.code).toBe('GW_VM_FAILED');
    await h.destroy();
    await h.destroy();
    expect(vmProcesses()).toEqual([]);
  });

  it('refuses before delivery when its VM died, and destroys an unused VM by itself', async () => {
    const h = launchVm(options());
    await h.ready;
    const pids = vmProcesses();
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    for (let i = 0; i < 400 && vmProcesses().length > 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    await new Promise((res) => setTimeout(res, 500)); // its exit event reaches the handle
    const r = await h.run(request('echo', { text: 'dead' }));
    expect(r.outcome).toBe('refused');
    expect(r.error?.code).toBe('GW_VM_FAILED');
    await h.destroy();
    // Died after the request went in: indeterminate, never sent again.
    const busy = launchVm(options());
    await busy.ready;
    const running = busy.run(request('hang'));
    await new Promise((res) => setTimeout(res, 1000)); // the request is in the guest
    for (const pid of vmProcesses()) process.kill(Number(pid), 'SIGKILL');
    const lost = await running;
    expect(lost.outcome).toBe('indeterminate');
    expect(lost.error?.code).toBe('GW_VM_CRASHED');
    await busy.destroy();
    // Unused past its boot deadline plus the grace: gone without anyone calling destroy().
    const idle = launchVm(options({ bootDeadlineMs: 20_000, idleGraceMs: 500 }));
    await idle.ready;
    expect(vmProcesses().length).toBeGreaterThan(0);
    for (let i = 0; i < 600 && vmProcesses().length > 0; i++) {
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(vmProcesses()).toEqual([]);
    expect(readFileSync(firelogPath, 'utf8')).toContain('destroyed unused');
  });

  it('claims a VM from the warm pool, which refills, and closes it all', async () => {
    // A pooled VM learns its connector's endpoints only when it is claimed.
    const server = net.createServer((c) => c.on('data', (d) => c.end(`pong:${d}`.trim())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const fetch = request('fetch', { host: '127.0.0.1', port, text: 'ping' });
    const pool = new WarmPool({ size: 2, imageDir, publicKey, bootDeadlineMs: DEADLINE_MS,
      log: createLogger({ level: 'silent' }), firelog: new Firelog(firelogPath),
      snapshotDir: snapDir, snapshotKey }).start();
    try {
      await pool.whenFull();
      expect(vmProcesses().length).toBe(2);
      const allowed = launchVm(options({ endpoints: [{ host: '127.0.0.1', port }] }));
      expect((await allowed.ready).mode).toBe('warm');
      const r = await allowed.run(fetch);
      expect(r.outcome).toBe('succeeded');
      expect(r.mode).toBe('warm');
      expect((r.data as { reply: string }).reply).toBe('pong:ping');
      const denied = launchVm(options());
      expect((await denied.ready).mode).toBe('warm');
      const no = await denied.run(fetch);
      expect(no.outcome).toBe('failed');
      expect(no.egress).toMatchObject({ allowed: 0, denied: 1 });
      await pool.whenFull();
      expect(vmProcesses().length).toBe(2);
    } finally {
      server.close();
      await pool.close();
    }
    expect(vmProcesses()).toEqual([]);
  });
});
