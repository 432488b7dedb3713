/**
 * The microVM image on disk and its signed manifest. An image is a directory holding the
 * kernel, the initramfs, the read-only root filesystem and `manifest.json`, which lists the
 * sha256 of those three artefacts, of every file inside the root, and the kernel command
 * line. `manifest.sig` is an Ed25519 signature (tweetnacl, the 'image' key) over the exact
 * bytes of `manifest.json`. Nothing boots unless both the signature and every artefact's
 * hash check out, immediately before the boot.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { GatewayError } from '../../errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const IMAGE_FORMAT = 'gw-image/1';

export interface Artefact {
  /** File name inside the image directory (no directories, no "..": checked on load). */
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

export interface RootFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly mode: number;
}

export interface ImageManifest {
  readonly format: typeof IMAGE_FORMAT;
  readonly arch: string;
  /** Hash of every build input: equal keys mean an equal image (the cache key). */
  readonly inputsKey: string;
  readonly sources: Readonly<Record<string, string>>;
  readonly kernel: Artefact;
  readonly initrd: Artefact;
  readonly rootfs: Artefact;
  readonly cmdline: string;
  /** Connector name to the module path inside the guest. */
  readonly connectors: Readonly<Record<string, string>>;
  readonly files: readonly RootFile[];
}

/** An image whose signature and artefacts were checked; paths are absolute. */
export interface VerifiedImage {
  readonly dir: string;
  readonly manifest: ImageManifest;
  readonly kernel: string;
  readonly initrd: string;
  readonly rootfs: string;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('error', reject).on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function invalid(message: string): GatewayError {
  return new GatewayError('GW_IMAGE_INVALID', message);
}

function checkArtefact(a: unknown, what: string): Artefact {
  const x = a as Partial<Artefact> | null;
  if (!x || typeof x.path !== 'string' || !/^[A-Za-z0-9._-]+$/.test(x.path) ||
      x.path.startsWith('.') || typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256) ||
      typeof x.size !== 'number') {
    throw invalid(`the manifest's ${what} entry is malformed`);
  }
  return x as Artefact;
}

/** Shape checks on a manifest whose signature already verified (defence in depth). */
function parseManifest(bytes: Buffer): ImageManifest {
  let m: Partial<ImageManifest>;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Partial<ImageManifest>;
  } catch {
    throw invalid('the manifest is not JSON');
  }
  if (m.format !== IMAGE_FORMAT) throw invalid(`the manifest format is not ${IMAGE_FORMAT}`);
  checkArtefact(m.kernel, 'kernel');
  checkArtefact(m.initrd, 'initrd');
  checkArtefact(m.rootfs, 'rootfs');
  if (typeof m.cmdline !== 'string' || typeof m.connectors !== 'object' || !m.connectors) {
    throw invalid('the manifest has no command line or connector table');
  }
  return m as ImageManifest;
}

export function writeManifest(dir: string, manifest: ImageManifest): void {
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** Signs the manifest's exact bytes; writes `manifest.sig` (base64, one line). */
export function signImage(dir: string, secretKey: Uint8Array): string {
  const bytes = readFileSync(path.join(dir, MANIFEST_FILE));
  parseManifest(bytes);
  const sig = Buffer.from(nacl.sign.detached(new Uint8Array(bytes), secretKey)).toString('base64');
  writeFileSync(path.join(dir, SIGNATURE_FILE), `${sig}\n`);
  return sig;
}

/**
 * Checks the signature, then the size and sha256 of every artefact. Throws GW_IMAGE_MISSING
 * when there is no image or no signature, GW_IMAGE_INVALID on any mismatch.
 */
export async function verifyImage(dir: string, publicKey: Uint8Array): Promise<VerifiedImage> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const sigPath = path.join(dir, SIGNATURE_FILE);
  if (!existsSync(manifestPath)) {
    throw new GatewayError('GW_IMAGE_MISSING',
      `no microVM image in ${dir}: run \`gateway rootfs build\` and \`gateway rootfs sign\``);
  }
  if (!existsSync(sigPath)) {
    throw new GatewayError('GW_IMAGE_MISSING', `${dir} is not signed: run \`gateway rootfs sign\``);
  }
  const bytes = readFileSync(manifestPath);
  const sig = Buffer.from(readFileSync(sigPath, 'utf8').trim(), 'base64');
  if (sig.length !== nacl.sign.signatureLength ||
      !nacl.sign.detached.verify(new Uint8Array(bytes), new Uint8Array(sig), publicKey)) {
    throw invalid(`the signature of ${manifestPath} does not verify with the image key`);
  }
  const manifest = parseManifest(bytes);
  const resolved: Record<'kernel' | 'initrd' | 'rootfs', string> = {
    kernel: '', initrd: '', rootfs: '',
  };
  for (const what of ['kernel', 'initrd', 'rootfs'] as const) {
    const a = manifest[what];
    const file = path.join(dir, a.path);
    if (!existsSync(file)) throw invalid(`the image's ${what} ${file} is missing`);
    const digest = await sha256File(file);
    if (digest !== a.sha256) {
      throw invalid(`the image's ${what} ${a.path} does not match its signed hash`);
    }
    resolved[what] = file;
  }
  return { dir, manifest, ...resolved };
}
