import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  generateKeys, loadKeyPair, loadPublicKey, publicKeyPath, secretKeyPath,
} from '../../src/keys/keys.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'gw-keys-'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as GatewayError).code;
  }
  return 'no error';
}

describe('key directory', () => {
  it('creates one pair per purpose with 0700 directory and 0600 secrets', () => {
    const dir = path.join(tmp(), 'keys');
    expect(generateKeys(dir)).toEqual(['token', 'audit', 'image', 'snapshot']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const p of ['token', 'audit', 'image', 'snapshot'] as const) {
      expect(statSync(secretKeyPath(dir, p)).mode & 0o777).toBe(0o600);
      expect(statSync(publicKeyPath(dir, p)).mode & 0o777).toBe(0o644);
      const pair = loadKeyPair(dir, p);
      const sig = nacl.sign.detached(new Uint8Array([1, 2, 3]), pair.secretKey);
      expect(nacl.sign.detached.verify(new Uint8Array([1, 2, 3]), sig, pair.publicKey)).toBe(true);
      expect(loadPublicKey(dir, p)).toEqual(pair.publicKey);
    }
    // the four purposes are four different keys
    const pubs = new Set(['token', 'audit', 'image', 'snapshot'].map((p) =>
      readFileSync(path.join(dir, `${p}.pub`), 'utf8')));
    expect(pubs.size).toBe(4);
  });

  it('refuses to overwrite without force, and keeps the old public key when forced', () => {
    const dir = tmp();
    generateKeys(dir);
    const before = readFileSync(secretKeyPath(dir, 'token'), 'utf8');
    expect(codeOf(() => generateKeys(dir))).toBe('GW_KEY_EXISTS');
    expect(readFileSync(secretKeyPath(dir, 'token'), 'utf8')).toBe(before);
    generateKeys(dir, { force: true, purposes: ['token'] });
    expect(readFileSync(secretKeyPath(dir, 'token'), 'utf8')).not.toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith('token.pub.retired-'))).toHaveLength(1);
    expect(() => loadKeyPair(dir, 'token')).not.toThrow();
  });

  it('refuses a secret key readable by group or others, naming the chmod', () => {
    const dir = tmp();
    generateKeys(dir);
    for (const mode of [0o640, 0o604, 0o660]) {
      chmodSync(secretKeyPath(dir, 'audit'), mode);
      try {
        loadKeyPair(dir, 'audit');
        expect.unreachable();
      } catch (err) {
        expect((err as GatewayError).code).toBe('GW_KEY_INSECURE');
        expect((err as Error).message).toContain(`chmod 600 ${secretKeyPath(dir, 'audit')}`);
      }
    }
    chmodSync(secretKeyPath(dir, 'audit'), 0o400);
    expect(() => loadKeyPair(dir, 'audit')).not.toThrow();
  });

  it('refuses a group-writable directory, a symlinked key, a missing, corrupt or mismatched key',
    () => {
      const dir = tmp();
      generateKeys(dir);
      chmodSync(dir, 0o770);
      expect(codeOf(() => loadKeyPair(dir, 'token'))).toBe('GW_KEY_INSECURE');
      chmodSync(dir, 0o700);

      const other = tmp();
      generateKeys(other);
      const link = path.join(tmp(), 'k');
      chmodSync(path.dirname(link), 0o700);
      symlinkSync(secretKeyPath(other, 'token'), path.join(path.dirname(link), 'token.key'));
      expect(codeOf(() => loadKeyPair(path.dirname(link), 'token'))).toBe('GW_KEY_INSECURE');

      expect(codeOf(() => loadKeyPair(tmp(), 'image'))).toBe('GW_KEY_MISSING');

      writeFileSync(secretKeyPath(dir, 'image'), 'not a key\n', { mode: 0o600 });
      expect(codeOf(() => loadKeyPair(dir, 'image'))).toBe('GW_KEY_INVALID');

      // public half from another pair: a half-finished rotation must not load
      writeFileSync(publicKeyPath(dir, 'token'), readFileSync(publicKeyPath(other, 'token')));
      expect(codeOf(() => loadKeyPair(dir, 'token'))).toBe('GW_KEY_INVALID');
    });
});
