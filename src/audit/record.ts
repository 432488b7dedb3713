import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * One audit record: a JSON object on one line, its keys in a fixed order, signed with the
 * `audit` Ed25519 key over everything but `sig`, and chained: `prev` is the SHA-256 of the
 * previous record's line (signature included), so editing, removing or reordering any
 * record breaks the check of a later one.
 *
 * The line as written is the only form there is: a verifier rebuilds the canonical line
 * from the parsed fields and refuses any difference (extra keys, other spacing or order).
 */
export const AUDIT_KINDS = ['accepted', 'outcome', 'recovered'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];
export const AUDIT_OUTCOMES = ['succeeded', 'failed', 'refused', 'indeterminate'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditBody {
  seq: number;
  ts: string;
  prev: string;
  kind: AuditKind;
  id: string;
  principal: string | null;
  connector: string | null;
  action: string | null;
  tier: string | null;
  /** SHA-256 (hex) of the canonical JSON of the action's slots; never the slots. */
  input: string | null;
  outcome: AuditOutcome | null;
  code: string | null;
}

export interface AuditRecord extends AuditBody {
  /** Ed25519 signature (base64) of SIGNING_PREFIX + the canonical body. */
  sig: string;
}

const BODY_KEYS = ['seq', 'ts', 'prev', 'kind', 'id', 'principal', 'connector', 'action',
  'tier', 'input', 'outcome', 'code'] as const satisfies readonly (keyof AuditBody)[];

// Domain separation: an audit signature can never be replayed as anything else's.
const SIGNING_PREFIX = 'digital-twin-gateway audit record v1\n';
const ENCODER = new TextEncoder();

/** The body with its keys in the fixed order, as JSON. */
export function canonicalBody(r: AuditBody): string {
  const ordered: Record<string, unknown> = {};
  for (const k of BODY_KEYS) ordered[k] = r[k];
  return JSON.stringify(ordered);
}

/** The whole line (without the newline). */
export function canonicalLine(r: AuditRecord): string {
  return `${canonicalBody(r).slice(0, -1)},"sig":${JSON.stringify(r.sig)}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function signBody(body: AuditBody, secretKey: Uint8Array): AuditRecord {
  const msg = ENCODER.encode(SIGNING_PREFIX + canonicalBody(body));
  const sig = Buffer.from(nacl.sign.detached(msg, secretKey)).toString('base64');
  return { ...body, sig };
}

export function signatureValid(r: AuditRecord, publicKey: Uint8Array): boolean {
  const sig = Buffer.from(r.sig, 'base64');
  if (sig.length !== nacl.sign.signatureLength || sig.toString('base64') !== r.sig) return false;
  const msg = ENCODER.encode(SIGNING_PREFIX + canonicalBody(r));
  return nacl.sign.detached.verify(msg, new Uint8Array(sig), publicKey);
}

/**
 * JSON with object keys sorted at every level, so that equal slots always give the same
 * digest whatever order the parser produced them in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The input digest recorded instead of the slots. */
export function inputDigest(slots: unknown): string {
  return sha256Hex(canonicalJson(slots ?? {}));
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const strOrNull = (v: unknown): boolean => v === null || isStr(v);

/**
 * Parses one line into a record, or returns null when it is not exactly a canonical record
 * (wrong types, extra or missing keys, other formatting).
 */
export function parseRecord(line: string): AuditRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const ok = Number.isSafeInteger(o.seq) && isStr(o.ts) && isStr(o.prev) && isStr(o.id)
    && (AUDIT_KINDS as readonly unknown[]).includes(o.kind)
    && (o.outcome === null || (AUDIT_OUTCOMES as readonly unknown[]).includes(o.outcome))
    && ['principal', 'connector', 'action', 'tier', 'input', 'code'].every((k) => strOrNull(o[k]))
    && isStr(o.sig);
  if (!ok) return null;
  const r = o as unknown as AuditRecord;
  return canonicalLine(r) === line ? r : null;
}
