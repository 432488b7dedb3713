/**
 * The read-only image store. `gateway rootfs install` verifies an image (the manifest's
 * signature, then the size and sha256 of every file it names), copies it into
 * `<store>/images/<sha256 of manifest.json>/`, verifies the copies again, seals them (files
 * 0444, folders 0555, owned by root when installed as root) and switches `<store>/current`,
 * a relative symlink, by rename(2): a reader sees the old image or the new one, never a mix.
 *
 * The rule for booting (storeUnsafe): the gateway boots only from folders and files that its
 * own user cannot change. Root can write anything whatever the mode bits, so the rule is on
 * ownership and bits: each path must be owned by root, or at least not by the gateway's
 * user (an owner can always chmod its own file); group and others must have no write bit;
 * and then either the gateway runs as root and the path has no write bit at all (sealed:
 * nothing of the gateway writes a 0444 file or into a 0555 folder), or the gateway is not
 * root and access(W_OK) fails for it. The folders above the store must be root's and not
 * writable by group or others (a sticky /tmp counts), so the store cannot be swapped.
 */
import { createHash } from 'node:crypto';
import {
  accessSync, chmodSync, chownSync, closeSync, constants, copyFileSync, existsSync, fsyncSync,
  lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, renameSync, rmSync,
  statSync, symlinkSync,
} from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { GatewayError } from '../../errors.js';
import {
  MANIFEST_FILE, SIGNATURE_FILE, verifyImage, type ImageManifest, type VerifiedImage,
} from './image.js';

export const IMAGES_DIR = 'images';
export const CURRENT_LINK = 'current';
const FILE_MODE = 0o444;
const DIR_MODE = 0o555;

export interface Installed {
  /** sha256 of the image's manifest.json: its folder name in the store. */
  readonly id: string;
  readonly dir: string;
  /** The id `current` named before, or null. */
  readonly previous: string | null;
  /** False when the image was already in the store (verified again, not copied). */
  readonly copied: boolean;
}

/** The files an image folder holds: its manifest, signature and the three artefacts. */
export function imageFiles(manifest: ImageManifest): string[] {
  return [MANIFEST_FILE, SIGNATURE_FILE, manifest.kernel.path, manifest.initrd.path,
    manifest.rootfs.path];
}

export function manifestId(dir: string): string {
  return createHash('sha256').update(readFileSync(path.join(dir, MANIFEST_FILE))).digest('hex');
}

const uid = (): number => process.geteuid?.() ?? -1;

/** Why the gateway's user could change this path, or null when it cannot (see the top). */
function writableBecause(p: string): string | null {
  const st = lstatSync(p);
  const me = uid();
  if (st.isSymbolicLink()) return `${p} is a symbolic link`;
  if (me !== 0 && st.uid === me) return `${p} is owned by the gateway's user (uid ${me})`;
  if (st.mode & 0o022) return `${p} is writable by its group or others (mode ${mode(st.mode)})`;
  if (me === 0) {
    if (st.uid !== 0) return `${p} is owned by uid ${st.uid}, not root`;
    if (st.mode & 0o200) return `${p} has a write bit (mode ${mode(st.mode)}); sealed is ` +
      `${st.isDirectory() ? '0555' : '0444'}`;
    return null;
  }
  try {
    accessSync(p, constants.W_OK);
    return `${p} is writable by the gateway's user (uid ${me})`;
  } catch {
    return null;
  }
}

function mode(m: number): string {
  return (m & 0o7777).toString(8).padStart(4, '0');
}

/** Folders above the store: root's, and not writable by group or others unless sticky. */
function ancestorBecause(dir: string): string | null {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = existsSync(d) ? statSync(d) : null;
    if (st && st.uid !== 0) return `${d} (above the image) is owned by uid ${st.uid}, not root`;
    if (st && (st.mode & 0o022) && !(st.mode & 0o1000)) {
      return `${d} (above the image) is writable by its group or others`;
    }
    if (d === path.dirname(d)) return null;
  }
}

