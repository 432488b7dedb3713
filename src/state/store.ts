import { closeSync, constants, fchmodSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GatewayError } from '../errors.js';

/**
 * The gateway's durable state, in one SQLite database (WAL mode, file mode 0600):
 * - token revocations, checked on every token verification;
 * - idempotency keys, so a retried or replayed request never executes twice, across
 *   restarts; an entry a crash left in progress stays in progress (never re-run);
 * - the audit chain head and the audit actions still waiting for their outcome, updated
 *   in one transaction per audit append.
 *
 * One process writes at a time (SQLite serialises writers); better-sqlite3 is synchronous,
 * and every method here is a short indexed statement.
 */
export type IdempotentBegin =
  | { kind: 'new' }
  | { kind: 'done'; result: unknown }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' };

export interface AuditHead {
  /** Sequence number of the last record; 0 for an empty log. */
  readonly seq: number;
  /** Hash of the last record (hex); the genesis value for an empty log. */
  readonly hash: string;
}

export interface IssuedToken {
  readonly jti: string;
  readonly sub: string;
  readonly tiers: string[];
  readonly iat: number;
  readonly exp: number;
  readonly revoked: boolean;
}

/** The `prev` of the first audit record. */
export const AUDIT_GENESIS = '0'.repeat(64);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS revocations (
  jti TEXT PRIMARY KEY, exp INTEGER, revoked_at INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS issued_tokens (
  jti TEXT PRIMARY KEY, sub TEXT NOT NULL, tiers TEXT NOT NULL,
  iat INTEGER NOT NULL, exp INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS idempotency (
  principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')), result TEXT,
  created_at INTEGER NOT NULL, finished_at INTEGER,
  PRIMARY KEY (principal, key)) STRICT;
CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS audit_actions (
  action_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, fields TEXT NOT NULL,
  closed INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX IF NOT EXISTS audit_actions_open ON audit_actions (closed, seq);
`;

/** An accepted audit action awaiting its outcome; `fields` is the audit module's JSON. */
export interface OpenAuditAction {
  readonly id: string;
  readonly fields: string;
}

interface IdemRow { fingerprint: string; state: string; result: string | null }

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('GW_STATE_FAILED', `${what}: ${(err as Error).message}`, { cause: err });
  }
}

export class StateStore {
  readonly file: string;
  readonly #db: Database.Database;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.#db = db;
  }

  /** Opens (creating 0600 if needed) the database and its tables. */
  static open(file: string): StateStore {
    const full = path.resolve(file);
    return wrap(`cannot open the state database ${full}`, () => {
      mkdirSync(path.dirname(full), { recursive: true, mode: 0o700 });
      // Create the file ourselves so it never exists with the umask's mode; SQLite gives
      // its -wal and -shm files the mode of the database file.
      const fd = openSync(full, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW,
        0o600);
      try {
        fchmodSync(fd, 0o600);
      } finally {
        closeSync(fd);
      }
      const db = new Database(full);
      db.pragma('journal_mode = WAL');
      // FULL: a committed audit head or idempotency result survives a power cut.
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return new StateStore(full, db);
    });
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // --- tokens ---------------------------------------------------------------------------

  /** Remembers an issued token (for `gateway token list` and revoking by jti). */
  recordIssued(t: Omit<IssuedToken, 'revoked'>): void {
    wrap('cannot record the token', () => this.#db.prepare(
      'INSERT OR REPLACE INTO issued_tokens (jti, sub, tiers, iat, exp) VALUES (?, ?, ?, ?, ?)',
    ).run(t.jti, t.sub, JSON.stringify(t.tiers), t.iat, t.exp));
  }

  /** Tokens issued on this host, newest first, with their revocation state. */
  listIssued(): IssuedToken[] {
    const rows = wrap('cannot list tokens', () => this.#db.prepare(
      `SELECT t.jti, t.sub, t.tiers, t.iat, t.exp, r.jti IS NOT NULL AS revoked
       FROM issued_tokens t LEFT JOIN revocations r ON r.jti = t.jti ORDER BY t.iat DESC`,
    ).all()) as { jti: string; sub: string; tiers: string; iat: number; exp: number;
      revoked: number }[];
    return rows.map((r) => ({ ...r, tiers: JSON.parse(r.tiers) as string[],
      revoked: r.revoked === 1 }));
  }

  /** The expiry recorded at issue time, or null for a token this host did not record. */
  issuedExpiry(jti: string): number | null {
    const row = wrap('cannot read tokens', () => this.#db.prepare(
      'SELECT exp FROM issued_tokens WHERE jti = ?').get(jti)) as { exp: number } | undefined;
    return row?.exp ?? null;
  }

  /** Revokes a token id; `exp` (seconds) lets the entry be pruned once the token expired. */
  revoke(jti: string, exp: number | null): void {
    wrap('cannot revoke the token', () => this.#db.prepare(
      'INSERT OR IGNORE INTO revocations (jti, exp, revoked_at) VALUES (?, ?, ?)',
    ).run(jti, exp, Math.floor(Date.now() / 1000)));
  }

  isRevoked(jti: string): boolean {
    return wrap('cannot read revocations', () =>
      this.#db.prepare('SELECT 1 FROM revocations WHERE jti = ?').get(jti) !== undefined);
  }

  /**
   * Forgets revocations of tokens expired for more than a day (the verifier refuses them
   * as expired anyway). Returns how many were removed.
   */
  pruneRevocations(nowS: number = Math.floor(Date.now() / 1000)): number {
    return wrap('cannot prune revocations', () => this.#db.prepare(
      'DELETE FROM revocations WHERE exp IS NOT NULL AND exp < ?').run(nowS - 86_400).changes);
  }

  // --- idempotency ----------------------------------------------------------------------

  /**
   * Claims an idempotency key for a request. `new`: the caller executes, then calls
   * finishIdempotent. `done`: the first result, to return as is. `in_progress`: another
   * request (or one interrupted by a crash) holds it; nothing runs. `mismatch`: the key was
   * used for a different request (another fingerprint).
   */
  beginIdempotent(principal: string, key: string, fingerprint: string): IdempotentBegin {
    return wrap('cannot claim the idempotency key', () => this.#db.transaction(() => {
      const row = this.#db.prepare(
        'SELECT fingerprint, state, result FROM idempotency WHERE principal = ? AND key = ?',
      ).get(principal, key) as IdemRow | undefined;
      if (!row) {
        this.#db.prepare(
          `INSERT INTO idempotency (principal, key, fingerprint, state, created_at)
           VALUES (?, ?, ?, 'in_progress', ?)`,
        ).run(principal, key, fingerprint, Date.now());
        return { kind: 'new' } as const;
      }
      if (row.fingerprint !== fingerprint) return { kind: 'mismatch' } as const;
      if (row.state === 'done') {
        return { kind: 'done', result: JSON.parse(row.result ?? 'null') as unknown } as const;
      }
      return { kind: 'in_progress' } as const;
    }).immediate());
  }

  /** Stores the result (JSON-serialisable) of a request that claimed `key` with `new`. */
  finishIdempotent(principal: string, key: string, result: unknown): void {
    const json = JSON.stringify(result ?? null);
    const changes = wrap('cannot store the idempotent result', () => this.#db.prepare(
      `UPDATE idempotency SET state = 'done', result = ?, finished_at = ?
       WHERE principal = ? AND key = ? AND state = 'in_progress'`,
    ).run(json, Date.now(), principal, key).changes);
    if (changes !== 1) {
      throw new GatewayError('GW_STATE_FAILED',
        'finishIdempotent for a key that is not in progress');
    }
  }

  /**
   * Gives a key back when the request it claimed was refused BEFORE anything executed
   * (bad input, policy refusal), so a corrected retry may use it. Never call it once an
   * action may have started: then the key must stay in progress or be finished.
   */
  releaseIdempotent(principal: string, key: string): void {
    wrap('cannot release the idempotency key', () => this.#db.prepare(
      `DELETE FROM idempotency WHERE principal = ? AND key = ? AND state = 'in_progress'`,
    ).run(principal, key));
  }

  // --- audit chain ----------------------------------------------------------------------

  auditHead(): AuditHead {
    const row = wrap('cannot read the audit head', () => this.#db.prepare(
      'SELECT seq, hash FROM audit_head WHERE id = 1').get()) as AuditHead | undefined;
    return row ?? { seq: 0, hash: AUDIT_GENESIS };
  }

  /**
   * Moves the head from `from` to `to` in one transaction with the open-action bookkeeping
   * of the record appended. Fails when the head is no longer `from`: another writer
   * appended to the same log, and the chain would fork.
   *
   * `write` (the append to the log file, synced) runs inside the transaction, after the
   * head check and the updates, just before the commit: SQLite's write lock is held from
   * the check to the commit, so two processes can never both append after the same head.
   * If `write` throws, nothing is committed.
   */
  advanceAuditHead(from: AuditHead, to: AuditHead,
    open: { add?: OpenAuditAction; remove?: string } = {}, write?: () => void): void {
    wrap('cannot advance the audit head', () => this.#db.transaction(() => {
      const cur = this.auditHead();
      if (cur.seq !== from.seq || cur.hash !== from.hash) {
        throw new GatewayError('GW_AUDIT_WRITE_FAILED',
          'the audit head moved under this writer: another process appends to the log');
      }
      this.#db.prepare(
        `INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
      ).run(to.seq, to.hash);
      if (open.add !== undefined) {
        // Fails for an id used before: each action id is accepted once, ever.
        this.#db.prepare('INSERT INTO audit_actions (action_id, seq, fields) VALUES (?, ?, ?)')
          .run(open.add.id, to.seq, open.add.fields);
      }
      if (open.remove !== undefined) {
        const closed = this.#db.prepare(
          'UPDATE audit_actions SET closed = 1 WHERE action_id = ? AND closed = 0',
        ).run(open.remove).changes;
        if (closed !== 1) {
          throw new GatewayError('GW_AUDIT_WRITE_FAILED',
            `audit action ${open.remove} is not awaiting an outcome`);
        }
      }
      // Last, once every statement has succeeded: a refusal above leaves the file untouched.
      write?.();
    }).immediate());
  }

  /** Accepted audit actions without an outcome, oldest first. */
  openAuditActions(): OpenAuditAction[] {
    const rows = wrap('cannot read open audit actions', () => this.#db.prepare(
      'SELECT action_id, fields FROM audit_actions WHERE closed = 0 ORDER BY seq').all()) as
      { action_id: string; fields: string }[];
    return rows.map((r) => ({ id: r.action_id, fields: r.fields }));
  }

  /** The open action `id`, or null when it has no accepted record or already an outcome. */
  openAuditAction(id: string): OpenAuditAction | null {
    const row = wrap('cannot read open audit actions', () => this.#db.prepare(
      'SELECT fields FROM audit_actions WHERE action_id = ? AND closed = 0').get(id)) as
      { fields: string } | undefined;
    return row ? { id, fields: row.fields } : null;
  }

  /** Whether an action id was ever accepted (ids are never reused). */
  auditActionKnown(id: string): boolean {
    return wrap('cannot read audit actions', () => this.#db.prepare(
      'SELECT 1 FROM audit_actions WHERE action_id = ?').get(id) !== undefined);
  }
}
