/**
 * Image updates: pull an image folder from `[microvm] update_source` (file:///dir or
 * https://host:port/dir/), check the manifest's signature before fetching anything else,
 * fetch exactly the files the manifest names (each capped at its signed size), install into
 * the read-only store (every file verified again there), switch `current` atomically, and
 * boot the new image as a health check. When the check fails, `current` is switched back to
 * the previous image and the failed one is removed: GW_IMAGE_UPDATE_FAILED. A tampered or
 * unsigned update is refused before anything in the store changes.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, asGatewayError } from '../../errors.js';
import { loadPublicKey } from '../../keys/keys.js';
import { accelFor, hostArch } from './backend.js';
import { bootHealthCheck } from './health.js';
import { MANIFEST_FILE, SIGNATURE_FILE, type ImageManifest } from './image.js';
import { readKvmFacts } from './qemu.js';
import {
  currentId, installImage, manifestId, removeImage, switchCurrent, verifySignature,
} from './store.js';

/** A manifest lists every file of the root: large, but bounded. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_SIGNATURE_BYTES = 1024;

export interface UpdateOptions {
  /** file:///path/to/image-dir or https://host:port/path/ */
  readonly source: string;
  readonly storeDir: string;
  readonly publicKey: Uint8Array;
  /** Extra CA certificates (PEM) trusted for an https source. */
  readonly ca?: string;
  /** Boots the new image; throws when it does not become ready. */
  readonly healthCheck: (imageDir: string) => Promise<void>;
  readonly progress?: (step: string) => void;
}

export interface UpdateResult {
  readonly status: 'updated' | 'unchanged';
  readonly id: string;
  readonly previous: string | null;
}

function sourceError(message: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_IMAGE_UPDATE_SOURCE', message, { cause });
}

/** A file longer than the manifest says is not the signed file. */
function tooLarge(name: string, max: number): GatewayError {
  return new GatewayError('GW_IMAGE_INVALID', `the update's ${name} is larger than its ` +
    `signed size (${max} bytes); nothing was switched`);
}

/** Fetches one named file of the source into `dest`, refusing more than `max` bytes. */
type Fetcher = (name: string, dest: string, max: number) => Promise<void>;

function fileFetcher(url: URL): Fetcher {
  const base = fileURLToPath(url);
  return async (name, dest, max) => {
    const from = path.join(base, name);
    let size: number;
    try {
      size = (await stat(from)).size;
    } catch (err) {
      throw sourceError(`cannot read ${from}: ${(err as Error).message}`, err);
    }
    if (size > max) throw tooLarge(name, max);
    try {
      await copyFile(from, dest);
    } catch (err) {
      throw sourceError(`cannot read ${from}: ${(err as Error).message}`, err);
    }
  };
}

function httpsFetcher(url: URL, ca: string | undefined): Fetcher {
  const base = url.href.endsWith('/') ? url.href : `${url.href}/`;
  return (name, dest, max) => new Promise<void>((resolve, reject) => {
    const target = new URL(name, base);
    const fail = (why: string, cause?: unknown): void =>
      reject(sourceError(`GET ${target.href}: ${why}`, cause));
    const req = https.get(target, { ...(ca ? { ca } : {}), timeout: 60_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return fail(`HTTP ${res.statusCode ?? '?'}`);
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > max) {
        res.destroy();
        return reject(tooLarge(name, max));
      }
      let seen = 0;
      res.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen > max) res.destroy(tooLarge(name, max));
      });
      pipeline(res, createWriteStream(dest, { mode: 0o600 })).then(resolve,
        (err: unknown) => (err instanceof GatewayError ? reject(err)
          : fail((err as Error).message, err)));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => fail(err.message, err));
  });
}

export function fetcherFor(source: string, ca?: string): Fetcher {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw sourceError(source ? `update_source ${source} is not a URL`
      : 'no update source: set [microvm] update_source (file:// or https://)');
  }
  if (url.protocol === 'file:') return fileFetcher(url);
  if (url.protocol === 'https:') return httpsFetcher(url, ca);
  throw sourceError(`update_source ${url.protocol}// is not supported: use file:// or https://`);
}

