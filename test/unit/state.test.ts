import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, StateStore } from '../../src/state/store.js';

const opened: StateStore[] = [];
function open(file: string): StateStore {
  const s = StateStore.open(file);
  opened.push(s);
  return s;
}
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});
const dbFile = (): string => path.join(mkdtempSync(path.join(tmpdir(), 'gw-state-')),
  'state', 'gateway.db');

describe('state store', () => {
  it('creates the database 0600 in WAL mode, the directory 0700', () => {
    const file = dbFile();
    const s = open(file);
    s.revoke('abc', null); // forces a write, so the WAL file exists
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('keeps revocations across a restart', () => {
    const file = dbFile();
    const s = open(file);
    expect(s.isRevoked('j1')).toBe(false);
    s.recordIssued({ jti: 'j1', sub: 'desktop', tiers: ['safe'], iat: 100, exp: 200 });
    s.revoke('j1', 200);
    s.revoke('j1', 200); // twice is harmless
    s.close();
    const t = open(file);
    expect(t.isRevoked('j1')).toBe(true);
    expect(t.isRevoked('j2')).toBe(false);
    expect(t.listIssued()).toEqual([{ jti: 'j1', sub: 'desktop', tiers: ['safe'], iat: 100,
      exp: 200, revoked: true }]);
    expect(t.issuedExpiry('j1')).toBe(200);
    // pruned only once long expired; a revocation without expiry stays
    t.revoke('forever', null);
    expect(t.pruneRevocations(200 + 3600)).toBe(0);
    expect(t.pruneRevocations(200 + 86_401)).toBe(1);
    expect(t.isRevoked('forever')).toBe(true);
  });

  it('returns the first result for a repeated idempotency key, across restarts', () => {
    const file = dbFile();
    const s = open(file);
    expect(s.beginIdempotent('alice', 'k1', 'fp')).toEqual({ kind: 'new' });
    expect(s.beginIdempotent('alice', 'k1', 'fp')).toEqual({ kind: 'in_progress' });
    s.finishIdempotent('alice', 'k1', { decision: 'executed', n: 7 });
    expect(s.beginIdempotent('alice', 'k1', 'fp')).toEqual(
      { kind: 'done', result: { decision: 'executed', n: 7 } });
    // the same key from another principal is another key
    expect(s.beginIdempotent('bob', 'k1', 'fp')).toEqual({ kind: 'new' });
    // the same key for another request
    expect(s.beginIdempotent('alice', 'k1', 'other')).toEqual({ kind: 'mismatch' });
    s.close();
    const t = open(file);
    expect(t.beginIdempotent('alice', 'k1', 'fp')).toEqual(
      { kind: 'done', result: { decision: 'executed', n: 7 } });
    // finishing twice is a bug in the caller, not a second result
    expect(() => t.finishIdempotent('alice', 'k1', 'again')).toThrow(
      expect.objectContaining({ code: 'GW_STATE_FAILED' }));
  });

  it('leaves an entry a crash interrupted in progress: never executed again', () => {
    const file = dbFile();
    const s = open(file);
    expect(s.beginIdempotent('alice', 'crash', 'fp').kind).toBe('new');
    s.close(); // the process "dies" between begin and finish
    const t = open(file);
    for (let i = 0; i < 3; i++) {
      expect(t.beginIdempotent('alice', 'crash', 'fp')).toEqual({ kind: 'in_progress' });
    }
    expect(t.beginIdempotent('alice', 'crash', 'changed')).toEqual({ kind: 'mismatch' });
  });

  it('releases a key only while in progress (a refusal before anything ran)', () => {
    const s = open(dbFile());
    s.beginIdempotent('a', 'k', 'fp');
    s.releaseIdempotent('a', 'k');
    expect(s.beginIdempotent('a', 'k', 'fp2')).toEqual({ kind: 'new' });
    s.finishIdempotent('a', 'k', 1);
    s.releaseIdempotent('a', 'k');
    expect(s.beginIdempotent('a', 'k', 'fp2')).toEqual({ kind: 'done', result: 1 });
  });

  it('advances the audit head only from the head it expects', () => {
    const file = dbFile();
    const s = open(file);
    expect(s.auditHead()).toEqual({ seq: 0, hash: AUDIT_GENESIS });
    s.advanceAuditHead({ seq: 0, hash: AUDIT_GENESIS }, { seq: 1, hash: 'a'.repeat(64) },
      { add: { id: 'act1', fields: '{"x":1}' } });
    expect(s.openAuditActions()).toEqual([{ id: 'act1', fields: '{"x":1}' }]);
    expect(s.openAuditAction('act1')).toEqual({ id: 'act1', fields: '{"x":1}' });
    expect(s.openAuditAction('nope')).toBeNull();
    // a second writer still holding the old head must not fork the chain
    const other = open(file);
    expect(() => other.advanceAuditHead({ seq: 0, hash: AUDIT_GENESIS },
      { seq: 1, hash: 'b'.repeat(64) })).toThrow(
      expect.objectContaining({ code: 'GW_AUDIT_WRITE_FAILED' }));
    s.advanceAuditHead({ seq: 1, hash: 'a'.repeat(64) }, { seq: 2, hash: 'c'.repeat(64) },
      { remove: 'act1' });
    expect(other.auditHead()).toEqual({ seq: 2, hash: 'c'.repeat(64) });
    expect(other.openAuditActions()).toEqual([]);
  });
});
