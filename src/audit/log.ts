import { randomUUID } from 'node:crypto';
import {
  closeSync, constants, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../errors.js';
import type { KeyPair } from '../keys/keys.js';
import type { AuditHead, StateStore } from '../state/store.js';
import {
  AUDIT_OUTCOMES, canonicalLine, inputDigest, parseRecord, sha256Hex, signBody, signatureValid,
  type AuditBody, type AuditKind, type AuditOutcome, type AuditRecord,
} from './record.js';

/**
 * The signed audit trail: an append-only JSON Lines file (see record.ts for the format).
 *
 * Every append is written and fsync'ed before its promise resolves, inside the state
 * database transaction that moves the chain head (and the set of actions awaiting an
 * outcome). So `accepted()` resolving means the record is on disk: the caller runs the
 * action only after it. A crash after the fsync but before the commit leaves the file one
 * record ahead of the head; open() recognises that record by its signature and chain and
 * moves the head on. Any other disagreement refuses to open (fail closed).
 *
 * The write is synchronous on purpose: it runs while SQLite's write lock is held, which is
 * what stops a second process from appending after the same head (a forked chain). It
 * costs one fsync per record, and records are written per action, not per audio frame.
 */
export interface AcceptedAction {
  principal: string;
  connector: string;
  action: string;
  tier: string;
  /** The action's typed slots; only their SHA-256 digest is recorded. */
  slots?: unknown;
  /** An id chosen by the caller (for example tied to an idempotency key); random otherwise. */
  id?: string;
}

export interface AuditLogOptions {
  file: string;
  /** The `audit` key pair. */
  keys: KeyPair;
  store: StateStore;
  /** Clock for record timestamps (tests); Date.now by default. */
  now?: () => number;
}

interface OpenFields {
  principal: string;
  connector: string;
  action: string;
  tier: string;
}

// Enough to hold the last record whole (records are a few hundred bytes).
const TAIL_BYTES = 64 * 1024;
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

function writeFailed(message: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_AUDIT_WRITE_FAILED', message, { cause });
}

export class AuditLog {
  readonly file: string;
  readonly #fd: number;
  readonly #keys: KeyPair;
  readonly #store: StateStore;
  readonly #now: () => number;
  #head: AuditHead;
  #queue: Promise<unknown> = Promise.resolve();
  // After a failed append the file and the head may disagree: refuse further appends
  // until a restart reconciles them.
  #broken = false;
  #closed = false;

  private constructor(file: string, fd: number, o: AuditLogOptions, head: AuditHead) {
    this.file = file;
    this.#fd = fd;
    this.#keys = o.keys;
    this.#store = o.store;
    this.#now = o.now ?? Date.now;
    this.#head = head;
  }

  static async open(o: AuditLogOptions): Promise<AuditLog> {
    const file = path.resolve(o.file);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    let fd: number;
    try {
      fd = openSync(file,
        constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw writeFailed(`cannot open the audit log ${file}`, err);
    }
    try {
      const head = reconcile(fd, file, o);
      return new AuditLog(file, fd, o, head);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  head(): AuditHead {
    return this.#head;
  }

  /** Records that an action is about to run; resolves with its id once synced to disk. */
  async accepted(r: AcceptedAction): Promise<string> {
    const id = r.id ?? randomUUID();
    if (!ID.test(id)) throw writeFailed('an audit action id is 1 to 128 plain characters');
    const fields: OpenFields = {
      principal: r.principal, connector: r.connector, action: r.action, tier: r.tier,
    };
    await this.#append('accepted', id, fields, inputDigest(r.slots), null, null);
    return id;
  }

  /** Records how an accepted action ended; `code` is the GatewayError code, if any. */
  async outcome(id: string, outcome: AuditOutcome, code?: string): Promise<void> {
    // Checked at run time too: a record verify would call malformed must never be written.
    if (!AUDIT_OUTCOMES.includes(outcome)) throw writeFailed(`unknown outcome ${outcome}`);
    await this.#append('outcome', id, null, null, outcome, code ?? null);
  }

  /**
   * Start-up: appends an `indeterminate` record for every accepted action without an
   * outcome (the process died while it ran). It never runs anything again; returns how
   * many it recorded.
   */
  async recoverInterrupted(): Promise<number> {
    const open = this.#store.openAuditActions();
    for (const a of open) {
      await this.#append('recovered', a.id, null, null, 'indeterminate', null);
    }
    return open.length;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
    // Once only: a descriptor number closed twice may by then belong to another file.
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  #append(kind: AuditKind, id: string, fields: OpenFields | null, input: string | null,
    outcome: AuditOutcome | null, code: string | null): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#closed) throw writeFailed('the audit log is closed');
      if (this.#broken) {
        throw writeFailed('an earlier audit append failed; restart the gateway to reconcile');
      }
      let own = fields;
      if (kind !== 'accepted') {
        // Outcome records repeat what the accepted record said, so each reads on its own.
        const open = this.#store.openAuditAction(id);
        if (!open) throw writeFailed(`audit action ${id} is not awaiting an outcome`);
        own = JSON.parse(open.fields) as OpenFields;
      } else if (this.#store.auditActionKnown(id)) {
        throw writeFailed(`audit action ${id} was already accepted`);
      }
      const from = this.#head;
      const body: AuditBody = {
        seq: from.seq + 1, ts: new Date(this.#now()).toISOString(), prev: from.hash, kind, id,
        principal: own?.principal ?? null, connector: own?.connector ?? null,
        action: own?.action ?? null, tier: own?.tier ?? null, input, outcome, code,
      };
      const line = canonicalLine(signBody(body, this.#keys.secretKey));
      const to = { seq: body.seq, hash: sha256Hex(line) };
      const write = (): void => {
        try {
          const bytes = Buffer.from(`${line}\n`, 'utf8');
          if (writeSync(this.#fd, bytes) !== bytes.length) throw new Error('short write');
          fsyncSync(this.#fd);
        } catch (err) {
          throw writeFailed(`cannot write the audit log ${this.file}`, err);
        }
      };
      try {
        this.#store.advanceAuditHead(from, to, kind === 'accepted'
          ? { add: { id, fields: JSON.stringify(own) } }
          : { remove: id }, write);
      } catch (err) {
        this.#broken = true;
        if (err instanceof GatewayError) throw err;
        throw writeFailed(`cannot write the audit log ${this.file}`, err);
      }
      this.#head = to;
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

/** The last complete line of the file, after cutting off a torn final write. */
function lastLine(fd: number, file: string): string | null {
  const { size } = fstatSync(fd);
  if (size === 0) return null;
  const start = Math.max(0, size - TAIL_BYTES);
  let buf = Buffer.alloc(size - start);
  readSync(fd, buf, 0, buf.length, start);
  const NL = 0x0a;
  if (buf[buf.length - 1] !== NL) {
    // A write the crash interrupted never returned, so nothing acted on it: drop it.
    const cut = buf.lastIndexOf(NL);
    if (cut < 0 && start > 0) throw writeFailed(`${file}: the last record is too long`);
    ftruncateSync(fd, start + cut + 1);
    fsyncSync(fd);
    buf = buf.subarray(0, cut + 1);
  }
  if (buf.length === 0) return null;
  const before = buf.lastIndexOf(NL, buf.length - 2);
  if (before < 0 && start > 0) throw writeFailed(`${file}: the last record is too long`);
  return buf.subarray(before + 1, buf.length - 1).toString('utf8');
}

/** Checks that the file's last record is the head in SQLite (or the one just after it). */
function reconcile(fd: number, file: string, o: AuditLogOptions): AuditHead {
  const head = o.store.auditHead();
  const line = lastLine(fd, file);
  const tampered = (why: string): GatewayError => new GatewayError('GW_AUDIT_TAMPERED',
    `${file} does not match the audit head in the state database (${why}); ` +
    'run `gateway audit verify` before starting again');
  if (line === null || line === '') {
    if (head.seq === 0) return head;
    throw tampered(`the log is empty, the head is record ${head.seq}`);
  }
  const rec: AuditRecord | null = parseRecord(line);
  if (!rec) throw tampered('the last line is not a record');
  const hash = sha256Hex(line);
  if (rec.seq === head.seq && hash === head.hash) return head;
  const completes = rec.seq === head.seq + 1 && rec.prev === head.hash
    && signatureValid(rec, o.keys.publicKey);
  if (!completes) throw tampered(`the last record is ${rec.seq}, the head ${head.seq}`);
  // The crash window between fsync and head update: finish what that append began.
  const to = { seq: rec.seq, hash };
  const fields = { principal: rec.principal, connector: rec.connector, action: rec.action,
    tier: rec.tier };
  o.store.advanceAuditHead(head, to, rec.kind === 'accepted'
    ? { add: { id: rec.id, fields: JSON.stringify(fields) } }
    : { remove: rec.id });
  return to;
}
