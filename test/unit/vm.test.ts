/**
 * The microVM tier's pieces that need no VM: the initramfs archive, the accelerator choice,
 * image signing and verification, and the Firecracker backend against a Unix-socket server
 * that checks every request against Firecracker's documented API.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCpio } from '../../src/isolation/vm/cpio.js';
import {
  AGENT_VSOCK_PORT, configureAndStart, connectVsock, type FirecrackerPlan,
} from '../../src/isolation/vm/firecracker.js';
import {
  IMAGE_FORMAT, sha256File, signImage, verifyImage, writeManifest, type ImageManifest,
} from '../../src/isolation/vm/image.js';
import { chooseAccel, qemuArgs } from '../../src/isolation/vm/qemu.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gw-vm-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('initramfs archive', () => {
  it('is a newc archive that busybox cpio lists, identical on every build', () => {
    const entries = [
      { name: 'init', kind: 'file' as const, mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
      { name: 'bin', kind: 'dir' as const, mode: 0o755 },
      { name: 'bin/x', kind: 'file' as const, mode: 0o644, data: Buffer.from('abc') },
    ];
    const a = buildCpio(entries);
    expect(buildCpio([...entries].reverse()).equals(a)).toBe(true);
    const file = path.join(tmp, 'a.cpio');
    writeFileSync(file, a);
    const listed = execFileSync('busybox', ['cpio', '-t', '-F', file], { encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'] });
    expect(listed.trim().split('\n')).toEqual(['bin', 'bin/x', 'init']);
  });
});

describe('accelerator choice', () => {
  it('does not trust a /dev/kvm without hardware virtualisation behind it', () => {
    expect(chooseAccel({ device: true, modules: ['kvm_pvm'] }).accel).toBe('tcg');
    expect(chooseAccel({ device: true, modules: [] }).accel).toBe('tcg');
    expect(chooseAccel({ device: false, modules: ['kvm_intel'] }).accel).toBe('tcg');
    expect(chooseAccel({ device: true, modules: ['kvm_intel'] }).accel).toBe('kvm');
    expect(chooseAccel({ device: true, modules: ['kvm_pvm'] }).why).toContain('PVM');
  });

  it('starts QEMU with no network device, a read-only root and the sandbox on', () => {
    const args = qemuArgs({ accel: 'tcg', memMib: 256, agentSocket: '/x/agent.sock', image: {
      dir: '/i', kernel: '/i/vmlinuz', initrd: '/i/initrd.img', rootfs: '/i/rootfs.ext4',
      manifest: { cmdline: 'console=ttyS0' } as ImageManifest } });
    const joined = args.join(' ');
    expect(joined).toContain('-nic none');
    expect(joined).toContain('-nodefaults');
    expect(joined).toContain('readonly=on');
    expect(joined).toMatch(/-sandbox on,/);
    expect(joined).toContain('-M microvm,pit=on,pic=on');
    expect(joined).not.toMatch(/netdev|virtio-net|vhost/);
  });
});

async function fakeImage(dir: string): Promise<ImageManifest> {
  const art = async (name: string, body: string): Promise<ImageManifest['kernel']> => {
    writeFileSync(path.join(dir, name), body);
    return { path: name, sha256: await sha256File(path.join(dir, name)), size: body.length };
  };
  const m: ImageManifest = {
    format: IMAGE_FORMAT, arch: 'x86_64', inputsKey: 'k', sources: {},
    kernel: await art('vmlinuz', 'kernel bytes'), initrd: await art('initrd.img', 'initrd'),
    rootfs: await art('rootfs.ext4', 'root bytes'), cmdline: 'console=ttyS0', connectors: {},
    files: [],
  };
  writeManifest(dir, m);
  return m;
}

describe('image signature and hashes', () => {
  const pair = nacl.sign.keyPair();

  it('verifies a signed image and refuses each kind of tampering', async () => {
    const dir = mkdtempSync(path.join(tmp, 'img-'));
    await expect(verifyImage(dir, pair.publicKey)).rejects.toMatchObject({
      code: 'GW_IMAGE_MISSING' });
    await fakeImage(dir);
    await expect(verifyImage(dir, pair.publicKey)).rejects.toMatchObject({
      code: 'GW_IMAGE_MISSING' });
    signImage(dir, pair.secretKey);
    await expect(verifyImage(dir, pair.publicKey)).resolves.toMatchObject({
      kernel: path.join(dir, 'vmlinuz') });
    // Another key's signature.
    await expect(verifyImage(dir, nacl.sign.keyPair().publicKey)).rejects.toMatchObject({
      code: 'GW_IMAGE_INVALID' });
    // A changed artefact.
    writeFileSync(path.join(dir, 'rootfs.ext4'), 'root bytez');
    await expect(verifyImage(dir, pair.publicKey)).rejects.toMatchObject({
      code: 'GW_IMAGE_INVALID' });
    writeFileSync(path.join(dir, 'rootfs.ext4'), 'root bytes');
    // A changed manifest (the command line).
    const mf = path.join(dir, 'manifest.json');
    const original = readFileSync(mf, 'utf8');
    writeFileSync(mf, original.replace('console=ttyS0', 'console=ttyS0 init=/bin/sh'));
    await expect(verifyImage(dir, pair.publicKey)).rejects.toMatchObject({
      code: 'GW_IMAGE_INVALID' });
    writeFileSync(mf, original);
    await expect(verifyImage(dir, pair.publicKey)).resolves.toBeTruthy();
  });

  it('refuses a signed manifest that points outside the image folder', async () => {
    const dir = mkdtempSync(path.join(tmp, 'img-'));
    const m = await fakeImage(dir);
    writeManifest(dir, { ...m, kernel: { ...m.kernel, path: '../vmlinuz' } });
    expect(() => signImage(dir, pair.secretKey)).toThrow(/malformed/);
  });
});

interface Seen {
  method: string;
  url: string;
  type: string | undefined;
  body: Record<string, unknown>;
}

/** Field names and types per endpoint, from Firecracker's swagger definition. */
const API: Record<string, Record<string, string>> = {
  '/logger': { log_path: 'string', level: 'string', show_level: 'boolean',
    show_log_origin: 'boolean' },
  '/machine-config': { vcpu_count: 'number', mem_size_mib: 'number', smt: 'boolean' },
  '/boot-source': { kernel_image_path: 'string', initrd_path: 'string', boot_args: 'string' },
  '/drives/rootfs': { drive_id: 'string', path_on_host: 'string', is_root_device: 'boolean',
    is_read_only: 'boolean' },
  '/vsock': { guest_cid: 'number', uds_path: 'string' },
  '/actions': { action_type: 'string' },
};

