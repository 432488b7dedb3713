import path from 'node:path';
import { GatewayError } from '../errors.js';
import { loadKeyPair, loadPublicKey } from '../keys/keys.js';
import { buildImage, defaultImageDir } from '../isolation/vm/build.js';
import { signImage, verifyImage } from '../isolation/vm/image.js';
import { parseOrUsage } from './args.js';
import { securePaths } from './secure-paths.js';

const USAGE = 'usage: gateway rootfs build|sign|verify [--dir DIR] [--keys DIR] ' +
  '[--connector NAME=FOLDER]... [--cache DIR]';

/** `gateway rootfs build|sign|verify`: the critical tier's guest image. */
export async function rootfsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage({
    args: argv, allowPositionals: true, strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      dir: { type: 'string' },
      keys: { type: 'string' },
      cache: { type: 'string' },
      connector: { type: 'string', multiple: true },
    },
  });
  const [sub, ...rest] = positionals;
  if (!sub || rest.length > 0) throw new GatewayError('GW_USAGE', USAGE);
  const dir = path.resolve(values.dir ?? defaultImageDir());
  const keysDir = (): string => securePaths(values.config, { keys: values.keys }).keysDir;
  switch (sub) {
    case 'build': {
      const extra: Record<string, string> = {};
      for (const c of values.connector ?? []) {
        const m = /^([a-z0-9_]+)=(.+)$/.exec(c);
        if (!m?.[1] || !m[2]) throw new GatewayError('GW_USAGE', `--connector ${c}: NAME=FOLDER`);
        extra[m[1]] = path.resolve(m[2]);
      }
      const r = await buildImage({ outDir: dir, cacheDir: values.cache, extraConnectors: extra,
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
