/**
 * Signed microVM snapshots: the saved state of a VM booted from a verified image until its
 * agent said ready. One snapshot per (image, memory, accelerator, QEMU version), in
 * `snapshot_dir` (0700; files 0600):
 *
 *   <id>.vmstate   QEMU's migration stream (saved over a Unix socket: QEMU runs with
 *                  `-sandbox spawn=deny`, so `exec:` migration is not available)
 *   <id>.json      the record: format, the parameters it was made for, sha256 and size
 *   <id>.sig       Ed25519 (tweetnacl) over the exact bytes of <id>.json, base64
 *
 * The signing key is the host's own 'snapshot' pair (`gateway keys`): the image's builder
 * key usually lives where images are built, not on the gateway host, and a snapshot is made
 * here. Before every restore the signature, the parameters and the file's sha256 are checked
 * on the very descriptor QEMU then reads from (no reopening between check and load).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync,
  renameSync, rmSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import nacl from 'tweetnacl';
import { GatewayError } from '../../errors.js';
import { loadKeyPair, loadPublicKey } from '../../keys/keys.js';
import type { ImageManifest } from './image.js';
import type { QmpClient } from './qmp.js';

export const SNAPSHOT_FORMAT = 'gw-snapshot/1';
/** Bump when the VM's device set (qemu.ts) or the resume protocol changes. */
const DEVICE_RECIPE = '1';

export interface SnapshotParams {
  /** sha256 of the verified image manifest (it binds kernel, initramfs, root and cmdline). */
  readonly image: string;
  readonly memMib: number;
  readonly accel: string;
  readonly qemu: string;
  readonly recipe: string;
}

export interface SnapshotRecord {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly params: SnapshotParams;
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
}

/** A snapshot whose record, signature and bytes were checked; `fd` is open on the state. */
export interface VerifiedSnapshot {
  readonly id: string;
  readonly record: SnapshotRecord;
  readonly fd: number;
}

export interface SnapshotKey {
  readonly publicKey: Uint8Array;
  /** Only needed to make snapshots. */
  readonly secretKey?: Uint8Array;
}

/**
 * The host's 'snapshot' key pair from the key directory: both halves when the secret is
 * readable (this host makes snapshots), the public half alone otherwise, null when there is
 * none (then every start is a cold boot; `gateway keys --purpose snapshot` makes one).
 */
export function loadSnapshotKey(keysDir: string): SnapshotKey | null {
  try {
    return loadKeyPair(keysDir, 'snapshot');
  } catch {
    try {
      return { publicKey: loadPublicKey(keysDir, 'snapshot') };
    } catch {
      return null;
    }
  }
}

export function imageHash(manifest: ImageManifest): string {
  return createHash('sha256').update(JSON.stringify(manifest)).digest('hex');
}

const versions = new Map<string, string>();

export function qemuVersion(qemu: string): string {
  let v = versions.get(qemu);
  if (v === undefined) {
    const out = execFileSync(qemu, ['--version'], { encoding: 'utf8' });
    v = /version\s+(\S+)/.exec(out)?.[1] ?? out.split('\n')[0] ?? 'unknown';
    versions.set(qemu, v);
  }
  return v;
}

export function snapshotParams(manifest: ImageManifest, memMib: number, accel: string,
  qemu: string): SnapshotParams {
  return { image: imageHash(manifest), memMib, accel, qemu: qemuVersion(qemu),
    recipe: DEVICE_RECIPE };
}

export function snapshotId(p: SnapshotParams): string {
  return createHash('sha256').update(JSON.stringify([p.image, p.memMib, p.accel, p.qemu,
    p.recipe])).digest('hex').slice(0, 32);
}

export function snapshotFiles(dir: string, id: string): { state: string; record: string;
  sig: string } {
  return { state: path.join(dir, `${id}.vmstate`), record: path.join(dir, `${id}.json`),
    sig: path.join(dir, `${id}.sig`) };
}

function invalid(message: string, dir: string, id: string): GatewayError {
  return new GatewayError('GW_SNAPSHOT_INVALID', `${message}; remove ${path.join(dir, id)}.* ` +
    'to let the next launch make a new snapshot');
}

function sameParams(a: SnapshotParams, b: SnapshotParams): boolean {
  return a.image === b.image && a.memMib === b.memMib && a.accel === b.accel &&
    a.qemu === b.qemu && a.recipe === b.recipe;
}

/** sha256 of a file read through `fd` with positional reads (its offset stays at 0). */
function hashFd(fd: number): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1024 * 1024);
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
  }
  return h.digest('hex');
}

