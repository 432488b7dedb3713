import { appendFileSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import {
  canonicalLine, inputDigest, parseRecord, sha256Hex, signBody, type AuditRecord,
} from '../../src/audit/record.js';
import { verifyAuditLog, type AuditVerdict } from '../../src/audit/verify.js';
import { StateStore } from '../../src/state/store.js';

const keys = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3));
const intruder = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(4));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Env { dir: string; file: string; store: StateStore }

function env(): Env {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-audit-'));
  const store = StateStore.open(path.join(dir, 'state.db'));
  cleanup.push(() => store.close());
  return { dir, file: path.join(dir, 'logs', 'audit.jsonl'), store };
}

async function openLog(e: Env, k = keys): Promise<AuditLog> {
  const log = await AuditLog.open({ file: e.file, keys: k, store: e.store,
    now: () => Date.UTC(2026, 11, 7, 8) });
  cleanup.push(() => log.close());
  return log;
}

const breaker = { principal: 'desktop', connector: 'scada_dnp3', action: 'operate',
  tier: 'critical', slots: { operation: 'close', breaker: 7, substation: 12 } };

/** A real log: two actions with outcomes, one still open. */
async function realLog(e: Env): Promise<void> {
  const log = await openLog(e);
  const a = await log.accepted(breaker);
  await log.outcome(a, 'succeeded');
  const b = await log.accepted({ ...breaker, slots: { operation: 'trip', breaker: 3,
    substation: 1 } });
  await log.outcome(b, 'failed', 'GW_CONNECTOR_FAILED');
  await log.accepted({ ...breaker, id: 'turn-42' });
  await log.close();
}

const verify = (e: Env): Promise<AuditVerdict> => verifyAuditLog({ file: e.file,
  publicKey: keys.publicKey, head: e.store.auditHead() });
const lines = (e: Env): string[] => readFileSync(e.file, 'utf8').trimEnd().split('\n');
const write = (e: Env, ls: string[]): void => writeFileSync(e.file, `${ls.join('\n')}\n`);

function expectBad(v: AuditVerdict, problem: string, seq: number | null): void {
  expect(v.ok).toBe(false);
  if (!v.ok) expect([v.problem, v.seq]).toEqual([problem, seq]);
}

