import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { z } from 'zod';
import { TIERS, type Tier } from '../connectors/types.js';
import { GatewayError, type ErrorCode } from '../errors.js';

/**
 * Bearer tokens: compact JWS (RFC 7515) with the header {"alg":"EdDSA","typ":"JWT"},
 * signed with the `token` key pair through tweetnacl.
 *
 * The verifier trusts nothing from the token before its signature checks out: the header
 * is only read to refuse any algorithm but EdDSA (so "none" and HS256 tokens, the classic
 * algorithm-confusion attacks, never reach a key), and the claims are parsed only after the
 * signature verified. Error messages never describe the key or the expected signature.
 */
export const TOKEN_AUDIENCE = 'digital-twin-gateway';
/** Clock skew tolerated between the issuing host and this one, in seconds. */
export const TOKEN_LEEWAY_S = 30;
/** Longest token accepted: bounds the work done for one request before any check. */
export const MAX_TOKEN_LENGTH = 4096;
export const DEFAULT_TTL_S = 3_600;

export interface TokenClaims {
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  tiers: Tier[];
}

export type IssueClaims = Omit<TokenClaims, 'iat' | 'jti' | 'exp' | 'aud'> & {
  /** Defaults to TOKEN_AUDIENCE. */
  aud?: string;
  /** Absolute expiry (seconds since the epoch); wins over ttlS. */
  exp?: number;
  /** Lifetime in seconds from now; DEFAULT_TTL_S when neither exp nor ttlS is given. */
  ttlS?: number;
  /** The issuing clock in milliseconds (tests); Date.now() by default. */
  now?: number;
};

/** A principal name: short, printable, no spaces (it ends up in logs and audit records). */
export const principalSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/,
  'a principal is 1 to 128 letters, digits, ".", "_", "@" or "-"');

const claimsSchema = z.object({
  sub: principalSchema,
  aud: z.string().min(1).max(256),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
  nbf: z.number().int().nonnegative().optional(),
  jti: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
  tiers: z.array(z.enum(TIERS)).max(TIERS.length),
});

const headerSchema = z.object({
  alg: z.string(),
  typ: z.string().optional(),
  crit: z.unknown().optional(),
});

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

const ENCODER = new TextEncoder();
const HEADER = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' }));

/** Issues a token and returns it with the claims it carries. */
export function issueTokenWithClaims(
  secretKey: Uint8Array,
  claims: IssueClaims,
): { token: string; claims: TokenClaims } {
  const iat = Math.floor((claims.now ?? Date.now()) / 1000);
  const full: TokenClaims = {
    sub: claims.sub,
    aud: claims.aud ?? TOKEN_AUDIENCE,
    iat,
    exp: claims.exp ?? iat + Math.floor(claims.ttlS ?? DEFAULT_TTL_S),
    jti: randomBytes(16).toString('base64url'),
    tiers: [...new Set(claims.tiers)],
  };
  // Refuse to sign what the verifier would refuse to read.
  const checked = claimsSchema.safeParse(full);
  if (!checked.success || full.exp <= iat) {
    throw new GatewayError('GW_USAGE',
      'token claims are invalid (principal name, tier names or lifetime)');
  }
  if (secretKey.length !== nacl.sign.secretKeyLength) {
    throw new GatewayError('GW_KEY_INVALID', 'the token signing key has the wrong length');
  }
  const input = `${HEADER}.${b64url(JSON.stringify(full))}`;
  const sig = nacl.sign.detached(ENCODER.encode(input), secretKey);
  return { token: `${input}.${b64url(sig)}`, claims: full };
}

/** Issues a compact JWS token; see issueTokenWithClaims. */
export function issueToken(secretKey: Uint8Array, claims: IssueClaims): string {
  return issueTokenWithClaims(secretKey, claims).token;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

function fail(code: ErrorCode, message: string): never {
  throw new GatewayError(code, message);
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return fail('GW_TOKEN_MALFORMED', 'the token is not a well-formed JWS');
  }
}

/**
 * Reads the claims of a token WITHOUT checking anything. Only for tools that must name a
 * token they are about to revoke; never for deciding access.
 */
export function readClaimsUnverified(token: string): Partial<TokenClaims> {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) {
    return fail('GW_TOKEN_MALFORMED', 'the token is not a well-formed JWS');
  }
  const claims = decodeJson(parts[1] as string);
  if (typeof claims !== 'object' || claims === null) {
    return fail('GW_TOKEN_MALFORMED', 'the token claims are not an object');
  }
  return claims as Partial<TokenClaims>;
}

