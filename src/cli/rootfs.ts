import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { loadKeyPair, loadPublicKey } from '../keys/keys.js';
import { buildImage, defaultImageDir } from '../isolation/vm/build.js';
import { signImage, verifyImage } from '../isolation/vm/image.js';
import { parseArch } from '../isolation/vm/backend.js';
import { installImage } from '../isolation/vm/store.js';
import { updateFromConfig } from '../isolation/vm/update.js';
import { parseOrUsage } from './args.js';
import { securePaths } from './secure-paths.js';

const USAGE = 'usage: gateway rootfs build|sign|verify [--dir DIR] [--keys DIR] ' +
  '[--connector NAME=FOLDER]... [--cache DIR] [--arch x86_64|aarch64]\n' +
  '       [--kernel cloud|small]\n' +
  '       gateway rootfs install <image dir> [--store DIR] [--keys DIR]\n' +
  '       gateway rootfs update [--source URL] [--store DIR] [--keys DIR] [--ca PEM]';

/** The store from --store or `[microvm] store_dir`; there is no default store. */
function storeDir(configFile: string | undefined, flag: string | undefined): string {
  if (flag) return path.resolve(flag);
  const { config, baseDir } = loadConfig(configFile);
  const dir = config.microvm.store_dir ? path.resolve(baseDir, config.microvm.store_dir) : null;
  if (!dir) {
    throw new GatewayError('GW_USAGE', 'no image store: set [microvm] store_dir or pass --store');
  }
  return dir;
}

/** `gateway rootfs build|sign|verify|install|update`: the critical tier's guest image. */
export async function rootfsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage({
    args: argv, allowPositionals: true, strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      dir: { type: 'string' },
      keys: { type: 'string' },
      cache: { type: 'string' },
      connector: { type: 'string', multiple: true },
      arch: { type: 'string' },
      kernel: { type: 'string' },
      store: { type: 'string' },
      source: { type: 'string' },
      ca: { type: 'string' },
    },
  });
  const [sub, ...rest] = positionals;
  if (sub === 'install' && rest.length === 1 && rest[0]) {
    const store = storeDir(values.config, values.store);
    const r = await installImage(rest[0], store, loadPublicKey(keysDirOf(values), 'image'));
    const how = r.copied ? 'copied' : 'already there';
    const was = r.previous && r.previous !== r.id ? ` (was ${r.previous})` : '';
    process.stdout.write(`installed ${r.id} into ${store} (${how}, verified file by file, ` +
      `sealed read-only); current -> images/${r.id}${was}\n`);
    return 0;
  }
  if (sub === 'update' && rest.length === 0) return updateCommand(values);
  if (!sub || rest.length > 0) throw new GatewayError('GW_USAGE', USAGE);
  const dir = path.resolve(values.dir ?? defaultImageDir());
  const keysDir = (): string => keysDirOf(values);
  switch (sub) {
    case 'build': {
      const extra: Record<string, string> = {};
      for (const c of values.connector ?? []) {
        const m = /^([a-z0-9_]+)=(.+)$/.exec(c);
        if (!m?.[1] || !m[2]) throw new GatewayError('GW_USAGE', `--connector ${c}: NAME=FOLDER`);
        extra[m[1]] = path.resolve(m[2]);
      }
      const kernel = values.kernel ?? loadConfig(values.config).config.microvm.kernel;
      if (kernel !== 'cloud' && kernel !== 'small') {
        throw new GatewayError('GW_USAGE', `--kernel ${kernel}: cloud or small`);
      }
      const r = await buildImage({ outDir: dir, cacheDir: values.cache, extraConnectors: extra,
        kernel, ...(values.arch ? { arch: parseArch(values.arch) } : {}),
        progress: (step) => process.stderr.write(`rootfs: ${step}\n`) });
      const m = r.manifest;
      process.stdout.write(`built ${dir} (${r.cached ? 'from cache' : 'fresh'}, ` +
        `${Math.round(r.ms)} ms): kernel ${m.sources.kernel ?? '?'}, ${m.files.length} files, ` +
        `connectors ${Object.keys(m.connectors).join(', ') || 'none'}; ` +
        'next: gateway rootfs sign\n');
      return 0;
    }
    case 'sign': {
      const pair = loadKeyPair(keysDir(), 'image');
      signImage(dir, pair.secretKey);
      pair.secretKey.fill(0);
      await verifyImage(dir, pair.publicKey);
      process.stdout.write(`signed and verified ${dir}\n`);
      return 0;
    }
    case 'verify': {
      const image = await verifyImage(dir, loadPublicKey(keysDir(), 'image'));
      process.stdout.write(`ok ${dir}: signature, kernel, initramfs and root filesystem ` +
        `(${image.manifest.files.length} files inside) match\n`);
      return 0;
    }
    default:
      throw new GatewayError('GW_USAGE', USAGE);
  }
}

interface RootfsFlags {
  config?: string;
  keys?: string;
  store?: string;
  source?: string;
  ca?: string;
}

function keysDirOf(values: RootfsFlags): string {
  return securePaths(values.config, { keys: values.keys }).keysDir;
}

/**
 * `gateway rootfs update`: pull from `[microvm] update_source` (or --source), verify,
 * install, switch, and boot the new image as its health check; rolled back on failure.
 */
async function updateCommand(values: RootfsFlags): Promise<number> {
  const loaded = loadConfig(values.config);
  const r = await updateFromConfig(loaded.config, {
    baseDir: loaded.baseDir, keysDir: keysDirOf(values),
    storeDir: storeDir(values.config, values.store),
    ...(values.source ? { source: values.source } : {}),
    ...(values.ca ? { caFile: path.resolve(values.ca) } : {}),
    progress: (step) => process.stderr.write(`rootfs: ${step}\n`),
  });
  process.stdout.write(r.status === 'unchanged' ? `up to date: ${r.id}\n`
    : `updated to ${r.id} (was ${r.previous ?? 'none'}); it booted its health check\n`);
  return 0;
}
