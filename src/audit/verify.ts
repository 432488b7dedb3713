import { createReadStream } from 'node:fs';
import { AUDIT_GENESIS, type AuditHead } from '../state/store.js';
import { parseRecord, sha256Hex, signatureValid } from './record.js';

/**
 * Checks a whole audit log, record by record, in one pass: each line is a canonical record,
 * its signature verifies with the audit public key, its sequence number follows the
 * previous one, its `prev` is the hash of the previous line, and outcomes refer to accepted
 * actions. Finally the last record must be the head kept in SQLite: that is what detects
 * records cut off the end, which leave a perfectly valid shorter chain behind.
 */
export type AuditProblem =
  | 'malformed' // not a canonical record, a blank line, or a torn last line
  | 'signature' // edited, re-signed with another key, or a signature moved from elsewhere
  | 'sequence' // a record removed, duplicated or moved
  | 'chain' // prev does not match the previous record
  | 'orphan' // an outcome for an action never accepted, or an action accepted twice
  | 'head' // the log ends before or after the head in the state database
  | 'anchor'; // the record named by an externally kept anchor has another hash

export type AuditVerdict =
  | { ok: true; records: number; head: AuditHead; open: number }
  | { ok: false; line: number; seq: number | null; problem: AuditProblem; detail: string };

export interface VerifyOptions {
  file: string;
  publicKey: Uint8Array;
  /** The head from the state database; null when there is none (checked as empty). */
  head: AuditHead | null;
  /** An anchor kept elsewhere: record `seq` must have this hash. */
  anchor?: AuditHead;
}

async function* linesOf(file: string): AsyncGenerator<{ text: string; terminated: boolean }> {
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(file)) {
    rest = Buffer.concat([rest, chunk as Buffer]);
    let nl = rest.indexOf(0x0a);
    while (nl >= 0) {
      yield { text: rest.subarray(0, nl).toString('utf8'), terminated: true };
      rest = rest.subarray(nl + 1);
      nl = rest.indexOf(0x0a);
    }
  }
  if (rest.length > 0) yield { text: rest.toString('utf8'), terminated: false };
}

export async function verifyAuditLog(o: VerifyOptions): Promise<AuditVerdict> {
  let line = 0;
  let last: AuditHead = { seq: 0, hash: AUDIT_GENESIS };
  const open = new Set<string>();
  const seen = new Set<string>();
  let anchorSeen = false;
  const bad = (problem: AuditProblem, detail: string, seq: number | null = null):
    AuditVerdict => ({ ok: false, line, seq, problem, detail });
  for await (const { text, terminated } of linesOf(o.file)) {
    line += 1;
    if (!terminated) return bad('malformed', 'the last line is incomplete (a torn write)');
    const rec = parseRecord(text);
    if (!rec) return bad('malformed', 'the line is not a canonical audit record');
    if (!signatureValid(rec, o.publicKey)) {
      return bad('signature', 'the signature does not verify with the audit key', rec.seq);
    }
    if (rec.seq !== last.seq + 1) {
      return bad('sequence', `expected record ${last.seq + 1}, found ${rec.seq}`, rec.seq);
    }
    if (rec.prev !== last.hash) {
      return bad('chain', 'prev is not the hash of the previous record', rec.seq);
    }
    if (rec.kind === 'accepted') {
      if (seen.has(rec.id)) return bad('orphan', `action ${rec.id} accepted twice`, rec.seq);
      seen.add(rec.id);
      open.add(rec.id);
    } else {
      if (!open.delete(rec.id)) {
        return bad('orphan', `${rec.kind} for action ${rec.id}, which awaits none`, rec.seq);
      }
    }
    last = { seq: rec.seq, hash: sha256Hex(text) };
    if (o.anchor && o.anchor.seq === rec.seq) {
      anchorSeen = true;
      if (o.anchor.hash !== last.hash) {
        return bad('anchor', 'the record has another hash than the anchor', rec.seq);
      }
    }
  }
  const head = o.head ?? { seq: 0, hash: AUDIT_GENESIS };
  if (last.seq !== head.seq || last.hash !== head.hash) {
    const detail = o.head === null
      ? `there is no head in the state database, the log ends at record ${last.seq}`
      : last.seq < head.seq
        ? `the log ends at record ${last.seq}, the head is record ${head.seq}: records removed`
        : `the log ends at record ${last.seq}, the head is record ${head.seq}`;
    line += 1;
    // Name the first record missing (or the last one present, when the head is behind).
    return bad('head', detail, last.seq < head.seq ? last.seq + 1 : last.seq);
  }
  if (o.anchor && !anchorSeen) {
    return bad('anchor', `the log has no record ${o.anchor.seq}`, null);
  }
  return { ok: true, records: last.seq, head: last, open: open.size };
}
