import { createHmac } from 'node:crypto';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  TOKEN_AUDIENCE, TokenVerifier, issueToken, issueTokenWithClaims, type TokenClaims,
} from '../../src/auth/tokens.js';
import type { GatewayError } from '../../src/errors.js';

const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
const other = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));
const NOW = Date.UTC(2026, 11, 7, 8, 0, 0);
const b64 = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url');

function verifier(revoked: Set<string> = new Set(), now = NOW): TokenVerifier {
  return new TokenVerifier({ publicKey: pair.publicKey, isRevoked: (j) => revoked.has(j),
    now: () => now });
}

function codeOf(v: TokenVerifier, token: string): string {
  try {
    v.verify(token);
  } catch (err) {
    expect((err as GatewayError).http).toBe(401);
    return (err as GatewayError).code;
  }
  return 'accepted';
}

const base = { sub: 'desktop', tiers: ['safe', 'critical'] as TokenClaims['tiers'] };

/** A token with arbitrary header and claims, signed with the right key. */
function forge(header: unknown, claims: unknown, key = pair.secretKey): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = nacl.sign.detached(new TextEncoder().encode(input), key);
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

describe('EdDSA tokens', () => {
  it('issues a compact JWS the verifier accepts, with the documented claims', () => {
    const { token, claims } = issueTokenWithClaims(pair.secretKey,
      { ...base, ttlS: 600, now: NOW });
    const [h] = token.split('.');
    expect(JSON.parse(Buffer.from(h as string, 'base64url').toString())).toEqual(
      { alg: 'EdDSA', typ: 'JWT' });
    const got = verifier().verify(token);
    expect(got).toEqual(claims);
    expect(got).toMatchObject({ sub: 'desktop', aud: TOKEN_AUDIENCE, iat: NOW / 1000,
      exp: NOW / 1000 + 600, tiers: ['safe', 'critical'] });
    expect(got.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // two tokens never share an id
    expect(issueTokenWithClaims(pair.secretKey, { ...base, now: NOW }).claims.jti)
      .not.toBe(got.jti);
  });

  it('refuses expired tokens after a small leeway, and tokens from the future', () => {
    const token = issueToken(pair.secretKey, { ...base, ttlS: 60, now: NOW });
    expect(codeOf(verifier(new Set(), NOW + 60_000 + 20_000), token)).toBe('accepted');
    expect(codeOf(verifier(new Set(), NOW + 60_000 + 31_000), token)).toBe('GW_TOKEN_EXPIRED');
    expect(codeOf(verifier(new Set(), NOW - 10_000), token)).toBe('accepted');
    expect(codeOf(verifier(new Set(), NOW - 120_000), token)).toBe('GW_TOKEN_NOT_YET_VALID');
    const nbf = forge({ alg: 'EdDSA', typ: 'JWT' }, { aud: TOKEN_AUDIENCE, sub: 'x',
      iat: NOW / 1000, exp: NOW / 1000 + 600, nbf: NOW / 1000 + 300, jti: 'abcdefgh12',
      tiers: [] });
    expect(codeOf(verifier(), nbf)).toBe('GW_TOKEN_NOT_YET_VALID');
  });

  it('refuses a token signed with another key, or altered after signing', () => {
    expect(codeOf(verifier(), issueToken(other.secretKey, { ...base, now: NOW })))
      .toBe('GW_TOKEN_SIGNATURE');
    const token = issueToken(pair.secretKey, { ...base, now: NOW });
    const [h, , s] = token.split('.');
    const raised = b64({ ...verifier().verify(token), tiers: ['critical'], sub: 'admin' });
    expect(codeOf(verifier(), `${h}.${raised}.${s}`)).toBe('GW_TOKEN_SIGNATURE');
    // a signature of the right length but wrong bytes, and one of the wrong length
    expect(codeOf(verifier(), `${h}.${token.split('.')[1]}.${'A'.repeat(86)}`))
      .toBe('GW_TOKEN_SIGNATURE');
    expect(codeOf(verifier(), `${h}.${token.split('.')[1]}.${(s as string).slice(0, 40)}`))
      .toBe('GW_TOKEN_SIGNATURE');
  });

  it('refuses alg none, HS256 keyed with the public key, and any other algorithm', () => {
    const claims = verifier().verify(issueToken(pair.secretKey, { ...base, now: NOW }));
    expect(codeOf(verifier(), `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`))
      .toBe('GW_TOKEN_ALG');
    expect(codeOf(verifier(), `${b64({ alg: 'None' })}.${b64(claims)}.`)).toBe('GW_TOKEN_ALG');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    const mac = createHmac('sha256', Buffer.from(pair.publicKey)).update(input).digest();
    expect(codeOf(verifier(), `${input}.${mac.toString('base64url')}`)).toBe('GW_TOKEN_ALG');
    expect(codeOf(verifier(), forge({ alg: 'ES256' }, claims))).toBe('GW_TOKEN_ALG');
    expect(codeOf(verifier(), forge({ alg: 'EdDSA', crit: ['b64'] }, claims)))
      .toBe('GW_TOKEN_MALFORMED');
  });

  it('refuses a token for another audience', () => {
    const token = issueToken(pair.secretKey, { ...base, aud: 'someone-else', now: NOW });
    expect(codeOf(verifier(), token)).toBe('GW_TOKEN_AUDIENCE');
  });

  it('refuses a revoked token at once (the revocation is read on every verify)', () => {
    const revoked = new Set<string>();
    const v = verifier(revoked);
    const token = issueToken(pair.secretKey, { ...base, now: NOW });
    const { jti } = v.verify(token);
    revoked.add(jti);
    expect(codeOf(v, token)).toBe('GW_TOKEN_REVOKED');
  });

  it('refuses malformed tokens with one code, whatever the shape', () => {
    const good = issueToken(pair.secretKey, { ...base, now: NOW });
    const [h, c, s] = good.split('.') as [string, string, string];
    const cases = ['a.b', 'a.b.c.d', `${h}.${c}`, `${h}!.${c}.${s}`, `.${c}.${s}`,
      `${b64('x')}.${c}.${s}`, `${Buffer.from('{').toString('base64url')}.${c}.${s}`,
      'x'.repeat(5000), `${h}.${c}.${s}=`];
    for (const t of cases) expect([t.slice(0, 20), codeOf(verifier(), t)])
      .toEqual([t.slice(0, 20), 'GW_TOKEN_MALFORMED']);
    expect(codeOf(verifier(), '')).toBe('GW_TOKEN_MISSING');
    // a correctly signed token whose claims are not the gateway's: malformed, not accepted
    for (const claims of [{}, { sub: 'a b', aud: TOKEN_AUDIENCE, iat: 1, exp: 2e9,
      jti: 'abcdefgh12', tiers: [] }, { sub: 'x', aud: TOKEN_AUDIENCE, iat: 1, exp: 2e9,
      jti: 'abcdefgh12', tiers: ['root'] }, [1, 2]]) {
      expect(codeOf(verifier(), forge({ alg: 'EdDSA' }, claims))).toBe('GW_TOKEN_MALFORMED');
    }
  });

  it('never signs claims its own verifier would refuse', () => {
    for (const bad of [{ sub: '', tiers: [] }, { sub: 'has space', tiers: [] },
      { sub: 'ok', tiers: ['root'] }, { sub: 'ok', tiers: [], ttlS: -5 }]) {
      expect(() => issueToken(pair.secretKey, bad as never)).toThrow(
        expect.objectContaining({ code: 'GW_USAGE' }));
    }
  });

  it('says nothing about the key in its errors', () => {
    const pubText = Buffer.from(pair.publicKey).toString('base64url');
    for (const t of [issueToken(other.secretKey, { ...base, now: NOW }), 'a.b.c']) {
      try {
        verifier().verify(t);
      } catch (err) {
        expect((err as Error).message).not.toContain(pubText);
        expect((err as Error).message).not.toMatch(/[A-Za-z0-9_-]{40,}/);
      }
    }
  });
});
