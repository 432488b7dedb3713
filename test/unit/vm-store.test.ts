/**
 * The read-only image store, image updates with an injected boot health check, the probe
 * that takes the image from the store, and the audit record of an image refusal. No VM is
 * booted here (test/e2e/microvm-update.test.ts boots real ones). The ownership rules are
 * tested as root (this machine) and, through setpriv, as an unprivileged user.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync,
  readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';
import type { HostFacts } from '../../src/isolation/vm/backend.js';
import {
  IMAGE_FORMAT, sha256File, signImage, writeManifest, type ImageManifest,
} from '../../src/isolation/vm/image.js';
import { probeVm } from '../../src/isolation/vm/probe.js';
import {
  CURRENT_LINK, currentId, installImage, storeUnsafe, switchCurrent,
} from '../../src/isolation/vm/store.js';
import { updateImage } from '../../src/isolation/vm/update.js';
import { generateKeys, loadKeyPair } from '../../src/keys/keys.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gw-vm-store-'));
const keysDir = path.join(tmp, 'keys');
let secretKey: Uint8Array;
let publicKey: Uint8Array;
let n = 0;

beforeAll(() => {
  generateKeys(keysDir, { purposes: ['image'] });
  ({ secretKey, publicKey } = loadKeyPair(keysDir, 'image'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A small signed image folder (not bootable: the store never boots). */
