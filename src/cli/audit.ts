import { existsSync, readFileSync } from 'node:fs';
import { verifyAuditLog } from '../audit/verify.js';
import { GatewayError } from '../errors.js';
import { loadPublicKey } from '../keys/keys.js';
import { AUDIT_GENESIS, StateStore, type AuditHead } from '../state/store.js';
import { parseOrUsage } from './args.js';
import { oneLine } from './output.js';
import { securePaths } from './secure-paths.js';

const USAGE = `usage: gateway audit verify [--file F] [--state DB] [--keys DIR] [--pubkey FILE]
                            [--anchor SEQ:HASH]
       gateway audit head [--state DB]
common options: -c FILE`;

function parseAnchor(text: string): AuditHead {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  if (!m) throw new GatewayError('GW_USAGE', '--anchor expects SEQ:HASH as `audit head` prints');
  return { seq: Number(m[1]), hash: m[2] as string };
}

/** The head kept in SQLite; null when there is no state database at all. */
function readHead(file: string): AuditHead | null {
  if (!existsSync(file)) return null;
  const store = StateStore.open(file);
  try {
    return store.auditHead();
  } finally {
    store.close();
  }
}

function readPublicKey(file: string): Uint8Array {
  const text = readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32) throw new GatewayError('GW_KEY_INVALID', `${file} is not a public key`);
  return new Uint8Array(key);
}

/**
 * `gateway audit verify`: exit 0 with a one-line summary when every record, the chain and
 * the head agree; GW_AUDIT_TAMPERED naming the first bad record otherwise.
 * `gateway audit head`: prints SEQ:HASH of the head, to keep somewhere else (an anchor).
 */
export async function auditCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      file: { type: 'string' },
      state: { type: 'string' },
      keys: { type: 'string' },
      pubkey: { type: 'string' },
      anchor: { type: 'string' },
    },
  });
  const paths = securePaths(values.config,
    { keys: values.keys, state: values.state, audit: values.file });
  const [sub, ...rest] = positionals;
  if (sub === 'head' && rest.length === 0) {
    const head = readHead(paths.statePath) ?? { seq: 0, hash: AUDIT_GENESIS };
    process.stdout.write(`${head.seq}:${head.hash}\n`);
    return 0;
  }
  if (sub !== 'verify' || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    throw new GatewayError('GW_USAGE', 'expected audit verify or audit head');
  }
  const publicKey = values.pubkey !== undefined
    ? readPublicKey(values.pubkey) : loadPublicKey(paths.keysDir, 'audit');
  const anchor = values.anchor !== undefined ? parseAnchor(values.anchor) : undefined;
  const head = readHead(paths.statePath);
  if (!existsSync(paths.auditPath)) {
    // Nothing recorded yet is intact; a head without its log means the log went away.
    if ((head?.seq ?? 0) === 0 && anchor === undefined) {
      process.stdout.write(oneLine(`audit log empty: ${paths.auditPath}`) + '\n');
      return 0;
    }
    throw new GatewayError('GW_AUDIT_TAMPERED', `there is no audit log at ${paths.auditPath}`);
  }
  const v = await verifyAuditLog({ file: paths.auditPath, publicKey, head, anchor });
  if (!v.ok) {
    const which = v.seq === null ? `line ${v.line}` : `record ${v.seq} (line ${v.line})`;
    throw new GatewayError('GW_AUDIT_TAMPERED',
      oneLine(`${paths.auditPath}: ${which}: ${v.problem}: ${v.detail}`));
  }
  process.stdout.write(oneLine(`audit log intact: ${v.records} records, head ` +
    `${v.head.seq}:${v.head.hash.slice(0, 16)}..., ${v.open} action(s) awaiting an outcome, ` +
    `${paths.auditPath}`) + '\n');
  return 0;
}
