import {
  closeSync, constants, existsSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync,
  statSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import {
  TOKEN_AUDIENCE, TokenVerifier, issueTokenWithClaims, principalSchema, readClaimsUnverified,
} from '../auth/tokens.js';
import { TIERS, type Tier } from '../connectors/types.js';
import { GatewayError } from '../errors.js';
import { loadKeyPair, loadPublicKey } from '../keys/keys.js';
import { StateStore } from '../state/store.js';
import { parseOrUsage } from './args.js';
import { oneLine } from './output.js';
import { securePaths } from './secure-paths.js';

const USAGE = `usage: gateway token issue [--principal P] [--tiers safe,elevated,...] [--ttl 30d]
                           [--out FILE] [--print]
       gateway token revoke <jti | token file>
       gateway token verify [token file]
       gateway token list [--json]
common options: -c FILE, --keys DIR, --state FILE`;

const MAX_TTL_S = 366 * 86_400;
const UNIT_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 };

/** "30d", "12h", "15m", "90s" or plain seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  const s = m ? Number(m[1]) * (UNIT_S[m[2] ?? ''] ?? 1) : NaN;
  if (!(s > 0 && s <= MAX_TTL_S)) {
    throw new GatewayError('GW_USAGE', `--ttl expects 1s to 366d, such as 30d or 12h: ${text}`);
  }
  return s;
}

function parseTiers(text: string): Tier[] {
  const tiers = text.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tiers) {
    if (!(TIERS as readonly string[]).includes(t)) {
      throw new GatewayError('GW_USAGE', `unknown tier "${t}": ${TIERS.join(', ')}`);
    }
  }
  if (tiers.length === 0) throw new GatewayError('GW_USAGE', '--tiers names no tier');
  return tiers as Tier[];
}

/** Writes the token through a 0600 temporary file, so it is never readable by others. */
function writeSecretFile(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

function withStore<T>(file: string, fn: (s: StateStore) => T): T {
  const store = StateStore.open(file);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** A jti, or a file holding a token: the file wins when it exists. */
function jtiOf(arg: string): { jti: string; exp: number | null } {
  if (existsSync(arg) && statSync(arg).isFile()) {
    const claims = readClaimsUnverified(readFileSync(arg, 'utf8'));
    if (typeof claims.jti !== 'string') {
      throw new GatewayError('GW_TOKEN_MALFORMED', `${arg} holds a token without a jti`);
    }
    return { jti: claims.jti, exp: typeof claims.exp === 'number' ? claims.exp : null };
  }
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(arg)) {
    throw new GatewayError('GW_USAGE', `"${arg}" is neither a token file nor a token id`);
  }
  return { jti: arg, exp: null };
}

/** `gateway token issue | revoke | verify | list`. */
export async function tokenCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      keys: { type: 'string' },
      state: { type: 'string' },
      principal: { type: 'string', default: 'desktop' },
      tiers: { type: 'string', default: TIERS.join(',') },
      ttl: { type: 'string', default: '30d' },
      out: { type: 'string' },
      print: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  const paths = securePaths(values.config, { keys: values.keys, state: values.state });
  const out = (line: string): void => void process.stdout.write(`${oneLine(line)}\n`);

  if (sub === 'issue' && rest.length === 0) {
    const principal = principalSchema.safeParse(values.principal);
    if (!principal.success) {
      throw new GatewayError('GW_USAGE', `--principal: ${principal.error.issues[0]?.message}`);
    }
    const tiers = parseTiers(values.tiers ?? '');
    const ttlS = parseTtl(values.ttl ?? '30d');
    const { secretKey } = loadKeyPair(paths.keysDir, 'token');
    const { token, claims } = issueTokenWithClaims(secretKey, { sub: principal.data, tiers, ttlS });
    const file = values.out !== undefined ? path.resolve(values.out)
      : path.join(paths.baseDir, '.desktop_jwt');
    withStore(paths.statePath, (s) => s.recordIssued(claims));
    writeSecretFile(file, token);
    out(`issued ${claims.jti} for ${claims.sub} (tiers ${claims.tiers.join(',')}), ` +
      `expires ${iso(claims.exp)}, written to ${file}`);
    if (values.print) process.stdout.write(`${token}\n`);
    return 0;
  }
  if (sub === 'revoke' && rest.length === 1) {
    const { jti, exp } = jtiOf(rest[0] as string);
    withStore(paths.statePath, (s) => s.revoke(jti, exp ?? s.issuedExpiry(jti)));
    out(`revoked ${jti}`);
    return 0;
  }
  if (sub === 'verify' && rest.length <= 1) {
    const file = rest[0] ?? path.join(paths.baseDir, '.desktop_jwt');
    if (!existsSync(file)) throw new GatewayError('GW_TOKEN_MISSING', `no token file ${file}`);
    const claims = withStore(paths.statePath, (s) => new TokenVerifier({
      publicKey: loadPublicKey(paths.keysDir, 'token'), audience: TOKEN_AUDIENCE,
      isRevoked: (j) => s.isRevoked(j),
    }).verify(readFileSync(file, 'utf8').trim()));
    out(`valid: ${claims.jti} for ${claims.sub} (tiers ${claims.tiers.join(',')}), ` +
      `expires ${iso(claims.exp)}`);
    return 0;
  }
  if (sub === 'list' && rest.length === 0) {
    const nowS = Date.now() / 1000;
    const rows = withStore(paths.statePath, (s) => s.listIssued()).map((t) => ({
      ...t, status: t.revoked ? 'revoked' : t.exp < nowS ? 'expired' : 'valid' }));
    if (values.json) {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    for (const r of rows) {
      out(`${r.jti}  ${r.status.padEnd(7)}  ${r.sub}  ${r.tiers.join(',')}  ` +
        `expires ${iso(r.exp)}`);
    }
    if (rows.length === 0) out('no tokens issued');
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  throw new GatewayError('GW_USAGE', 'expected token issue, revoke, verify or list');
}