export interface TokenVerifierOptions {
  publicKey: Uint8Array;
  /** Defaults to TOKEN_AUDIENCE. */
  audience?: string;
  /** Checked on every verify, so a revocation takes effect at once. */
  isRevoked: (jti: string) => boolean;
  /** Clock in milliseconds since the epoch (like Date.now, the default). */
  now?: () => number;
}

export class TokenVerifier {
  readonly #publicKey: Uint8Array;
  readonly #audience: string;
  readonly #isRevoked: (jti: string) => boolean;
  readonly #now: () => number;

  constructor(o: TokenVerifierOptions) {
    if (o.publicKey.length !== nacl.sign.publicKeyLength) {
      throw new GatewayError('GW_KEY_INVALID', 'the token public key has the wrong length');
    }
    this.#publicKey = Uint8Array.from(o.publicKey);
    this.#audience = o.audience ?? TOKEN_AUDIENCE;
    this.#isRevoked = o.isRevoked;
    this.#now = o.now ?? Date.now;
  }

  /** Returns the claims of a valid token; throws GatewayError (HTTP 401) otherwise. */
  verify(token: string): TokenClaims {
    if (typeof token !== 'string' || token.length === 0) {
      fail('GW_TOKEN_MISSING', 'no token was presented');
    }
    if (token.length > MAX_TOKEN_LENGTH) fail('GW_TOKEN_MALFORMED', 'the token is too long');
    const parts = token.split('.');
    if (parts.length !== 3) fail('GW_TOKEN_MALFORMED', 'a JWS has three dot-separated parts');
    const [head, body, sig] = parts as [string, string, string];
    // An empty signature is what "alg":"none" tokens carry: judge the header first.
    if (!SEGMENT.test(head) || !SEGMENT.test(body) || (sig !== '' && !SEGMENT.test(sig))) {
      fail('GW_TOKEN_MALFORMED', 'the token is not base64url');
    }
    const header = headerSchema.safeParse(decodeJson(head));
    if (!header.success) fail('GW_TOKEN_MALFORMED', 'the token header is not valid');
    if (header.data.alg !== 'EdDSA') fail('GW_TOKEN_ALG', 'only EdDSA tokens are accepted');
    // No extension this verifier would have to understand (RFC 7515, 4.1.11).
    if (header.data.crit !== undefined) fail('GW_TOKEN_MALFORMED', 'critical headers unknown');
    if (header.data.typ !== undefined && header.data.typ !== 'JWT') {
      fail('GW_TOKEN_MALFORMED', 'the token type is not JWT');
    }
    const signature = Buffer.from(sig, 'base64url');
    // Canonical encoding only: a re-encoded signature is a different token string.
    if (signature.length !== nacl.sign.signatureLength || b64url(signature) !== sig) {
      fail('GW_TOKEN_SIGNATURE', 'the token signature is not valid');
    }
    const ok = nacl.sign.detached.verify(ENCODER.encode(`${head}.${body}`),
      new Uint8Array(signature), this.#publicKey);
    if (!ok) fail('GW_TOKEN_SIGNATURE', 'the token signature is not valid');

    const parsed = claimsSchema.safeParse(decodeJson(body));
    if (!parsed.success) fail('GW_TOKEN_MALFORMED', 'the token claims are not valid');
    const c = parsed.data;
    if (c.aud !== this.#audience) fail('GW_TOKEN_AUDIENCE', 'the token is for another audience');
    const nowS = this.#now() / 1000;
    if (nowS > c.exp + TOKEN_LEEWAY_S) fail('GW_TOKEN_EXPIRED', 'the token has expired');
    if (c.iat > nowS + TOKEN_LEEWAY_S || (c.nbf !== undefined && c.nbf > nowS + TOKEN_LEEWAY_S)) {
      fail('GW_TOKEN_NOT_YET_VALID', 'the token is not valid yet');
    }
    if (this.#isRevoked(c.jti)) fail('GW_TOKEN_REVOKED', 'the token has been revoked');
    return { sub: c.sub, aud: c.aud, iat: c.iat, exp: c.exp, jti: c.jti, tiers: c.tiers };
  }
}
