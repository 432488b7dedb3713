/**
 * Snapshot records and their checks, without a VM: a missing snapshot means "make one"; a
 * signature of another key, a flipped byte, other parameters or a missing signature are
 * GW_SNAPSHOT_INVALID; a good one comes back with a descriptor at offset 0.
 */
import { closeSync, mkdtempSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SNAPSHOT_FORMAT, snapshotFiles, snapshotId, verifySnapshot, type SnapshotParams,
} from '../../src/isolation/vm/snapshot.js';
import { createHash } from 'node:crypto';

const params: SnapshotParams = { image: 'a'.repeat(64), memMib: 256, accel: 'tcg', qemu: '7.2.22',
  recipe: '1' };
let dir: string;
const key = nacl.sign.keyPair();

function write(state: Buffer, p: SnapshotParams = params, signer = key.secretKey): void {
  const f = snapshotFiles(dir, snapshotId(params));
  writeFileSync(f.state, state);
  const record = Buffer.from(JSON.stringify({ format: SNAPSHOT_FORMAT, params: p,
    sha256: createHash('sha256').update(state).digest('hex'), size: state.length,
    createdAt: new Date().toISOString() }));
  writeFileSync(f.record, record);
  writeFileSync(f.sig, Buffer.from(nacl.sign.detached(new Uint8Array(record), signer))
    .toString('base64'));
}

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? 'thrown';
  }
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-snap-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('snapshot verification', () => {
  it('returns null when there is none, and a verified descriptor at offset 0', () => {
    expect(verifySnapshot(dir, params, key)).toBeNull();
    const state = Buffer.from('QEVM state bytes '.repeat(1000));
    write(state);
    const v = verifySnapshot(dir, params, key);
    expect(v?.record.sha256).toBe(createHash('sha256').update(state).digest('hex'));
    const head = Buffer.alloc(4);
    readSync(v?.fd ?? -1, head, 0, 4, null); // reads from the current offset
    expect(head.toString()).toBe('QEVM');
    closeSync(v?.fd ?? -1);
  });

  it('refuses a flipped byte, another key, other parameters and a missing signature', () => {
    const state = Buffer.from('x'.repeat(5000));
    const f = snapshotFiles(dir, snapshotId(params));
    write(state);
    const flipped = Buffer.from(state);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    writeFileSync(f.state, flipped);
    expect(code(() => verifySnapshot(dir, params, key))).toBe('GW_SNAPSHOT_INVALID');
    write(state, params, nacl.sign.keyPair().secretKey);
    expect(code(() => verifySnapshot(dir, params, key))).toBe('GW_SNAPSHOT_INVALID');
    write(state, { ...params, image: 'b'.repeat(64) });
    expect(code(() => verifySnapshot(dir, params, key))).toBe('GW_SNAPSHOT_INVALID');
    write(state, { ...params, memMib: 512 });
    expect(code(() => verifySnapshot(dir, params, key))).toBe('GW_SNAPSHOT_INVALID');
    write(state);
    rmSync(f.sig);
    expect(code(() => verifySnapshot(dir, params, key))).toBe('GW_SNAPSHOT_INVALID');
    write(state);
    const ok = verifySnapshot(dir, params, key);
    expect(ok?.record.size).toBe(5000);
    closeSync(ok?.fd ?? -1);
  });

  it('names snapshots by every parameter', () => {
    const ids = new Set([params, { ...params, memMib: 128 }, { ...params, accel: 'kvm' },
      { ...params, qemu: '8.2' }, { ...params, image: 'c'.repeat(64) }].map(snapshotId));
    expect(ids.size).toBe(5);
  });
});
