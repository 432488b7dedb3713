/**
 * Image updates with real boots: the image built from Debian packages and signed with a fresh
 * key is pulled from a file:// source into a read-only store, switched to, and booted under
 * QEMU as the health check; a tampered update is refused before anything is switched; an
 * update whose kernel command line makes the boot fail (re-signed, so it verifies) is rolled
 * back. Two real boots in all. Deadlines are generous; nothing asserts a duration.
 */
import {
  closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync,
  rmSync, writeFileSync, writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { buildImage } from '../../src/isolation/vm/build.js';
import { bootHealthCheck } from '../../src/isolation/vm/health.js';
import { signImage } from '../../src/isolation/vm/image.js';
import { currentId, storeUnsafe } from '../../src/isolation/vm/store.js';
import { updateImage } from '../../src/isolation/vm/update.js';
import { generateKeys, loadKeyPair } from '../../src/keys/keys.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ECHO = path.join(ROOT, 'test/fixtures/connectors/vmecho');
const DEADLINE_MS = 300_000;

let work: string;
let good: string;
let store: string;
let secretKey: Uint8Array;
let publicKey: Uint8Array;
const boots: string[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/isolation/vm/guest/agent.js'))) {
    throw new Error('dist/ is not built: run npm run build');
  }
  work = mkdtempSync(path.join(os.tmpdir(), 'gw-microvm-update-'));
  generateKeys(path.join(work, 'keys'), { purposes: ['image'] });
  ({ secretKey, publicKey } = loadKeyPair(path.join(work, 'keys'), 'image'));
  good = path.join(work, 'source-good');
  await buildImage({ outDir: good, extraConnectors: { vmecho: ECHO } });
  signImage(good, secretKey);
  store = path.join(work, 'store');
}, 900_000);

afterAll(() => {
  if (boots.length) process.stderr.write(`update health checks: ${boots.join('; ')}\n`);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A copy of the good image whose command line is changed and that is signed again. */
function variant(name: string, extraCmdline: string): string {
  const dir = path.join(work, name);
  cpSync(good, dir, { recursive: true });
  const mf = path.join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(mf, 'utf8')) as { cmdline: string };
  writeFileSync(mf, readFileSync(mf, 'utf8').replace(JSON.stringify(m.cmdline),
    JSON.stringify(`${m.cmdline} ${extraCmdline}`)));
  signImage(dir, secretKey);
  return dir;
}

function flip(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = (b[0] ?? 0) ^ 0x01;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

let checks = 0;
/** The real health check: a cold boot of the new image until its agent is ready. */
async function boot(dir: string): Promise<void> {
  checks++;
  try {
    const r = await bootHealthCheck(dir, { publicKey, deadlineMs: DEADLINE_MS });
    boots.push(`ready in ${Math.round(r.bootMs)} ms`);
  } catch (err) {
    boots.push(`failed: ${(err as GatewayError).code}`);
    throw err;
  }
}

describe('image updates with a real boot health check (QEMU)', () => {
  it('updates from file://, then refuses a tampered update before switching', async () => {
    const r = await updateImage({ source: pathToFileURL(good).href, storeDir: store, publicKey,
      healthCheck: boot });
    expect(r).toMatchObject({ status: 'updated', previous: null });
    expect(checks).toBe(1);
    expect(currentId(store)).toBe(r.id);
    const installed = path.join(store, 'images', r.id);
    expect(storeUnsafe(installed, store)).toBeNull();
    // Signed manifest, tampered kernel: the hash check refuses it, nothing boots or switches.
    const tamperedKernel = variant('source-tampered-kernel', 'gw.variant=1');
    flip(path.join(tamperedKernel, 'vmlinuz'), 4096);
    // Manifest edited after signing: the signature check refuses it before any download.
    const tamperedManifest = path.join(work, 'source-tampered-manifest');
    cpSync(good, tamperedManifest, { recursive: true });
    const mf = path.join(tamperedManifest, 'manifest.json');
    writeFileSync(mf, readFileSync(mf, 'utf8').replace('quiet', 'quiet init=/bin/sh'));
    for (const dir of [tamperedKernel, tamperedManifest]) {
      const err = await updateImage({ source: pathToFileURL(dir).href, storeDir: store,
        publicKey, healthCheck: boot }).catch((e: unknown) => e as GatewayError);
      expect((err as GatewayError).code, dir).toBe('GW_IMAGE_INVALID');
      expect(currentId(store), dir).toBe(r.id);
    }
    expect(checks).toBe(1);
    expect(readdirSync(path.join(store, 'images'))).toEqual([r.id]);
  }, DEADLINE_MS * 2);

  it('rolls back an update whose image does not boot', async () => {
    const before = currentId(store);
    expect(before).not.toBeNull();
    // The kernel cannot run the initramfs's init: it panics, and panic=-1 ends the VM.
    const broken = variant('source-broken', 'rdinit=/nonexistent');
    const err = await updateImage({ source: pathToFileURL(broken).href, storeDir: store,
      publicKey, healthCheck: boot }).catch((e: unknown) => e as GatewayError);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('GW_IMAGE_UPDATE_FAILED');
    // The VM ended by itself (the panic), not at the deadline.
    expect((err as GatewayError).message).toMatch(
      /GW_VM_FAILED: the VMM exited before the agent was ready.*switched back/s);
    expect(checks).toBe(2);
    expect(currentId(store)).toBe(before);
    expect(readdirSync(path.join(store, 'images'))).toEqual([before]);
    // The image switched back to still verifies and is still sealed.
    expect(storeUnsafe(path.join(store, 'images', before ?? ''), store)).toBeNull();
  }, DEADLINE_MS * 2);
});
