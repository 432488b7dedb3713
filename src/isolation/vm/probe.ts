/**
 * Can this host run a critical action in a microVM, with which backend, and why (for the
 * executor and `gateway doctor`). The backend follows the configuration and what the host
 * can really do (backend.ts). The image is the store's `current` when `[microvm] store_dir`
 * is set, else `[microvm] image_dir`; either must be a folder the gateway's user cannot
 * write (store.ts), and its manifest's signature is checked on every probe (each action);
 * with `deep` every artefact is hashed too (the VM launch verifies in full anyway).
 */
import path from 'node:path';
import type { GatewayConfig } from '../../config/load.js';
import { asGatewayError, type ErrorCode } from '../../errors.js';
import { loadPublicKey } from '../../keys/keys.js';
import { projectRoot } from '../sandbox/paths.js';
import {
  chooseBackend, readHostFacts, requestedBackend, type Backend, type HostFacts,
} from './backend.js';
import { verifyImage } from './image.js';
import type { AccelChoice } from './qemu.js';
import { currentImageDir, storeUnsafe, verifySignature } from './store.js';

export interface VmProbe {
  /** Null when critical actions can run; otherwise why not, in words. */
  readonly unavailable: string | null;
  /** The stable code of `unavailable` (GW_VMM_UNAVAILABLE, GW_IMAGE_INVALID, ...). */
  readonly code?: ErrorCode | null;
  readonly backend: Backend | null;
  /** Which backend and accelerator, and why, for `gateway doctor`. */
  readonly why: string;
  readonly accel: AccelChoice;
  readonly imageDir: string;
  /** The read-only store the image comes from, or null (image_dir used directly). */
  readonly storeDir?: string | null;
  readonly publicKey: Uint8Array | null;
}

export interface VmProbeOptions {
  /** Overrides the configured image (a test's own folder). */
  readonly imageDir?: string;
  readonly keysDir?: string;
  /** Hash every artefact now (doctor); the executor verifies in full before each boot anyway. */
  readonly deep?: boolean;
  /** Host facts (tests); read from this host by default. */
  readonly facts?: HostFacts;
}

/** The image folder and store the configuration names; relative paths from the project. */
export function configuredImage(config: GatewayConfig, base = projectRoot()):
{ imageDir: string | null; storeDir: string | null } {
  const store = config.microvm.store_dir;
  if (store) {
    const storeDir = path.resolve(base, store);
    return { storeDir, imageDir: currentImageDir(storeDir) };
  }
  return { storeDir: null, imageDir: path.resolve(base, config.microvm.image_dir) };
}

export async function probeVm(config: GatewayConfig, opts: VmProbeOptions = {}):
Promise<VmProbe> {
  const facts = opts.facts ?? readHostFacts();
  let request: ReturnType<typeof requestedBackend>;
  try {
    request = requestedBackend(config);
  } catch (err) {
    const e = asGatewayError(err);
    return { unavailable: e.message, code: e.code, backend: null, why: e.message,
      accel: { accel: 'tcg', why: 'not probed' }, imageDir: '', storeDir: null, publicKey: null };
  }
  const chosen = chooseBackend(request, facts);
  let where: { imageDir: string | null; storeDir: string | null };
  try {
    where = opts.imageDir ? { imageDir: path.resolve(opts.imageDir), storeDir: null }
      : configuredImage(config);
  } catch (err) {
    const e = asGatewayError(err, 'GW_IMAGE_INVALID');
    return { backend: chosen.backend, why: chosen.why, accel: chosen.accel, imageDir: '',
      storeDir: path.resolve(projectRoot(), config.microvm.store_dir), publicKey: null,
      unavailable: e.message, code: e.code };
  }
  const base = { backend: chosen.backend, why: chosen.why, accel: chosen.accel,
    imageDir: where.imageDir ?? '', storeDir: where.storeDir };
  const no = (code: ErrorCode, unavailable: string, publicKey: Uint8Array | null = null):
  VmProbe => ({ ...base, publicKey, unavailable, code });
  if (chosen.missing) return no(chosen.code ?? 'GW_VMM_UNAVAILABLE', chosen.missing);
  const keysDir = opts.keysDir ?? path.resolve(projectRoot(), config.keys_dir);
  let publicKey: Uint8Array;
  try {
    publicKey = loadPublicKey(keysDir, 'image');
  } catch (err) {
    const e = asGatewayError(err);
    return no('GW_IMAGE_MISSING', `the image signing key cannot be read (${e.code}: ${e.message})`);
  }
  if (!where.imageDir) {
    return no('GW_IMAGE_MISSING', `no image installed in the store ${where.storeDir ?? ''} ` +
      '(gateway rootfs install <image folder>)', publicKey);
  }
  const unsafe = storeUnsafe(where.imageDir, where.storeDir);
  if (unsafe) {
    return no('GW_IMAGE_STORE_UNSAFE', `refusing to boot from ${where.imageDir}: ${unsafe} ` +
      '(install it into a store with `gateway rootfs install`, as root)', publicKey);
  }
  try {
    const manifest = verifySignature(where.imageDir, publicKey);
    if (facts.arch && manifest.arch !== facts.arch) {
      return no('GW_IMAGE_INVALID', `the image is for ${String(manifest.arch)}, this host is ` +
        `${facts.arch}`, publicKey);
    }
    if (opts.deep) await verifyImage(where.imageDir, publicKey);
  } catch (err) {
    const e = asGatewayError(err, 'GW_IMAGE_INVALID');
    const hint = e.code === 'GW_IMAGE_MISSING' ? ' (gateway rootfs build, then sign)' : '';
    return no(e.code, `${e.code}: ${e.message}${hint}`, publicKey);
  }
  return { ...base, publicKey, unavailable: null, code: null };
}