describe('audit log', () => {
  it('writes signed, chained, synced records, and a real log verifies', async () => {
    const e = env();
    await realLog(e);
    const recs = lines(e).map((l) => parseRecord(l) as AuditRecord);
    expect(recs.map((r) => [r.seq, r.kind, r.outcome, r.code])).toEqual([
      [1, 'accepted', null, null], [2, 'outcome', 'succeeded', null], [3, 'accepted', null, null],
      [4, 'outcome', 'failed', 'GW_CONNECTOR_FAILED'], [5, 'accepted', null, null]]);
    expect(recs[1]).toMatchObject({ principal: 'desktop', connector: 'scada_dnp3',
      action: 'operate', tier: 'critical', id: recs[0]?.id });
    // slots only as a digest, the same whatever the key order
    expect(recs[0]?.input).toBe(inputDigest({ substation: 12, breaker: 7, operation: 'close' }));
    expect(readFileSync(e.file, 'utf8')).not.toMatch(/close|substation/);
    expect(recs[4]?.id).toBe('turn-42');
    expect(e.store.auditHead()).toEqual({ seq: 5, hash: sha256Hex(lines(e)[4] as string) });
    expect(statSync(e.file).mode & 0o777).toBe(0o600);
    expect(await verify(e)).toEqual({ ok: true, records: 5, head: e.store.auditHead(), open: 1 });
  });

  it('continues the chain after a restart', async () => {
    const e = env();
    await realLog(e);
    const log = await openLog(e);
    await log.outcome('turn-42', 'succeeded');
    expect((await verify(e)).ok).toBe(true);
    expect(lines(e)).toHaveLength(6);
  });

  it('records interrupted actions as indeterminate once, never re-running them', async () => {
    const e = env();
    await realLog(e); // "turn-42" was accepted, then the process died
    const log = await openLog(e);
    expect(await log.recoverInterrupted()).toBe(1);
    expect(await log.recoverInterrupted()).toBe(0);
    const last = parseRecord(lines(e).at(-1) as string);
    expect(last).toMatchObject({ kind: 'recovered', id: 'turn-42', outcome: 'indeterminate',
      principal: 'desktop', tier: 'critical' });
    expect(await verify(e)).toMatchObject({ ok: true, open: 0 });
    await expect(log.outcome('turn-42', 'succeeded')).rejects.toMatchObject(
      { code: 'GW_AUDIT_WRITE_FAILED' });
    await expect(log.outcome('never-accepted', 'succeeded')).rejects.toMatchObject(
      { code: 'GW_AUDIT_WRITE_FAILED' });
    // an id is accepted once, ever: a finished one cannot be reused either
    await expect(log.accepted({ ...breaker, id: 'turn-42' })).rejects.toMatchObject(
      { code: 'GW_AUDIT_WRITE_FAILED' });
    await expect(log.accepted({ ...breaker, id: 'turn-43' })).resolves.toBe('turn-43');
    await expect(log.accepted({ ...breaker, id: 'turn-43' })).rejects.toMatchObject(
      { code: 'GW_AUDIT_WRITE_FAILED' });
    expect((await verify(e)).ok).toBe(true);
  });

  it('keeps the chain whole under concurrent appends (bounded: 40 actions)', async () => {
    const e = env();
    const log = await openLog(e);
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const id = await log.accepted({ ...breaker, id: `a${i}` });
      await log.outcome(id, 'succeeded');
    }));
    expect(await verify(e)).toMatchObject({ ok: true, records: 80, open: 0 });
  });

  it('finishes an append the crash interrupted between fsync and the head update', async () => {
    const e = env();
    await realLog(e);
    // the record is on disk, the head still points before it
    const ls = lines(e);
    const head5 = e.store.auditHead();
    const rec = parseRecord(ls[4] as string) as AuditRecord;
    const body6 = { ...rec, seq: 6, prev: head5.hash, kind: 'outcome' as const,
      outcome: 'succeeded' as const, input: null };
    appendFileSync(e.file, `${canonicalLine(signBody(body6, keys.secretKey))}\n`);
    expectBad(await verify(e), 'head', 6);
    await openLog(e);
    expect(e.store.auditHead().seq).toBe(6);
    expect(e.store.openAuditActions()).toEqual([]);
    expect((await verify(e)).ok).toBe(true);
  });

  it('drops a torn last line (a write that never returned) when it opens', async () => {
    const e = env();
    await realLog(e);
    appendFileSync(e.file, '{"seq":6,"ts":"2026');
    expectBad(await verify(e), 'malformed', null);
    const log = await openLog(e);
    await log.outcome('turn-42', 'refused', 'GW_POLICY_REFUSED');
    expect(await verify(e)).toMatchObject({ ok: true, records: 6 });
  });

  it('refuses a second writer instead of forking the chain', async () => {
    const e = env();
    await realLog(e);
    const first = await openLog(e);
    // another "process": its own database connection and file descriptor
    const otherStore = StateStore.open(path.join(e.dir, 'state.db'));
    cleanup.push(() => otherStore.close());
    const second = await openLog({ ...e, store: otherStore });
    await first.outcome('turn-42', 'succeeded');
    await expect(second.accepted(breaker)).rejects.toMatchObject(
      { code: 'GW_AUDIT_WRITE_FAILED' });
    await expect(first.accepted(breaker)).resolves.toBeTypeOf('string');
    expect(await verify(e)).toMatchObject({ ok: true, records: 7 });
  });

  it('refuses to open a log that does not match the head', async () => {
    const e = env();
    await realLog(e);
    write(e, lines(e).slice(0, 3));
    await expect(openLog(e)).rejects.toMatchObject({ code: 'GW_AUDIT_TAMPERED' });
  });
});

