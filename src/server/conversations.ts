import { randomUUID } from 'node:crypto';
import type { TurnReport } from '../dialogue/report.js';
import type { Grant, OpenedPipeline, PipelineFactory } from './pipelines.js';

/** A confirmation the API handed out; valid for one decision by the same principal. */
export interface PendingConfirmation {
  readonly id: string;
  readonly readback: string;
  readonly action: string | null;
  readonly tier: string | null;
  /** Wall clock, ms since the epoch. */
  readonly expiresAt: number;
}

/** One line of "recent actions" (the web page lists them). No slot values, no reply text. */
export interface RecentAction {
  readonly at: string;
  readonly channel: 'http' | 'stream';
  readonly action: string;
  readonly tier: string | null;
  readonly decision: string;
  readonly outcome: string | null;
}

const RECENT_MAX = 20;

/**
 * The HTTP conversation of one principal (and token grant). Turns run one at a time, in
 * arrival order, so that two requests never interleave inside one dialogue state.
 */
export class PrincipalConversation {
  private chain: Promise<unknown> = Promise.resolve();
  pending: PendingConfirmation | null = null;

  constructor(readonly grant: Grant, readonly opened: OpenedPipeline) {}

  /** Runs `fn` after every turn queued before it. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Records the confirmation a turn asked for; it replaces any earlier one. */
  expect(report: TurnReport, windowMs: number, now: number): PendingConfirmation {
    this.pending = {
      id: randomUUID(),
      readback: report.reply?.text ?? '',
      action: report.action,
      tier: report.tier,
      expiresAt: now + windowMs,
    };
    return this.pending;
  }
}

/**
 * Conversations by principal, recent actions by principal. Keyed by the grant as well,
 * since a conversation's reachable actions are fixed by the tiers it was opened with.
 */
export class ConversationHub {
  private readonly byKey = new Map<string, Promise<PrincipalConversation>>();
  private readonly recent = new Map<string, RecentAction[]>();

  constructor(private readonly factory: PipelineFactory) {}

  get(grant: Grant): Promise<PrincipalConversation> {
    const key = `${grant.principal}\u0000${[...grant.tiers].sort().join(',')}`;
    let c = this.byKey.get(key);
    if (!c) {
      c = this.factory.open(grant, { audio: 'none', outputDir: null })
        .then((opened) => new PrincipalConversation(grant, opened));
      c.catch(() => this.byKey.delete(key));
      this.byKey.set(key, c);
    }
    return c;
  }

  /** Remembers a turn that was about an action (asked, refused, ran or cancelled). */
  record(principal: string, channel: RecentAction['channel'], r: TurnReport): void {
    if (!r.action) return;
    const list = this.recent.get(principal) ?? [];
    list.unshift({
      at: new Date().toISOString(), channel, action: r.action, tier: r.tier,
      decision: r.decision, outcome: r.outcome,
    });
    if (list.length > RECENT_MAX) list.length = RECENT_MAX;
    this.recent.set(principal, list);
  }

  recentOf(principal: string): readonly RecentAction[] {
    return this.recent.get(principal) ?? [];
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.byKey.values()]);
    await Promise.allSettled(all.map((r) => (r.status === 'fulfilled'
      ? r.value.opened.close() : undefined)));
    this.byKey.clear();
  }
}