/**
 * Null when the gateway may boot from `imageDir` (and the store around it, if any);
 * otherwise the first reason it may not. Checks the folder, every file the folder's manifest
 * names, the store's own folders, and the folders above.
 */
export function storeUnsafe(imageDir: string, storeDir: string | null = null): string | null {
  const dir = path.resolve(imageDir);
  const sealed = storeDir ? [path.resolve(storeDir), path.join(path.resolve(storeDir), IMAGES_DIR)]
    : [];
  const files = existsSync(path.join(dir, MANIFEST_FILE))
    ? manifestFiles(dir) : [MANIFEST_FILE, SIGNATURE_FILE];
  for (const p of [...sealed, dir, ...files.map((f) => path.join(dir, f))]) {
    if (!existsSync(p)) continue;
    const why = writableBecause(p);
    if (why) return why;
  }
  return ancestorBecause(sealed[0] ?? dir);
}

/** The files named by a manifest, read without trusting it beyond plain file names. */
function manifestFiles(dir: string): string[] {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as ImageManifest;
    return imageFiles(m).filter((f) => /^[A-Za-z0-9._-]+$/.test(f) && !f.startsWith('.'));
  } catch {
    return [MANIFEST_FILE, SIGNATURE_FILE];
  }
}

/** Throws GW_IMAGE_STORE_UNSAFE unless the gateway may boot from the folder. */
export function assertStoreSafe(imageDir: string, storeDir: string | null = null): void {
  const why = storeUnsafe(imageDir, storeDir);
  if (why) {
    throw new GatewayError('GW_IMAGE_STORE_UNSAFE', `refusing to boot from ${imageDir}: ${why} ` +
      '(install images with `gateway rootfs install` as root)');
  }
}

/**
 * The manifest's signature alone (no hashing): cheap enough for every probe, and the first
 * check of an update, before any artefact is fetched. Throws GW_IMAGE_MISSING when there is
 * no manifest or signature, GW_IMAGE_INVALID when it does not verify.
 */
export function verifySignature(dir: string, publicKey: Uint8Array): ImageManifest {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const sigPath = path.join(dir, SIGNATURE_FILE);
  if (!existsSync(manifestPath) || !existsSync(sigPath)) {
    throw new GatewayError('GW_IMAGE_MISSING', `no signed image in ${dir}`);
  }
  const bytes = readFileSync(manifestPath);
  const sig = Buffer.from(readFileSync(sigPath, 'utf8').trim(), 'base64');
  if (sig.length !== nacl.sign.signatureLength ||
      !nacl.sign.detached.verify(new Uint8Array(bytes), new Uint8Array(sig), publicKey)) {
    throw new GatewayError('GW_IMAGE_INVALID',
      `the signature of ${manifestPath} does not verify with the image key`);
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as ImageManifest;
  } catch {
    throw new GatewayError('GW_IMAGE_INVALID', `${manifestPath} is not JSON`);
  }
}

