import type {
  IntentInfo, IntentMatch, IntentSet, NotUnderstood, SlotValue, Understanding,
} from '../nlu/types.js';
import { listOr } from './replies.js';

/**
 * A question the gateway asked about a command it could not run as said: a slot left out
 * ("close breaker seven" -> "At which substation?") or a word with two meanings ("message
 * Sam" -> "Which contact: Sam Taylor or Sam Patel?"). Nothing runs until it is answered,
 * and the answer only ever fills the one slot asked about.
 */
export interface PendingQuestion {
  readonly kind: 'slot' | 'choice';
  /** The command so far (for a choice: its first reading). */
  readonly intent: IntentMatch;
  readonly slot: string;
  /** For a choice: every reading, in the order they were offered. */
  readonly options: readonly IntentMatch[];
  /** Conversation time after which the question is void. */
  readonly expiresAt: number;
}

/** The most options a "which one?" question offers; more is plainly ambiguous. */
export const MAX_CHOICES = 3;

/** What an answer to a question came to. */
export type AnswerOutcome =
  | { readonly kind: 'resolved'; readonly match: IntentMatch }
  /** Not an answer, but a command of its own: the question is dropped for it. */
  | { readonly kind: 'new_command' }
  | { readonly kind: 'out_of_range'; readonly understanding: NotUnderstood }
  | { readonly kind: 'cancel'; readonly reason: string };

/** The first slot the intent asks for that the match lacks, or null. */
export function missingSlot(info: IntentInfo | undefined, u: IntentMatch): string | null {
  for (const slot of Object.keys(info?.ask ?? {})) {
    if (!(slot in u.slots)) return slot;
  }
  return null;
}

/** "Which contact: sam taylor or sam patel?" */
export function choiceText(
  slot: string,
  options: readonly IntentMatch[],
  intents: IntentSet,
): string {
  const said = options.map((o) => intents.render(`{${slot}}`, o.slots));
  return `Which ${slot.replace(/_/g, ' ')}: ${listOr(said)}?`;
}

function sameValue(a: SlotValue | undefined, b: SlotValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function withSlots(u: IntentMatch, answer: IntentMatch): IntentMatch {
  const freeText = { ...u.freeText, ...answer.freeText };
  return {
    ...u,
    slots: { ...u.slots, ...answer.slots },
    ...(Object.keys(freeText).length > 0 ? { freeText } : {}),
  };
}

/**
 * Reads `text` (with `u`, its understanding as a command of its own) as the answer to
 * `q`. A choice is answered by name ("sam patel") or by position ("the second one").
 */
export function answerQuestion(
  q: PendingQuestion,
  text: string,
  u: Understanding | null,
  intents: IntentSet,
): AnswerOutcome {
  if (u?.kind === 'intent' && u.intent === 'system.deny') {
    return { kind: 'cancel', reason: 'denied' };
  }
  // A whole command is a new command, even where free text could take it as a message.
  if (u?.kind === 'intent' && u.action !== null) return { kind: 'new_command' };
  const answer = intents.matchAnswer(q.intent.intent, q.slot, text);
  if (answer.kind === 'intent') {
    if (q.kind === 'slot') return { kind: 'resolved', match: withSlots(q.intent, answer) };
    const picked = q.options.find((o) => sameValue(o.slots[q.slot], answer.slots[q.slot]));
    return picked ? { kind: 'resolved', match: picked } : { kind: 'cancel', reason: 'not_offered' };
  }
  if (q.kind === 'choice' && u?.kind === 'intent' && u.intent === 'system.choose') {
    const n = u.slots.choice;
    const picked = typeof n === 'number' ? q.options[n - 1] : undefined;
    return picked ? { kind: 'resolved', match: picked } : { kind: 'cancel', reason: 'not_offered' };
  }
  if (answer.reason === 'out_of_range') return { kind: 'out_of_range', understanding: answer };
  if (answer.reason === 'negated') return { kind: 'cancel', reason: 'negated' };
  return { kind: 'cancel', reason: 'unclear_answer' };
}
