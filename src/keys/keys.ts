import {
  closeSync, constants, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync,
  renameSync, statSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { GatewayError } from '../errors.js';

/**
 * One Ed25519 key pair per purpose, in one directory readable only by the gateway's user.
 * Separate pairs mean a leaked token key cannot forge audit records or images, and each
 * can be rotated alone.
 *
 * Files: `<purpose>.key` holds the 64-byte tweetnacl secret key (seed + public half) in
 * base64 on one line, mode 0600; `<purpose>.pub` holds the 32-byte public key, mode 0644,
 * so that verifiers (`gateway audit verify`, the image checker) need no secret.
 */
/**
 * 'snapshot' signs the microVM snapshots this host makes (the image key usually lives with
 * the image builder, not on the gateway host).
 */
export const KEY_PURPOSES = ['token', 'audit', 'image', 'snapshot'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

// A key file is one short base64 line; anything bigger is not ours.
const MAX_KEY_FILE = 512;

export function isKeyPurpose(value: string): value is KeyPurpose {
  return (KEY_PURPOSES as readonly string[]).includes(value);
}

export function secretKeyPath(dir: string, purpose: KeyPurpose): string {
  return path.join(dir, `${purpose}.key`);
}

export function publicKeyPath(dir: string, purpose: KeyPurpose): string {
  return path.join(dir, `${purpose}.pub`);
}

/**
 * Reads a small file without following a symlink, checking its mode on the descriptor we
 * read from (no window between the check and the read).
 */
function readKeyFile(file: string, secret: boolean): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new GatewayError('GW_KEY_MISSING',
        `${file} does not exist: run \`gateway keys\` to create the key pairs`);
    }
    if (code === 'ELOOP') {
      throw new GatewayError('GW_KEY_INSECURE', `${file} is a symbolic link; keys must be files`);
    }
    throw new GatewayError('GW_KEY_MISSING', `cannot open ${file} (${code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new GatewayError('GW_KEY_INSECURE', `${file} is not a regular file`);
    }
    if (secret && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8);
      throw new GatewayError('GW_KEY_INSECURE',
        `${file} has mode ${mode}, open to group or others: run \`chmod 600 ${file}\``);
    }
    if (st.size > MAX_KEY_FILE) {
      throw new GatewayError('GW_KEY_INVALID', `${file} is too large to be a key file`);
    }
    const buf = Buffer.alloc(MAX_KEY_FILE);
    const n = readSync(fd, buf, 0, MAX_KEY_FILE, 0);
    return buf.subarray(0, n).toString('utf8').trim();
  } finally {
    closeSync(fd);
  }
}

function decodeKey(text: string, length: number, file: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new GatewayError('GW_KEY_INVALID', `${file} does not hold one base64 key`);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (bytes.length !== length) {
    throw new GatewayError('GW_KEY_INVALID', `${file} does not hold a ${length}-byte key`);
  }
  return bytes;
}

/** A directory others may write could have its key files swapped under us. */
function checkDirectory(dir: string): void {
  let mode: number;
  try {
    mode = statSync(dir).mode;
  } catch {
    throw new GatewayError('GW_KEY_MISSING',
      `the key directory ${dir} does not exist: run \`gateway keys\``);
  }
  if ((mode & 0o022) !== 0) {
    throw new GatewayError('GW_KEY_INSECURE',
      `the key directory ${dir} is writable by group or others: run \`chmod 700 ${dir}\``);
  }
}

/** The public key of a purpose; needs no access to the secret file. */
export function loadPublicKey(dir: string, purpose: KeyPurpose): Uint8Array {
  const file = publicKeyPath(dir, purpose);
  return decodeKey(readKeyFile(file, false), nacl.sign.publicKeyLength, file);
}

/**
 * The key pair of a purpose. Refuses a secret file that group or others can read or write,
 * and a public file that does not match the secret (a half-finished rotation).
 */
export function loadKeyPair(dir: string, purpose: KeyPurpose): KeyPair {
  checkDirectory(dir);
  const file = secretKeyPath(dir, purpose);
  const secretKey = decodeKey(readKeyFile(file, true), nacl.sign.secretKeyLength, file);
  // Rebuild from the seed: a file whose two halves disagree is corrupt, not a key.
  const rebuilt = nacl.sign.keyPair.fromSeed(secretKey.subarray(0, 32));
  if (!nacl.verify(rebuilt.secretKey, secretKey)) {
    throw new GatewayError('GW_KEY_INVALID', `${file} is not a consistent Ed25519 secret key`);
  }
  const publicKey = loadPublicKey(dir, purpose);
  if (!nacl.verify(publicKey, rebuilt.publicKey)) {
    throw new GatewayError('GW_KEY_INVALID',
      `${publicKeyPath(dir, purpose)} does not belong to ${file}`);
  }
  return { publicKey, secretKey };
}

/** Writes a file through a temporary name, synced, so a crash leaves the old or the new. */
function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    fchmodSync(fd, mode); // the umask may have taken bits away; set exactly what we mean
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

export interface GenerateOptions {
  readonly purposes?: readonly KeyPurpose[];
  /** Replace existing pairs; the old public key is kept as `<purpose>.pub.retired-<time>`. */
  readonly force?: boolean;
}

/**
 * Creates the key directory (0700) and a fresh pair for each purpose. Refuses, before
 * writing anything, when one of them already exists and `force` is not set.
 */
export function generateKeys(dir: string, options: GenerateOptions = {}): KeyPurpose[] {
  const purposes = options.purposes ?? KEY_PURPOSES;
  const present = purposes.filter((p) =>
    exists(secretKeyPath(dir, p)) || exists(publicKeyPath(dir, p)));
  if (present.length > 0 && !options.force) {
    throw new GatewayError('GW_KEY_EXISTS',
      `${dir} already holds ${present.join(', ')} keys; --force replaces them`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory alone: tighten it too.
  const dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fchmodSync(dfd, 0o700);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const purpose of purposes) {
      const pub = publicKeyPath(dir, purpose);
      // Keep the old public key so records signed with it can still be verified.
      if (exists(pub)) renameSync(pub, `${pub}.retired-${stamp}`);
      const pair = nacl.sign.keyPair();
      writeAtomically(secretKeyPath(dir, purpose), Buffer.from(pair.secretKey).toString('base64'),
        0o600);
      writeAtomically(pub, Buffer.from(pair.publicKey).toString('base64'), 0o644);
      pair.secretKey.fill(0);
    }
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return [...purposes];
}