async function makeImage(over: Partial<ImageManifest> = {}, arch = 'x86_64'): Promise<string> {
  const dir = path.join(tmp, `src-${++n}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'vmlinuz'), `kernel ${n}`);
  writeFileSync(path.join(dir, 'initrd.img'), `initrd ${n}`);
  writeFileSync(path.join(dir, 'rootfs.ext4'), Buffer.alloc(4096, n));
  const art = async (p: string): Promise<ImageManifest['kernel']> => ({ path: p,
    sha256: await sha256File(path.join(dir, p)), size: statSync(path.join(dir, p)).size });
  writeManifest(dir, { format: IMAGE_FORMAT, arch, inputsKey: `k${n}`, sources: {},
    kernel: await art('vmlinuz'), initrd: await art('initrd.img'),
    rootfs: await art('rootfs.ext4'), cmdline: 'console=ttyS0', connectors: {}, files: [],
    ...over });
  signImage(dir, secretKey);
  return dir;
}

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (err) {
    return err instanceof GatewayError ? err.code : String(err);
  }
}

const modeOf = (p: string): number => lstatSync(p).mode & 0o7777;

/**
 * store.ts and the two modules it imports, transpiled to plain ESM (the real code, no
 * fakes) in a folder another user can read, with a script that prints storeUnsafe().
 */
function transpiledStore(): string {
  const root = path.join(tmp, 'js');
  for (const rel of ['errors.ts', 'isolation/vm/image.ts', 'isolation/vm/store.ts']) {
    const out = ts.transpileModule(readFileSync(path.resolve('src', rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel.replace(/\.ts$/, '.js')), out.outputText);
  }
  writeFileSync(path.join(root, 'package.json'), '{"type":"module"}\n');
  symlinkSync(path.resolve('node_modules'), path.join(root, 'node_modules'));
  const script = path.join(root, 'as-nobody.js');
  writeFileSync(script, "import { storeUnsafe } from './isolation/vm/store.js';\n" +
    'console.log(JSON.stringify(storeUnsafe(process.argv[2], process.argv[3])));\n');
  execFileSync('chmod', ['-R', 'a+rX', root]);
  return script;
}

describe('read-only image store', () => {
  it('installs a verified image sealed read-only and switches current to it', async () => {
    const store = path.join(tmp, 'store-install');
    const src = await makeImage();
    const r = await installImage(src, store, publicKey);
    expect(r.copied).toBe(true);
    expect(r.previous).toBeNull();
    expect(readlinkSync(path.join(store, CURRENT_LINK))).toBe(`images/${r.id}`);
    const dir = path.join(store, 'images', r.id);
    expect(readdirSync(dir).sort()).toEqual(
      ['initrd.img', 'manifest.json', 'manifest.sig', 'rootfs.ext4', 'vmlinuz']);
    for (const f of readdirSync(dir)) {
      expect(modeOf(path.join(dir, f)), f).toBe(0o444);
      expect(lstatSync(path.join(dir, f)).uid).toBe(0);
    }
    for (const d of [store, path.join(store, 'images'), dir]) expect(modeOf(d), d).toBe(0o555);
    expect(storeUnsafe(dir, store)).toBeNull();
    // No staging folder or temporary link is left behind.
    expect(readdirSync(path.join(store, 'images'))).toEqual([r.id]);
    expect(readdirSync(store).sort()).toEqual(['current', 'images']);
    // Installing the same image again copies nothing and verifies it in place.
    const again = await installImage(src, store, publicKey);
    expect(again).toMatchObject({ id: r.id, copied: false, previous: r.id });
  });

  it('refuses a tampered or unsigned image and leaves the store as it was', async () => {
    const store = path.join(tmp, 'store-refuse');
    const good = await installImage(await makeImage(), store, publicKey);
    const tampered = await makeImage();
    writeFileSync(path.join(tampered, 'vmlinuz'), 'kernel with a backdoor');
    expect(await codeOf(installImage(tampered, store, publicKey))).toBe('GW_IMAGE_INVALID');
    const unsigned = await makeImage();
    rmSync(path.join(unsigned, 'manifest.sig'));
    expect(await codeOf(installImage(unsigned, store, publicKey))).toBe('GW_IMAGE_MISSING');
    const otherKey = path.join(tmp, 'other-keys');
    generateKeys(otherKey, { purposes: ['image'] });
    const foreign = await makeImage();
    signImage(foreign, loadKeyPair(otherKey, 'image').secretKey);
    expect(await codeOf(installImage(foreign, store, publicKey))).toBe('GW_IMAGE_INVALID');
    expect(currentId(store)).toBe(good.id);
    expect(readdirSync(path.join(store, 'images'))).toEqual([good.id]);
  });

  it('refuses to boot from folders the gateway user could change (as root)', async () => {
    const store = path.join(tmp, 'store-unsafe');
    const r = await installImage(await makeImage(), store, publicKey);
    const dir = path.join(store, 'images', r.id);
    expect(storeUnsafe(dir, store)).toBeNull();
    // A plain build folder (0755 folder, 0644 files, as `rootfs build` leaves it).
    expect(storeUnsafe(await makeImage())).toMatch(/write bit/);
    chmodSync(dir, 0o755);
    expect(storeUnsafe(dir, store)).toMatch(/write bit \(mode 0755\)/);
    chmodSync(dir, 0o555);
    chmodSync(path.join(dir, 'vmlinuz'), 0o664);
    expect(storeUnsafe(dir, store)).toMatch(/vmlinuz is writable by its group/);
    chmodSync(path.join(dir, 'vmlinuz'), 0o444);
    chownSync(path.join(dir, 'rootfs.ext4'), 1000, 1000);
    expect(storeUnsafe(dir, store)).toMatch(/rootfs.ext4 is owned by uid 1000/);
    chownSync(path.join(dir, 'rootfs.ext4'), 0, 0);
    chmodSync(store, 0o755);
    expect(storeUnsafe(dir, store)).toMatch(/store-unsafe has a write bit/);
    chmodSync(store, 0o555);
    expect(storeUnsafe(dir, store)).toBeNull();
  });

  it('applies access(W_OK) for a gateway that is not root (setpriv to nobody)', async () => {
    const store = path.join(tmp, 'store-nobody');
    const r = await installImage(await makeImage(), store, publicKey);
    const dir = path.join(store, 'images', r.id);
    chmodSync(tmp, 0o755); // let nobody reach the files at all
    const script = transpiledStore();
    const asNobody = (): string | null => JSON.parse(execFileSync('setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script, dir, store],
      { encoding: 'utf8' }).trim().split('\n').pop() ?? 'null') as string | null;
    // Root's 0755 folders are fine for nobody: it cannot write them.
    chmodSync(dir, 0o755);
    expect(asNobody()).toBeNull();
    // ...but not when nobody owns a file (an owner can always chmod it).
    chownSync(path.join(dir, 'initrd.img'), 65534, 65534);
    expect(asNobody()).toMatch(/initrd.img is owned by the gateway's user \(uid 65534\)/);
    chownSync(path.join(dir, 'initrd.img'), 0, 0);
    chmodSync(dir, 0o555);
  });

  it('switches current by rename: a reader never finds it missing', async () => {
    const store = path.join(tmp, 'store-atomic');
    const a = await installImage(await makeImage(), store, publicKey);
    const b = await installImage(await makeImage(), store, publicKey);
    expect(b.previous).toBe(a.id);
    expect(currentId(store)).toBe(b.id);
    // A separate process reads the link in a tight loop while this one switches it.
    const link = path.join(store, CURRENT_LINK);
    const reader = spawn(process.execPath, ['-e', `
      const fs = require('node:fs'); const seen = new Set(); let missing = 0; let reads = 0;
      process.stdout.write('go\\n');
      process.stdin.on('data', () => { console.log(JSON.stringify({ missing, reads,
        seen: [...seen] })); process.exit(0); });
      (function loop() { for (let i = 0; i < 2000; i++) { reads++;
        try { seen.add(fs.readlinkSync(${JSON.stringify(link)})); } catch { missing++; } }
        if (seen.size === 2) process.stdout.write('both\\n'); setImmediate(loop); })();`],
    { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    for (let i = 0; i < 1000 && !out.includes('go'); i++) await new Promise((r) => setTimeout(r, 20));
    let switches = 0;
    for (; switches < 20_000 && !out.includes('both'); switches++) {
      switchCurrent(store, switches % 2 ? b.id : a.id);
      if (switches % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    reader.stdin.write('stop\n');
    await new Promise((r) => reader.once('exit', r));
    const report = JSON.parse(out.trim().split('\n').pop() ?? '{}') as
      { missing: number; reads: number; seen: string[] };
    expect(report.seen.sort()).toEqual([`images/${a.id}`, `images/${b.id}`].sort());
    expect(report.missing).toBe(0);
    expect(readdirSync(store).sort()).toEqual(['current', 'images']);
  });
});

describe('image updates (injected health check)', () => {
  const ok = async (): Promise<void> => {};

  it('pulls from file://, installs, switches, and rolls back a failed health check', async () => {
    const store = path.join(tmp, 'store-update');
    const first = await installImage(await makeImage(), store, publicKey);
    const next = await makeImage();
    const checked: string[] = [];
    const r = await updateImage({ source: pathToFileURL(next).href, storeDir: store, publicKey,
      healthCheck: async (dir) => {
        checked.push(dir);
        // The new image is current while it is checked.
        expect(currentId(store)).toBe(path.basename(dir));
      } });
    expect(r).toMatchObject({ status: 'updated', previous: first.id });
    expect(currentId(store)).toBe(r.id);
    expect(checked).toEqual([path.join(store, 'images', r.id)]);
    // The same source again: nothing to do, no health check.
    const same = await updateImage({ source: pathToFileURL(next).href, storeDir: store,
      publicKey, healthCheck: async () => {
        throw new Error('not expected');
      } });
    expect(same.status).toBe('unchanged');
    // An image whose boot fails: switched back, and the failed image removed.
    const broken = await makeImage({ cmdline: 'console=ttyS0 init=/nonexistent' });
    const err = await updateImage({ source: pathToFileURL(broken).href, storeDir: store,
      publicKey, healthCheck: async () => {
        throw new GatewayError('GW_VM_FAILED', 'the VMM exited before the agent was ready');
      } }).catch((e: unknown) => e as GatewayError);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('GW_IMAGE_UPDATE_FAILED');
    expect((err as GatewayError).message).toContain('switched back');
    expect(currentId(store)).toBe(r.id);
    expect(readdirSync(path.join(store, 'images')).sort()).toEqual([first.id, r.id].sort());
  });

  it('refuses tampered, unsigned and foreign updates before anything is switched', async () => {
    const store = path.join(tmp, 'store-update-refuse');
    const first = await installImage(await makeImage(), store, publicKey);
    let checks = 0;
    const count = async (): Promise<void> => {
      checks++;
    };
    const manifestEdited = await makeImage();
    const mf = path.join(manifestEdited, 'manifest.json');
    writeFileSync(mf, readFileSync(mf, 'utf8').replace('console=ttyS0', 'console=ttyS0 x=1'));
    const artefactEdited = await makeImage();
    const initrd = path.join(artefactEdited, 'initrd.img');
    writeFileSync(initrd, readFileSync(initrd, 'utf8').replace('initrd', 'INITRD'));
    const artefactLonger = await makeImage();
    writeFileSync(path.join(artefactLonger, 'rootfs.ext4'), Buffer.alloc(4097));
    const unsigned = await makeImage();
    rmSync(path.join(unsigned, 'manifest.sig'));
    const cases: Array<[string, string, string]> = [
      ['manifest edited', pathToFileURL(manifestEdited).href, 'GW_IMAGE_INVALID'],
      ['artefact edited', pathToFileURL(artefactEdited).href, 'GW_IMAGE_INVALID'],
      ['artefact longer', pathToFileURL(artefactLonger).href, 'GW_IMAGE_INVALID'],
      ['unsigned', pathToFileURL(unsigned).href, 'GW_IMAGE_MISSING'],
      ['missing folder', pathToFileURL(path.join(tmp, 'nowhere')).href, 'GW_IMAGE_UPDATE_SOURCE'],
      ['plain http', 'http://127.0.0.1:9/image/', 'GW_IMAGE_UPDATE_SOURCE'],
      ['no source', '', 'GW_IMAGE_UPDATE_SOURCE'],
    ];
    for (const [what, source, want] of cases) {
      expect(await codeOf(updateImage({ source, storeDir: store, publicKey,
        healthCheck: count })), what).toBe(want);
      expect(currentId(store), what).toBe(first.id);
    }
    expect(checks).toBe(0);
    expect(readdirSync(path.join(store, 'images'))).toEqual([first.id]);
  });

  it('pulls over https from a local server whose CA is given to the client', async () => {
    const pki = path.join(tmp, 'pki');
    mkdirSync(pki);
    const ssl = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
    };
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=gw test update CA']);
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(path.join(pki, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
      '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
    const served = await makeImage();
    const requests: string[] = [];
    const server = https.createServer({ key: readFileSync(path.join(pki, 'server.key')),
      cert: readFileSync(path.join(pki, 'server.pem')) }, (req, res) => {
      requests.push(req.url ?? '');
      const name = path.basename(req.url ?? '');
      const file = path.join(served, name);
      if (!(req.url ?? '').startsWith('/images/v2/') || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
        .end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const source = `https://127.0.0.1:${(server.address() as AddressInfo).port}/images/v2/`;
    try {
      const store = path.join(tmp, 'store-https');
      // Without the CA the server's certificate is not trusted: nothing happens.
      expect(await codeOf(updateImage({ source, storeDir: store, publicKey, healthCheck: ok })))
        .toBe('GW_IMAGE_UPDATE_SOURCE');
      expect(currentId(store)).toBeNull();
      const r = await updateImage({ source, storeDir: store, publicKey, healthCheck: ok,
        ca: readFileSync(path.join(pki, 'ca.pem'), 'utf8') });
      expect(r.status).toBe('updated');
      expect(currentId(store)).toBe(r.id);
      // The manifest and signature first, then exactly the files the manifest names.
      expect(requests.slice(-5)).toEqual(['/images/v2/manifest.json', '/images/v2/manifest.sig',
        '/images/v2/vmlinuz', '/images/v2/initrd.img', '/images/v2/rootfs.ext4']);
    } finally {
      server.close();
    }
  });
});