/**
 * The snapshot for these parameters: null when there is none (make one), a verified one
 * with an open descriptor, or GW_SNAPSHOT_INVALID when any check fails.
 */
export function verifySnapshot(dir: string, params: SnapshotParams, key: SnapshotKey):
VerifiedSnapshot | null {
  const id = snapshotId(params);
  const f = snapshotFiles(dir, id);
  // No record: none made yet (or one being installed); nothing is loaded, one is made.
  if (!existsSync(f.record)) return null;
  if (!existsSync(f.sig) || !existsSync(f.state)) {
    throw invalid(`the snapshot ${id} is incomplete (state, record or signature missing)`, dir,
      id);
  }
  const bytes = readFileSync(f.record);
  const sig = Buffer.from(readFileSync(f.sig, 'utf8').trim(), 'base64');
  if (sig.length !== nacl.sign.signatureLength ||
      !nacl.sign.detached.verify(new Uint8Array(bytes), new Uint8Array(sig), key.publicKey)) {
    throw invalid(`the signature of snapshot ${id} does not verify with the snapshot key`, dir,
      id);
  }
  let record: SnapshotRecord;
  try {
    record = JSON.parse(bytes.toString('utf8')) as SnapshotRecord;
  } catch {
    throw invalid(`the record of snapshot ${id} is not JSON`, dir, id);
  }
  if (record.format !== SNAPSHOT_FORMAT || !record.params || !sameParams(record.params, params)) {
    throw invalid(`snapshot ${id} was made for another image, memory size, accelerator or ` +
      'QEMU version', dir, id);
  }
  const fd = openSync(f.state, 'r');
  try {
    if (fstatSync(fd).size !== record.size || hashFd(fd) !== record.sha256) {
      throw invalid(`the state file of snapshot ${id} does not match its signed hash`, dir, id);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { id, record, fd };
}

/** The snapshot folder, 0700 (it holds guest memory: whatever the agent had loaded). */
export function ensureSnapshotDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Saves a VM whose agent is ready: migrate its state to a socket we read into a private
 * file while hashing it, then sign and install the record. QEMU leaves the VM paused after
 * the migration; the caller continues it (`cont`) and reseeds its RNG like any clone's.
 */
export async function makeSnapshot(qmp: QmpClient, dir: string, params: SnapshotParams,
  secretKey: Uint8Array, sockDir: string): Promise<{ id: string; bytes: number }> {
  ensureSnapshotDir(dir);
  const id = snapshotId(params);
  const f = snapshotFiles(dir, id);
  const tmp = `${f.state}.${process.pid}.tmp`;
  const sock = path.join(sockDir, 'migrate.sock');
  const fd = openSync(tmp, 'wx', 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    const received = new Promise<void>((resolve, reject) => {
      const server = net.createServer((s) => {
        server.close();
        s.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          size += chunk.length;
          writeFileSync(fd, chunk);
        });
        s.once('end', () => resolve());
        s.once('error', reject);
      });
      server.once('error', reject);
      server.listen(sock);
    });
    // Migrated running (the guest idles in its read): the saved run state is "running", so
    // a restored clone starts by itself once its state is loaded, with no QMP round trip.
    // QEMU's default bandwidth cap (32 MiB/s) would make a save take seconds.
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 * 1024 * 1024 });
    await qmp.execute('migrate', { uri: `unix:${sock}` });
    await received;
    for (let i = 0; ; i++) {
      const st = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
      if (st.status === 'completed') break;
      if (st.status === 'failed' || st.status === 'cancelled' || i > 6000) {
        throw new GatewayError('GW_VM_FAILED',
          `snapshot migration ${st.status ?? 'stalled'}: ${st['error-desc'] ?? ''}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    closeSync(fd);
    const record: SnapshotRecord = { format: SNAPSHOT_FORMAT, params, sha256: hash.digest('hex'),
      size, createdAt: new Date().toISOString() };
    const bytes = Buffer.from(`${JSON.stringify(record, null, 1)}\n`);
    const sig = Buffer.from(nacl.sign.detached(new Uint8Array(bytes), secretKey))
      .toString('base64');
    // State first, then signature, then record: a reader finds a record only when all exist.
    rmSync(f.record, { force: true });
    renameSync(tmp, f.state);
    writeFileSync(`${f.sig}.tmp`, `${sig}\n`, { mode: 0o600 });
    renameSync(`${f.sig}.tmp`, f.sig);
    writeFileSync(`${f.record}.tmp`, bytes, { mode: 0o600 });
    renameSync(`${f.record}.tmp`, f.record);
    return { id, bytes: size };
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}
