/** The shapes the dialogue takes in and gives out, one turn at a time. */
import type { Tier } from '../connectors/types.js';
import type { IntentMatch, SlotValue, Understanding } from '../nlu/types.js';
import type { Channel, GuardRequest } from './guard.js';
import type { Decision } from './report.js';

/** What the dialogue was told about one turn. */
export interface TurnInput {
  /** True when the turn was addressed: wake word heard, push-to-talk, or text. */
  readonly addressed: boolean;
  /** Null when no speech followed (silence). */
  readonly transcript: { readonly text: string; readonly confidence: number | null } | null;
  readonly understanding: Understanding | null;
  /** Conversation clock, in ms, at the start of the input. */
  readonly at: number;
  /** Spoken or typed; voice by default. */
  readonly channel?: Channel;
  /** Who is asking; the configured local principal by default. */
  readonly principal?: string;
}

export interface PendingAction {
  readonly intent: IntentMatch;
  readonly connector: string;
  readonly action: string;
  readonly tier: Tier;
  /** Conversation time after which the confirmation is void. */
  readonly expiresAt: number;
  /** Set once "confirm" was said and the spoken PIN is awaited. */
  readonly awaitingPin?: boolean;
  /** Who asked, and how, for the checks repeated just before the action runs. */
  readonly request: GuardRequest;
  /** What the action runs with when it is not the slots: a point resolved by routing. */
  readonly input?: Record<string, SlotValue>;
}

/** What the dialogue decided; the caller runs `execute` if present, then speaks. */
export interface DialogueStep {
  readonly decision: Decision;
  readonly reason: string | null;
  readonly intent: IntentMatch | null;
  readonly action: string | null;
  readonly tier: Tier | null;
  readonly reply: string;
  /** The action to run now, and whether it ran after a confirmation. */
  readonly execute: {
    readonly connector: string;
    readonly action: string;
    readonly input: Record<string, SlotValue>;
    readonly confirmed: boolean;
  } | null;
  /** True when the reply asks a question (opens the follow-up window). */
  readonly asks: boolean;
  /** The turn's words were a secret (a PIN): never echoed, logged or reported. */
  readonly secretInput?: boolean;
}

/** A step with every field that `more` does not give at its neutral value. */
export function step(
  decision: Decision,
  reason: string | null,
  reply: string,
  more: Partial<Omit<DialogueStep, 'decision' | 'reason' | 'reply'>> = {},
): DialogueStep {
  return {
    decision,
    reason,
    reply,
    intent: more.intent ?? null,
    action: more.action ?? null,
    tier: more.tier ?? null,
    execute: more.execute ?? null,
    asks: more.asks ?? decision === 'not_understood',
    ...(more.secretInput ? { secretInput: true } : {}),
  };
}