const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  arch: 'x86_64', kvm: { device: false, modules: [] }, firecracker: null,
  qemu: '/usr/bin/qemu-system-x86_64', ...over,
});

describe('probe: the image comes from the store and must verify', () => {
  const qemuFacts = facts();

  it('uses the store\'s current image, refuses an unsafe or tampered one with its code', async () => {
    const store = path.join(tmp, 'store-probe');
    const config = validateConfig({ enable_firecracker_sandbox: true,
      microvm: { store_dir: store } }, 't');
    const empty = await probeVm(config, { keysDir, facts: qemuFacts });
    expect(empty.code).toBe('GW_IMAGE_MISSING');
    const r = await installImage(await makeImage(), store, publicKey);
    const ready = await probeVm(config, { keysDir, facts: qemuFacts, deep: true });
    expect(ready.unavailable).toBeNull();
    expect(ready.imageDir).toBe(path.join(store, 'images', r.id));
    const dir = ready.imageDir;
    chmodSync(dir, 0o775);
    const unsafe = await probeVm(config, { keysDir, facts: qemuFacts });
    expect(unsafe.code).toBe('GW_IMAGE_STORE_UNSAFE');
    chmodSync(dir, 0o555);
    // Root can still write a sealed file: the signature check before every boot catches it.
    const mf = path.join(dir, 'manifest.json');
    const original = readFileSync(mf);
    writeFileSync(mf, original.toString().replace('console=ttyS0', 'console=ttyS0 init=/bin/sh'));
    expect((await probeVm(config, { keysDir, facts: qemuFacts })).code).toBe('GW_IMAGE_INVALID');
    writeFileSync(mf, original);
    // An aarch64 image on this x86-64 host is refused.
    const arm = path.join(tmp, 'store-probe-arm');
    await installImage(await makeImage({}, 'aarch64'), arm, publicKey);
    const wrongArch = await probeVm(validateConfig({ enable_firecracker_sandbox: true,
      microvm: { store_dir: arm } }, 't'), { keysDir, facts: qemuFacts });
    expect(wrongArch.unavailable).toContain('is for aarch64');
    // A writable image folder without a store (as `rootfs build` leaves it) is refused too.
    const plain = await probeVm(config, { keysDir, facts: qemuFacts, imageDir: await makeImage() });
    expect(plain.code).toBe('GW_IMAGE_STORE_UNSAFE');
  });

  it('writes an audit record when a critical action is refused for its image', async () => {
    const { Executor } = await import('../../src/isolation/executor.js');
    const { ActionRunner } = await import('../../src/dialogue/act.js');
    const { createLogger } = await import('../../src/log.js');
    const { z } = await import('zod');
    const manifest = { name: 'vmecho', description: 'test', actions: { echo: {
      tier: 'critical' as const, description: 'echo', input: z.strictObject({ text: z.string() }),
    } } };
    const config = validateConfig({ enable_firecracker_sandbox: true }, 't');
    const probe = (c: string | null) => async () => ({ unavailable: c ? `${c}: bad image` : null,
      code: c as 'GW_IMAGE_INVALID' | null, backend: 'qemu' as const, why: 'test',
      accel: { accel: 'tcg' as const, why: 'test' }, imageDir: '/nowhere', publicKey });
    const records: string[] = [];
    const audit = {
      accepted: async (r: { connector: string; action: string }): Promise<string> => {
        records.push(`accepted ${r.connector}.${r.action}`);
        return 'id-1';
      },
      outcome: async (id: string, outcome: string, c?: string): Promise<void> => {
        records.push(`outcome ${id} ${outcome} ${c ?? ''}`);
      },
    };
    const log = createLogger({ level: 'silent' });
    const clock = { heardAt: 0, realtime: false };
    for (const c of ['GW_IMAGE_INVALID', 'GW_IMAGE_STORE_UNSAFE']) {
      records.length = 0;
      const ex = new Executor(new Map([['vmecho', { manifest, implementation: null }]]), config,
        10_000, { vmProbe: probe(c) });
      const runner = new ActionRunner(ex, config, audit, undefined, 'UTC');
      const { execution } = await runner.run({ connector: 'vmecho', action: 'echo',
        input: { text: 'x' } }, 'critical', clock, log);
      expect(execution.outcome).toBe('refused');
      expect(execution.error?.code).toBe(c);
      expect(records).toEqual(['accepted vmecho.echo', `outcome id-1 refused ${c}`]);
    }
    // A tier that is simply not there (no VMM) is still refused before any record.
    records.length = 0;
    const off = new Executor(new Map([['vmecho', { manifest, implementation: null }]]), config,
      10_000, { vmProbe: async () => ({ ...(await probe(null)()),
        unavailable: 'no QEMU', code: 'GW_VMM_UNAVAILABLE' as const }) });
    const r = await new ActionRunner(off, config, audit, undefined, 'UTC').run(
      { connector: 'vmecho', action: 'echo', input: { text: 'x' } }, 'critical', clock, log);
    expect(r.execution.error?.code).toBe('GW_TIER_UNAVAILABLE');
    expect(records).toEqual([]);
  });
});