function fakeFirecracker(socket: string, seen: Seen[], failOn?: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      seen.push({ method: req.method ?? '', url: req.url ?? '',
        type: req.headers['content-type'], body });
      const spec = API[req.url ?? ''];
      const bad = !spec || req.method !== 'PUT' ||
        Object.keys(body).some((k) => spec[k] === undefined || typeof body[k] !== spec[k]);
      if (bad || req.url === failOn) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ fault_message: `bad request ${req.url ?? ''}` }));
        return;
      }
      res.writeHead(204);
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(socket, () => resolve(server)));
}

describe('Firecracker backend (against a checking API server; no Firecracker here)', () => {
  const plan: FirecrackerPlan = {
    kernel: '/img/vmlinux', initrd: '/img/initrd.img', rootfs: '/img/rootfs.ext4',
    cmdline: 'console=ttyS0 quiet panic=-1', memMib: 256, vsockUds: '/run/v.sock',
    logPath: '/run/fc.log',
  };

  it('configures boot source, drive, machine, vsock and logger, then InstanceStart', async () => {
    const seen: Seen[] = [];
    const socket = path.join(tmp, 'fc-api.sock');
    const server = await fakeFirecracker(socket, seen);
    try {
      await configureAndStart(socket, plan);
    } finally {
      server.close();
    }
    expect(seen.map((s) => s.url)).toEqual(['/logger', '/machine-config', '/boot-source',
      '/drives/rootfs', '/vsock', '/actions']);
    expect(seen.every((s) => s.method === 'PUT' && s.type === 'application/json')).toBe(true);
    expect(seen.some((s) => s.url.startsWith('/network-interfaces'))).toBe(false);
    expect(seen[3]?.body).toMatchObject({ is_read_only: true, path_on_host: plan.rootfs });
    expect(seen[5]?.body).toEqual({ action_type: 'InstanceStart' });
    expect(String(seen[2]?.body.boot_args)).not.toContain('console=ttyS0');
    expect(seen[4]?.body).toMatchObject({ guest_cid: 3 });
  });

  it('stops at the first refused call with its fault message, before InstanceStart', async () => {
    const seen: Seen[] = [];
    const socket = path.join(tmp, 'fc-api2.sock');
    const server = await fakeFirecracker(socket, seen, '/vsock');
    try {
      await expect(configureAndStart(socket, plan)).rejects.toMatchObject({
        code: 'GW_VM_FAILED', message: expect.stringContaining('bad request /vsock') as string });
    } finally {
      server.close();
    }
    expect(seen.map((s) => s.url)).not.toContain('/actions');
  });

  it('opens the agent stream with the vsock CONNECT handshake', async () => {
    const net = await import('node:net');
    const uds = path.join(tmp, 'v.sock');
    let asked = '';
    const server = net.createServer((s) => {
      s.once('data', (d) => {
        asked = d.toString('latin1');
        s.write('OK 1073741824\nhello');
      });
    });
    await new Promise<void>((r) => server.listen(uds, () => r()));
    try {
      const sock = await connectVsock(uds);
      const first = await new Promise<string>((r) => sock.once('data', (d) => r(String(d))));
      expect(first).toBe('hello');
      sock.destroy();
    } finally {
      server.close();
    }
    expect(asked).toBe(`CONNECT ${AGENT_VSOCK_PORT}\n`);
  });
});