describe('audit verify detects each kind of tampering', () => {
  async function tampered(change: (ls: string[], e: Env) => string[] | void): Promise<AuditVerdict> {
    const e = env();
    await realLog(e);
    const ls = lines(e);
    const out = change(ls, e);
    if (out) write(e, out);
    return verify(e);
  }

  it('an edited field', async () => {
    expectBad(await tampered((ls) => {
      ls[1] = (ls[1] as string).replace('"succeeded"', '"failed"');
      return ls;
    }), 'signature', 2);
    expectBad(await tampered((ls) => {
      ls[2] = (ls[2] as string).replace('"desktop"', '"alice"');
      return ls;
    }), 'signature', 3);
  });

  it('a deleted record', async () => {
    expectBad(await tampered((ls) => ls.filter((_, i) => i !== 1)), 'sequence', 3);
    expectBad(await tampered((ls) => ls.slice(1)), 'sequence', 2);
  });

  it('reordered records', async () => {
    expectBad(await tampered((ls) => [ls[0], ls[2], ls[1], ls[3], ls[4]] as string[]),
      'sequence', 3);
  });

  it('a record appended by hand, signed with another key', async () => {
    expectBad(await tampered((ls) => {
      const last = parseRecord(ls[4] as string) as AuditRecord;
      const forged = signBody({ ...last, seq: 6, prev: sha256Hex(ls[4] as string),
        kind: 'outcome', outcome: 'succeeded', input: null }, intruder.secretKey);
      return [...ls, canonicalLine(forged)];
    }), 'signature', 6);
  });

  it('a record cut off the end (truncated tail)', async () => {
    expectBad(await tampered((ls) => ls.slice(0, 4)), 'head', 5);
    // the whole log emptied
    expectBad(await tampered((_ls, e) => truncateSync(e.file, 0)), 'head', 1);
  });

  it('swapped signatures', async () => {
    expectBad(await tampered((ls) => {
      const a = parseRecord(ls[0] as string) as AuditRecord;
      const b = parseRecord(ls[2] as string) as AuditRecord;
      ls[0] = canonicalLine({ ...a, sig: b.sig });
      ls[2] = canonicalLine({ ...b, sig: a.sig });
      return ls;
    }), 'signature', 1);
  });

  it('a broken chain, re-formatted lines, and a forged head', async () => {
    // a validly signed record (the key holder) whose prev does not match
    expectBad(await tampered((ls) => {
      const r = parseRecord(ls[3] as string) as AuditRecord;
      ls[3] = canonicalLine(signBody({ ...r, prev: 'f'.repeat(64) }, keys.secretKey));
      return ls;
    }), 'chain', 4);
    expectBad(await tampered((ls) => {
      ls[0] = JSON.stringify(JSON.parse(ls[0] as string), null, 0).replace(':', ': ');
      return ls;
    }), 'malformed', null);
    const e = env();
    await realLog(e);
    const v = await verifyAuditLog({ file: e.file, publicKey: keys.publicKey,
      head: { seq: 5, hash: 'a'.repeat(64) } });
    expectBad(v, 'head', 5);
    const missing = await verifyAuditLog({ file: e.file, publicKey: keys.publicKey, head: null });
    expectBad(missing, 'head', 5);
  });

  it('checks an anchor kept elsewhere', async () => {
    const e = env();
    await realLog(e);
    const anchor = { seq: 3, hash: sha256Hex(lines(e)[2] as string) };
    const ok = await verifyAuditLog({ file: e.file, publicKey: keys.publicKey,
      head: e.store.auditHead(), anchor });
    expect(ok.ok).toBe(true);
    const wrong = await verifyAuditLog({ file: e.file, publicKey: keys.publicKey,
      head: e.store.auditHead(), anchor: { seq: 3, hash: 'b'.repeat(64) } });
    expectBad(wrong, 'anchor', 3);
  });
});
