import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, asGatewayError } from '../errors.js';

/** What a route answers: a status and a JSON body (headers only where a route needs them). */
export interface JsonReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Reads the whole body, refusing more than `max` bytes. The content type is ignored on
 * purpose: the original guide's `curl -d '{"task": ...}'` sends form encoding, and the body
 * is still one JSON object.
 */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Stop buffering at once: a client streaming gigabytes costs us nothing more.
    if (size > max) throw tooLarge(max);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

function tooLarge(max: number): GatewayError {
  return new GatewayError('GW_HTTP_BODY_TOO_LARGE', `the body is larger than ${max} bytes`);
}

/**
 * Parses one JSON object and checks it has only the `allowed` fields. Field names in
 * errors are the client's own, cut short; values never appear in messages.
 */
export function parseObject(body: Buffer, allowed: readonly string[]): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('GW_HTTP_INVALID_JSON', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('GW_HTTP_INVALID_JSON', 'the body must be one JSON object');
  }
  const obj = value as Record<string, unknown>;
  const unknown = Object.keys(obj).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    throw new GatewayError('GW_HTTP_UNKNOWN_FIELD',
      `unknown field "${unknown.slice(0, 40)}"; expected ${allowed.join(', ')}`);
  }
  return obj;
}

/** The bearer token of an Authorization header, or null when there is none. */
export function bearerOf(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}

/** The JSON body of an error: the stable code and a one-line message. */
export function errorReply(err: unknown): JsonReply {
  const e = asGatewayError(err);
  const headers: Record<string, string> = {};
  if (e.http === 401) headers['WWW-Authenticate'] = 'Bearer realm="gateway"';
  return { status: e.http, body: { error: { code: e.code, message: e.message } }, headers };
}

export function sendJson(res: ServerResponse, reply: JsonReply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...reply.headers,
  });
  res.end(text);
}