/** Pulls, verifies, installs, switches and health-checks one update (see the top). */
export async function updateImage(o: UpdateOptions): Promise<UpdateResult> {
  const progress = o.progress ?? ((): void => {});
  const fetch = fetcherFor(o.source, o.ca);
  const stage = mkdtempSync(path.join(os.tmpdir(), `gw-update-${process.pid}-`));
  try {
    progress(`fetching the manifest and its signature from ${o.source}`);
    await fetch(MANIFEST_FILE, path.join(stage, MANIFEST_FILE), MAX_MANIFEST_BYTES);
    try {
      await fetch(SIGNATURE_FILE, path.join(stage, SIGNATURE_FILE), MAX_SIGNATURE_BYTES);
    } catch (err) {
      throw new GatewayError('GW_IMAGE_MISSING',
        `the update at ${o.source} is not signed (no ${SIGNATURE_FILE}); nothing was switched`,
        { cause: err });
    }
    let manifest: ImageManifest;
    try {
      manifest = verifySignature(stage, o.publicKey);
    } catch (err) {
      throw new GatewayError('GW_IMAGE_INVALID', `the manifest at ${o.source} does not verify ` +
        'with the image key; nothing was fetched or switched', { cause: err });
    }
    const id = manifestId(stage);
    const before = currentId(o.storeDir);
    if (before === id) return { status: 'unchanged', id, previous: before };
    for (const what of ['kernel', 'initrd', 'rootfs'] as const) {
      const a = manifest[what] as Partial<ImageManifest['kernel']> | undefined;
      if (!a || typeof a.path !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(a.path) ||
          a.path === MANIFEST_FILE || a.path === SIGNATURE_FILE || typeof a.size !== 'number') {
        throw new GatewayError('GW_IMAGE_INVALID', `the update's ${what} entry is malformed`);
      }
      progress(`fetching ${a.path} (${a.size} bytes)`);
      await fetch(a.path, path.join(stage, a.path), a.size);
    }
    progress('verifying and installing into the store');
    const installed = await installImage(stage, o.storeDir, o.publicKey, { switchCurrent: false });
    switchCurrent(o.storeDir, installed.id);
    progress(`switched to ${installed.id}; boot health check`);
    try {
      await o.healthCheck(installed.dir);
    } catch (err) {
      const e = asGatewayError(err, 'GW_VM_FAILED');
      switchCurrent(o.storeDir, before);
      if (installed.copied) removeImage(o.storeDir, installed.id);
      throw new GatewayError('GW_IMAGE_UPDATE_FAILED', `image ${installed.id.slice(0, 12)} ` +
        `failed its boot health check (${e.code}: ${e.message}); switched back to ` +
        `${before ? before.slice(0, 12) : 'no image'}`, { cause: err });
    }
    return { status: 'updated', id: installed.id, previous: before };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export interface ConfiguredUpdate {
  /** Where relative paths of the configuration resolve. */
  readonly baseDir: string;
  readonly keysDir: string;
  /** Overrides of `[microvm] store_dir`, `update_source` and `update_ca_file`. */
  readonly storeDir?: string;
  readonly source?: string;
  readonly caFile?: string;
  readonly progress?: (step: string) => void;
}

/**
 * One update as the configuration describes it, with the real boot health check (the same
 * accelerator, memory and boot deadline as an action's VM): what `gateway rootfs update`
 * runs, and what the service can call.
 */
export function updateFromConfig(config: GatewayConfig, o: ConfiguredUpdate):
Promise<UpdateResult> {
  const m = config.microvm;
  const storeDir = o.storeDir ?? (m.store_dir ? path.resolve(o.baseDir, m.store_dir) : '');
  if (!storeDir) {
    throw new GatewayError('GW_IMAGE_UPDATE_SOURCE', 'no image store: set [microvm] store_dir');
  }
  const caFile = o.caFile ?? (m.update_ca_file ? path.resolve(o.baseDir, m.update_ca_file) : '');
  const publicKey = loadPublicKey(o.keysDir, 'image');
  const accel = accelFor(hostArch(), readKvmFacts());
  return updateImage({
    source: o.source ?? m.update_source, storeDir, publicKey,
    ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
    healthCheck: async (dir) => {
      const h = await bootHealthCheck(dir, { publicKey, accel, memMib: m.memory_mib,
        deadlineMs: m.boot_deadline_ms });
      o.progress?.(`health check: agent ready in ${Math.round(h.bootMs)} ms`);
    },
    ...(o.progress ? { progress: o.progress } : {}),
  });
}
