/**
 * The warm pool's bookkeeping above its VM starter (a fake here; the e2e suite claims real
 * VMs): it fills to size, hands out each VM once and refills, matches only launches for its
 * image, memory and accelerator, empties itself when the image on disk changes, gives up
 * after repeated failed starts, and destroys everything on close.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { ImageManifest } from '../../src/isolation/vm/image.js';
import { WarmPool, claimWarm } from '../../src/isolation/vm/pool.js';
import { imageHash } from '../../src/isolation/vm/snapshot.js';
import type { Started } from '../../src/isolation/vm/start.js';
import type { MicroVm } from '../../src/isolation/vm/vm.js';

const key = nacl.sign.keyPair();
const accel = { accel: 'tcg' as const, why: 'test' };
let dir: string;
let destroyed: number;
let started: number;

function writeImage(cmdline: string): ImageManifest {
  const manifest = { format: 'gw-image/1', cmdline, connectors: {} } as unknown as ImageManifest;
  const bytes = Buffer.from(JSON.stringify(manifest));
  writeFileSync(path.join(dir, 'manifest.json'), bytes);
  writeFileSync(path.join(dir, 'manifest.sig'),
    Buffer.from(nacl.sign.detached(new Uint8Array(bytes), key.secretKey)).toString('base64'));
  return manifest;
}

function fakeStarter(manifest: ImageManifest, fail = false) {
  return async (): Promise<Started> => {
    started++;
    if (fail) throw Object.assign(new Error('no qemu'), { code: 'GW_VM_FAILED' });
    let dead = false;
    const vm = { ready: Promise.resolve({ bootMs: 1, mode: 'restored' }),
      get dead() {
        return dead;
      },
      destroy: async () => {
        if (!dead) destroyed++;
        dead = true;
      } } as unknown as MicroVm;
    return { vm, image: { manifest } as Started['image'], imageHash: imageHash(manifest),
      verifyMs: 1 };
  };
}

function pool(starter: ReturnType<typeof fakeStarter>, size = 2): WarmPool {
  return new WarmPool({ size, imageDir: dir, publicKey: key.publicKey, bootDeadlineMs: 1000,
    log: createLogger({ level: 'silent' }), accel, starter }).start();
}

const claim = (over: Record<string, unknown> = {}): Started | null =>
  claimWarm({ imageDir: dir, publicKey: key.publicKey, accel, ...over });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-pool-unit-'));
  destroyed = 0;
  started = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('warm pool', () => {
  it('fills, hands each VM out once, refills, and destroys all on close', async () => {
    const p = pool(fakeStarter(writeImage('a')));
    await p.whenFull();
    expect(p.count).toBe(2);
    const a = claim();
    const b = claim();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(a?.vm).not.toBe(b?.vm);
    await p.whenFull();
    expect(p.count).toBe(2);
    expect(started).toBe(4);
    await p.close();
    expect(destroyed).toBe(2); // the two claimed VMs belong to their handles now
    expect(claim()).toBeNull();
  });

  it('serves only launches for its image, key, memory size and accelerator', async () => {
    const p = pool(fakeStarter(writeImage('a')));
    try {
      await p.whenFull();
      expect(claim({ imageDir: os.tmpdir() })).toBeNull();
      expect(claim({ memMib: 512 })).toBeNull();
      expect(claim({ accel: { accel: 'kvm', why: 'test' } })).toBeNull();
      expect(claim({ publicKey: nacl.sign.keyPair().publicKey })).toBeNull();
      expect(claim()).not.toBeNull();
    } finally {
      await p.close();
    }
  });

  it('empties itself when the image on disk changed', async () => {
    const p = pool(fakeStarter(writeImage('a')), 1);
    try {
      await p.whenFull();
      writeImage('b');
      expect(claim()).toBeNull();
      expect(destroyed).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('gives up after repeated failed starts', async () => {
    const p = pool(fakeStarter(writeImage('a'), true));
    try {
      await expect(p.whenFull()).rejects.toMatchObject({ code: 'GW_VM_FAILED' });
      expect(started).toBe(3);
      expect(claim()).toBeNull();
    } finally {
      await p.close();
    }
  });
});