/** The store's current image id, or null when nothing is installed. */
export function currentId(storeDir: string): string | null {
  try {
    const target = readlinkSync(path.join(storeDir, CURRENT_LINK));
    const m = new RegExp(`^${IMAGES_DIR}/([0-9a-f]{64})$`).exec(target);
    if (!m?.[1]) {
      throw new GatewayError('GW_IMAGE_INVALID', `${storeDir}/current points outside the store`);
    }
    return m[1];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The folder of the store's current image (through the link), or null. */
export function currentImageDir(storeDir: string): string | null {
  const id = currentId(storeDir);
  return id ? path.join(path.resolve(storeDir), IMAGES_DIR, id) : null;
}

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Runs `fn` with a sealed folder briefly writable by its owner (needed when not root). */
function unsealed<T>(dir: string, fn: () => T): T {
  chmodSync(dir, 0o755);
  try {
    return fn();
  } finally {
    chmodSync(dir, DIR_MODE);
  }
}

function seal(p: string, m: number): void {
  if (uid() === 0) chownSync(p, 0, 0);
  chmodSync(p, m);
}

/**
 * Points `current` at `id` (null removes it) by renaming a fresh symlink over it: atomic.
 * Returns the id it named before.
 */
export function switchCurrent(storeDir: string, id: string | null): string | null {
  const store = path.resolve(storeDir);
  const before = currentId(store);
  if (id !== null && !/^[0-9a-f]{64}$/.test(id)) {
    throw new GatewayError('GW_IMAGE_INVALID', `${id} is not an image id`);
  }
  if (id !== null && !existsSync(path.join(store, IMAGES_DIR, id, MANIFEST_FILE))) {
    throw new GatewayError('GW_IMAGE_MISSING', `no image ${id} in ${store}`);
  }
  unsealed(store, () => {
    const link = path.join(store, CURRENT_LINK);
    if (id === null) {
      rmSync(link, { force: true });
    } else {
      const tmp = path.join(store, `.${CURRENT_LINK}.${process.pid}`);
      rmSync(tmp, { force: true });
      symlinkSync(`${IMAGES_DIR}/${id}`, tmp);
      renameSync(tmp, link);
    }
  });
  fsyncPath(store);
  return before;
}

export interface InstallOptions {
  /** Switch `current` to the image (default true); update.ts switches itself. */
  readonly switchCurrent?: boolean;
}

/**
 * Verifies the image in `srcDir`, copies it into the store, verifies the copies, seals them
 * and (by default) switches `current` to it. Nothing in the store changes unless the source
 * verifies; a half-made copy never gets its final name.
 */
export async function installImage(srcDir: string, storeDir: string, publicKey: Uint8Array,
  opts: InstallOptions = {}): Promise<Installed> {
  const src: VerifiedImage = await verifyImage(path.resolve(srcDir), publicKey);
  const id = manifestId(src.dir);
  const store = path.resolve(storeDir);
  const images = path.join(store, IMAGES_DIR);
  for (const d of [store, images]) {
    if (!existsSync(d)) mkdirSync(d, { recursive: true, mode: 0o755 });
    seal(d, DIR_MODE);
  }
  const dest = path.join(images, id);
  let copied = false;
  if (existsSync(dest)) {
    await verifyImage(dest, publicKey);
  } else {
    const stage = unsealed(images,
      () => mkdtempSync(path.join(images, `.incoming-${process.pid}-`)));
    try {
      for (const f of imageFiles(src.manifest)) {
        copyFileSync(path.join(src.dir, f), path.join(stage, f));
        fsyncPath(path.join(stage, f));
        seal(path.join(stage, f), FILE_MODE);
      }
      // The copies are what will boot: verified again, so a change during the copy is caught.
      await verifyImage(stage, publicKey);
      if (manifestId(stage) !== id) throw new GatewayError('GW_IMAGE_INVALID', 'manifest changed');
      seal(stage, DIR_MODE);
      unsealed(images, () => renameSync(stage, dest));
      fsyncPath(images);
      copied = true;
    } catch (err) {
      if (existsSync(stage)) removeSealed(stage);
      throw err;
    }
  }
  const previous = opts.switchCurrent === false ? currentId(store) : switchCurrent(store, id);
  return { id, dir: dest, previous, copied };
}

/** Removes a sealed image folder (a failed update); never the current one. */
export function removeImage(storeDir: string, id: string): void {
  const store = path.resolve(storeDir);
  if (currentId(store) === id) {
    throw new GatewayError('GW_IMAGE_INVALID', `image ${id} is current: not removed`);
  }
  const dir = path.join(store, IMAGES_DIR, id);
  if (existsSync(dir)) removeSealed(dir);
}

function removeSealed(dir: string): void {
  chmodSync(dir, 0o755);
  const parent = path.dirname(dir);
  const parentMode = statSync(parent).mode & 0o7777;
  if (!(parentMode & 0o200)) chmodSync(parent, 0o755);
  try {
    rmSync(dir, { recursive: true, force: true });
  } finally {
    if (!(parentMode & 0o200)) chmodSync(parent, parentMode);
  }
}
