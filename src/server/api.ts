import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { GatewayConfig } from '../config/load.js';
import type { TurnReport } from '../dialogue/report.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type {
  ConversationHub, PendingConfirmation, PrincipalConversation,
} from './conversations.js';
import { parseObject, type JsonReply } from './http.js';
import type { Metrics } from './metrics.js';
import type { Grant, PipelineFactory } from './pipelines.js';

/** A sentence of the system.deny intent: how the API says "cancel" to a conversation. */
const DENY = 'cancel';
const MAX_TASK_CHARS = 1_000;

export type IdempotentStart =
  | { kind: 'new' } | { kind: 'done'; result: unknown } | { kind: 'in_progress' }
  | { kind: 'mismatch' };

/** The part of the state store the API needs (src/state/store.ts provides it). */
export interface IdempotencyStore {
  beginIdempotent(principal: string, key: string, fingerprint: string): IdempotentStart;
  finishIdempotent(principal: string, key: string, result: unknown): void;
}

export interface ApiDeps {
  readonly config: GatewayConfig;
  readonly hub: ConversationHub;
  readonly factory: PipelineFactory;
  readonly idempotency: IdempotencyStore | null;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * Runs `run` at most once per (principal, Idempotency-Key): a repeat of the same request
 * gets the first reply, a different request under the same key a 409, and a key whose
 * first run never finished (a crash) a 409 too, never a second execution.
 */
export async function idempotent(
  deps: ApiDeps, grant: Grant, key: string | undefined, request: unknown,
  run: () => Promise<JsonReply>,
): Promise<JsonReply> {
  if (key === undefined || !deps.idempotency) return run();
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new GatewayError('GW_HTTP_INVALID_REQUEST',
      'Idempotency-Key must be 1 to 200 visible ASCII characters');
  }
  const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const started = deps.idempotency.beginIdempotent(grant.principal, key, fingerprint);
  switch (started.kind) {
    case 'done': {
      const first = started.result as JsonReply;
      return { ...first, headers: { ...first.headers, 'Idempotent-Replayed': 'true' } };
    }
    case 'mismatch':
      throw new GatewayError('GW_IDEMPOTENCY_MISMATCH',
        'this Idempotency-Key was used with a different request');
    case 'in_progress':
      throw new GatewayError('GW_IDEMPOTENCY_IN_PROGRESS',
        'a request with this Idempotency-Key has started and has no recorded result');
    case 'new':
      break;
  }
  let reply: JsonReply;
  try {
    reply = await run();
  } catch (err) {
    // A refusal before anything ran (bad tier, unknown confirmation) is recorded as the
    // key's result too: repeating the request must not turn into a different answer.
    const e = err instanceof GatewayError ? err : null;
    if (!e) throw err;
    reply = { status: e.http, body: { error: { code: e.code, message: e.message } } };
  }
  deps.idempotency.finishIdempotent(grant.principal, key, reply);
  return reply;
}

/** What the API says about a turn: the report without timings or file paths. */
function turnBody(r: TurnReport): Record<string, unknown> {
  return {
    status: r.decision, reason: r.reason, reply: r.reply?.text ?? null,
    intent: r.intent, action: r.action, tier: r.tier, outcome: r.outcome, error: r.error,
  };
}

function confirmationBody(p: PendingConfirmation): Record<string, unknown> {
  return { id: p.id, readback: p.readback, expires_at: new Date(p.expiresAt).toISOString() };
}

async function runTurn(
  deps: ApiDeps, conv: PrincipalConversation, text: string,
): Promise<TurnReport> {
  const t0 = performance.now();
  const report = await conv.opened.pipeline.runText(text);
  deps.metrics.observeTurn('http', performance.now() - t0);
  if (report.tier) deps.metrics.countAction(report.tier, report.outcome ?? report.decision);
  if (report.microvm) deps.metrics.microvmBoots += 1;
  deps.hub.record(conv.grant.principal, 'http', report);
  return report;
}

/** POST /api/v1/orchestrate: one typed command, as if spoken, for the token's principal. */
export async function orchestrate(
  deps: ApiDeps, grant: Grant, body: Buffer,
): Promise<JsonReply> {
  const obj = parseObject(body, ['task']);
  const task = obj.task;
  if (typeof task !== 'string' || task.trim() === '' || task.length > MAX_TASK_CHARS) {
    throw new GatewayError('GW_HTTP_INVALID_REQUEST',
      `"task" must be a non-empty string of at most ${MAX_TASK_CHARS} characters`);
  }
  const conv = await deps.hub.get(grant);
  return conv.serial(async () => {
    checkTier(deps, grant, deps.factory.actionOf(task));
    // A new task replaces a confirmation still open: cancelled first, so the task runs as a
    // command instead of being taken as the (wrong) answer to the question.
    if (conv.opened.pipeline.conversation.pendingAction) await runTurn(deps, conv, DENY);
    conv.pending = null;
    const report = await runTurn(deps, conv, task);
    if (report.decision === 'confirmation_requested') {
      const p = conv.expect(report, deps.config.dialogue.confirmation_window_ms, deps.now());
      return { status: 202, body: { ...turnBody(report), confirmation: confirmationBody(p) } };
    }
    if (report.decision === 'refused' && report.reason === 'unknown_action') {
      checkTier(deps, grant, report.action); // an action filtered out by the grant
    }
    return { status: 200, body: turnBody(report) };
  });
}

/** POST /api/v1/confirmations/<id>: confirm or cancel, by the principal that was asked. */
export async function decide(
  deps: ApiDeps, grant: Grant, id: string, body: Buffer,
): Promise<JsonReply> {
  const obj = parseObject(body, ['decision']);
  const decision = obj.decision;
  if (decision !== 'confirm' && decision !== 'cancel') {
    throw new GatewayError('GW_HTTP_INVALID_REQUEST', '"decision" must be "confirm" or "cancel"');
  }
  const conv = await deps.hub.get(grant);
  return conv.serial(async () => {
    const p = conv.pending;
    const live = conv.opened.pipeline.conversation.pendingAction;
    if (!p || p.id !== id || !live) {
      throw new GatewayError('GW_CONFIRMATION_UNKNOWN', 'no pending confirmation with this id');
    }
    conv.pending = null; // one decision per confirmation, whatever it is
    if (deps.now() > p.expiresAt) {
      await runTurn(deps, conv, DENY);
      throw new GatewayError('GW_CONFIRMATION_EXPIRED', 'the confirmation window has passed');
    }
    const text = decision === 'confirm' ? deps.config.dialogue.confirmation_phrase : DENY;
    const report = await runTurn(deps, conv, text);
    if (report.decision === 'confirmation_requested') {
      // A second factor (a PIN) is asked for: the API cannot take a spoken PIN, so the
      // action is cancelled rather than left open.
      await runTurn(deps, conv, DENY);
      return { status: 200, body: { ...turnBody(report), status: 'cancelled',
        reason: report.reason } };
    }
    return { status: 200, body: turnBody(report) };
  });
}

function checkTier(deps: ApiDeps, grant: Grant, action: string | null): void {
  const tier = deps.factory.tierOf(action);
  if (tier && !grant.tiers.includes(tier)) {
    throw new GatewayError('GW_TIER_NOT_GRANTED',
      `this token does not grant the ${tier} tier that ${action ?? 'the action'} needs`);
  }
}
