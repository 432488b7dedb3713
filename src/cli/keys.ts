import { readFileSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import {
  KEY_PURPOSES, generateKeys, isKeyPurpose, publicKeyPath, type KeyPurpose,
} from '../keys/keys.js';
import { parseOrUsage } from './args.js';
import { oneLine } from './output.js';
import { securePaths } from './secure-paths.js';

const USAGE = 'usage: gateway keys [--dir DIR] [--purpose token,audit,image,snapshot] [--force]';

/**
 * `gateway keys`: creates the key directory and one Ed25519 pair per purpose. Existing
 * keys are kept unless --force (replacing the token key invalidates every token issued).
 */
export async function keysCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      dir: { type: 'string' },
      purpose: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new GatewayError('GW_USAGE', USAGE);
  const purposes: KeyPurpose[] = [];
  for (const p of (values.purpose ?? KEY_PURPOSES.join(',')).split(',')) {
    if (!isKeyPurpose(p)) {
      throw new GatewayError('GW_USAGE', `unknown key purpose "${p}": ${KEY_PURPOSES.join(', ')}`);
    }
    purposes.push(p);
  }
  const { keysDir } = securePaths(values.config, { keys: values.dir });
  generateKeys(keysDir, { purposes, force: values.force ?? false });
  for (const p of purposes) {
    const pub = readFileSync(publicKeyPath(keysDir, p), 'utf8').trim();
    process.stdout.write(oneLine(`${p.padEnd(6)} ${pub}  ${keysDir}/${p}.key`) + '\n');
  }
  return 0;
}
