import type { GatewayConfig } from '../config/load.js';
import type { RegisteredConnector } from '../connectors/types.js';
import type { Execution } from '../isolation/executor.js';
import { needsConfirmation, resolveTier } from '../isolation/tiers.js';
import type {
  IntentMatch, IntentSet, Understanding,
} from '../nlu/types.js';
import { GatewayError } from '../errors.js';
import { normalise } from '../nlu/normalise.js';
import { routeAction } from '../connectors/routing.js';
import {
  MAX_CHOICES, answerQuestion, choiceText, missingSlot, type PendingQuestion,
} from './questions.js';
import { ActionGuard, type Channel, type GuardRequest } from './guard.js';
import { listOr, outOfRange, readBack } from './replies.js';
import type { Decision } from './report.js';
import { step, type DialogueStep, type PendingAction, type TurnInput } from './step.js';

export type { DialogueStep, PendingAction, TurnInput } from './step.js';

const SORRY = "Sorry, I didn't catch that.";

/**
 * The dialogue state machine: listening, confirming, executing, speaking.
 * It owns the rules of ARCHITECTURE.md's "Conversation rules" and never runs
 * anything itself: it says what to run, and the caller reports the result.
 */
export class Conversation {
  private pending: PendingAction | null = null;
  /** A question about a command not yet complete (never both this and `pending`). */
  private question: PendingQuestion | null = null;
  private followUpUntil = -1;
  /** The last thing said, for "repeat". */
  private lastReply: DialogueStep | null = null;

  /** Channel and principal of the turn being handled. */
  private channel: Channel = 'voice';
  /** The turn's words in match form, to hold "confirm" to the configured phrase. */
  private words = '';
  private principal: string;

  constructor(
    private readonly config: GatewayConfig,
    private readonly intents: IntentSet,
    private readonly connectors: ReadonlyMap<string, RegisteredConnector>,
    private readonly guard: ActionGuard = ActionGuard.withDefaults(config),
  ) {
    this.principal = config.dialogue.local_principal;
    // The phrase the prompt asks for must be one the gateway can hear as a confirmation.
    const phrase = config.dialogue.confirmation_phrase;
    const heard = intents.match(phrase.toLowerCase());
    if (heard.kind !== 'intent' || heard.intent !== 'system.confirm') {
      throw new GatewayError('GW_CONFIG_INVALID',
        `dialogue.confirmation_phrase "${phrase}" is not a sentence of the system.confirm ` +
        'intent (intents/en/system.yaml): add it there or choose one of its sentences');
    }
  }

  /** True when an answer at time `at` needs no wake word. */
  inFollowUp(at: number): boolean {
    return at <= this.followUpUntil;
  }

  get pendingAction(): PendingAction | null {
    return this.pending;
  }

  /** True while a question waits for its answer (which no other engine should guess at). */
  get awaitingAnswer(): boolean {
    return this.question !== null || this.pending?.awaitingPin === true;
  }

  /** Called with what an action came to; money spent (or maybe spent) counts toward caps. */
  executed(s: DialogueStep, result: Execution): void {
    if (!s.execute || !s.tier || !s.action) return;
    if (result.outcome !== 'succeeded' && result.outcome !== 'indeterminate') return;
    this.guard.spent({
      principal: this.principal, connector: s.execute.connector, action: s.execute.action,
      tier: s.tier, slots: s.execute.input, emergencyStop: false, channel: this.channel,
    });
  }

  /** Called when the reply has been spoken; a question opens the follow-up window. */
  replied(step: DialogueStep, endedAt: number): void {
    if (step.reply) this.lastReply = step;
    if (step.asks) {
      this.followUpUntil = endedAt + this.config.dialogue.follow_up_window_ms;
      if (this.pending) {
        const expiresAt = endedAt + this.config.dialogue.confirmation_window_ms;
        this.pending = { ...this.pending, expiresAt };
      }
      if (this.question) {
        const expiresAt = endedAt + this.config.dialogue.follow_up_window_ms;
        this.question = { ...this.question, expiresAt };
      }
    } else {
      this.followUpUntil = -1;
    }
  }

  handle(input: TurnInput): DialogueStep {
    if (!input.addressed) return step('ignored', 'no_wake_word', '', { asks: false });
    this.channel = input.channel ?? 'voice';
    this.principal = input.principal ?? this.config.dialogue.local_principal;
    this.words = input.transcript ? normalise(input.transcript.text).join(' ') : '';
    const pending = this.takePending(input.at) ?? this.takeQuestion(input.at);
    if (!input.transcript) {
      return pending
        ? this.cancel(pending, 'no_answer')
        : step('ignored', 'no_speech', '', { asks: false });
    }
    if (pending && 'awaitingPin' in pending && pending.awaitingPin) {
      return this.pinAnswer(pending, input.transcript);
    }
    if (!input.transcript.text) {
      // Speech was heard, but nothing the grammar holds.
      return pending
        ? this.cancel(pending, 'unclear_answer')
        : step('not_understood', 'no_match', SORRY);
    }
    const conf = input.transcript.confidence;
    if (conf !== null && conf < this.config.stt.min_confidence) {
      return pending
        ? this.cancel(pending, 'low_confidence')
        : step('not_understood', 'low_confidence', SORRY);
    }
    const u = input.understanding;
    if (u?.kind === 'intent' && u.intent === 'system.repeat') return this.repeat(pending, u);
    if (pending && 'slot' in pending && !(u && this.isEmergencyStop(u))) {
      const answered = answerQuestion(pending, input.transcript.text, u, this.intents);
      const phrases = this.offlinePhrases(pending.intent.intent, pending.slot);
      // Dictation where only the short replies can be heard is no answer.
      const out = answered.kind === 'resolved' && phrases
        && answered.match.freeText?.[pending.slot] === 'dictation'
        ? { kind: 'cancel', reason: 'unclear_answer' } as const : answered;
      switch (out.kind) {
        case 'resolved': return this.command(out.match);
        case 'out_of_range': return step('refused', 'out_of_range', outOfRange(out.understanding));
        case 'cancel':
          if (phrases === null || out.reason !== 'unclear_answer') {
            return this.cancel(pending, out.reason);
          }
          return { ...this.cancel(pending, 'dictation_offline'),
            reply: `Offline, I can only send one of these: ${listOr(phrases)}. Nothing was sent.` };
        case 'new_command': return this.handleNew(u, null);
      }
    }
    return this.handleNew(u, pending && 'connector' in pending ? pending : null);
  }

  /** A turn that answers no question: a command, or the answer to a confirmation. */
  private handleNew(u: Understanding | null, pending: PendingAction | null): DialogueStep {
    if (u?.kind === 'not_understood' && u.reason === 'negated') {
      // "Don't close breaker seven": never an action; said back so the person knows.
      return pending
        ? this.cancel(pending, 'negated')
        : step('not_understood', 'negated', 'All right, I will not do that.', { asks: false });
    }
    if (u?.kind === 'not_understood' && u.reason === 'out_of_range') {
      // A new command out of range still cancels what was pending; the range is said.
      if (pending) {
        const c = this.cancel(pending, 'out_of_range');
        return { ...c, reply: `${c.reply} ${outOfRange(u)}` };
      }
      return step('refused', 'out_of_range', outOfRange(u));
    }
    const parts = u?.kind === 'not_understood' ? u.parts : undefined;
    const stop = parts?.find((p) => this.isEmergencyStop(p));
    if (stop?.kind === 'intent') return this.command(stop);
    if (u?.kind === 'not_understood' && u.reason === 'multiple_commands') {
      const text = 'I do one thing at a time, so I did nothing. Say each command on its own.';
      return pending
        ? { ...this.cancel(pending, 'multiple_commands'), reply: text }
        : step('refused', 'multiple_commands', text, { asks: false });
    }
    if (u?.kind === 'not_understood' && u.choice && !pending
      && u.choice.options.length <= MAX_CHOICES) {
      const { slot, options } = u.choice;
      const [first] = options;
      if (first) {
        this.question = { kind: 'choice', intent: first, slot, options, expiresAt: Infinity };
        return step('clarification_requested', 'ambiguous',
          choiceText(slot, options, this.intents), { action: first.action, asks: true });
      }
    }
    if (!u || u.kind === 'not_understood') {
      return pending
        ? this.cancel(pending, 'unclear_answer')
        : step('not_understood', u?.reason ?? 'no_match', SORRY);
    }
    // An emergency stop never waits: it drops any pending confirmation and runs now.
    if (pending && !this.isEmergencyStop(u)) return this.answer(pending, u);
    return this.command(u);
  }

  /**
   * Says the last reply again. A pending confirmation stays pending (the person may
   * not have heard it); its window starts again when the repeat has been spoken.
   */
  private repeat(pending: PendingAction | PendingQuestion | null, u: IntentMatch): DialogueStep {
    const last = this.lastReply;
    if (!last) return step('answered', null, 'I have not said anything yet.', { intent: u });
    if (pending) {
      if ('slot' in pending) this.question = pending;
      else this.pending = pending;
      return { ...last, intent: u, execute: null, asks: true };
    }
    return step('answered', 'repeated', last.reply, { intent: u, asks: last.asks });
  }

  /**
   * The phrases a free-text slot can take when the answer is spoken to the offline
   * recogniser (whose grammar holds no dictation); null when typed, or with an open engine.
   */
  private offlinePhrases(intent: string, slot: string): readonly string[] | null {
    if (this.channel !== 'voice' || this.config.stt.engine !== 'pocketsphinx') return null;
    return this.intents.intents.find((i) => i.name === intent)?.freeText?.[slot] ?? null;
  }

  private isEmergencyStop(u: Understanding): boolean {
    if (u.kind !== 'intent') return false;
    const [connector = '', action = ''] = (u.action ?? '').split('.', 2);
    return this.connectors.get(connector)?.manifest.actions[action]?.emergencyStop === true;
  }

  private takePending(at: number): PendingAction | null {
    const p = this.pending;
    this.pending = null;
    return p && at <= p.expiresAt ? p : null;
  }

  private takeQuestion(at: number): PendingQuestion | null {
    const q = this.question;
    this.question = null;
    return q && at <= q.expiresAt ? q : null;
  }

  /** The turn's intent is what was said (if anything); action and tier stay the pending one's. */
  private cancel(
    p: PendingAction | PendingQuestion,
    reason: string,
    said: IntentMatch | null = null,
  ): DialogueStep {
    const action = 'connector' in p ? `${p.connector}.${p.action}` : p.intent.action;
    return step('cancelled', reason, 'Cancelled. Nothing was done.', {
      intent: said, action, tier: 'tier' in p ? p.tier : null, asks: false,
    });
  }

  private answer(p: PendingAction, u: IntentMatch): DialogueStep {
    if (u.intent !== 'system.confirm') {
      return this.cancel(p, u.intent === 'system.deny' ? 'denied' : 'new_command', u);
    }
    // Only the phrase the prompt asked for confirms ("Say confirmed to proceed": a bare
    // "confirm" or "yes confirm" cancels), so that a changed phrase really is harder to say.
    const phrase = normalise(this.config.dialogue.confirmation_phrase).join(' ');
    if (this.words !== phrase) return this.cancel(p, 'not_the_phrase', u);
    // Checked again: the hour, the day's spending or the lockout may have changed.
    const refusal = this.guard.check(p.request);
    const base = { intent: u, action: `${p.connector}.${p.action}`, tier: p.tier };
    if (refusal) return step('refused', refusal.reason, refusal.speech, { ...base, asks: false });
    if (this.guard.needsPin(p.connector, p.tier, p.request.emergencyStop)) {
      this.pending = { ...p, awaitingPin: true, expiresAt: Number.POSITIVE_INFINITY };
      return step('confirmation_requested', 'pin_required', 'Say your PIN.', {
        ...base, asks: true,
      });
    }
    return this.run(p, u, 'confirmed');
  }

  private run(p: PendingAction, u: IntentMatch | null, reason: string): DialogueStep {
    return step('executed', reason, '', {
      intent: u, action: `${p.connector}.${p.action}`, tier: p.tier, asks: false,
      execute: {
        connector: p.connector, action: p.action, input: { ...(p.input ?? p.intent.slots) },
        confirmed: true,
      },
    });
  }

  /**
   * The turn after "Say your PIN": its words are a secret, so the step says so and the
   * caller keeps them out of logs and reports. A wrong PIN may be said again, up to the
   * configured attempts; then actions that need the PIN are locked for a while.
   */
  private pinAnswer(p: PendingAction, transcript: NonNullable<TurnInput['transcript']>):
  DialogueStep {
    const secret = { secretInput: true } as const;
    const heard = this.intents.matchAnswer('system.pin', 'answer', transcript.text);
    const conf = transcript.confidence;
    if (heard.kind !== 'intent' || (conf !== null && conf < this.config.stt.min_confidence)) {
      const u = this.intents.match(transcript.text);
      if (u.kind === 'intent' && this.isEmergencyStop(u)) return this.command(u);
      return { ...this.cancel(p, 'pin_unclear'), ...secret };
    }
    const digits = Object.keys(heard.slots).sort().map((k) => String(heard.slots[k])).join('');
    const verdict = this.guard.checkPin(digits);
    if (verdict === 'ok') return { ...this.run(p, null, 'confirmed_with_pin'), ...secret };
    const base = { action: `${p.connector}.${p.action}`, tier: p.tier, ...secret };
    if (verdict === 'wrong') {
      this.pending = { ...p, expiresAt: Number.POSITIVE_INFINITY };
      return step('confirmation_requested', 'pin_wrong', 'That PIN is wrong. Say it again.', {
        ...base, asks: true,
      });
    }
    return step('refused', 'second_factor_locked', 'That PIN was wrong too many times. ' +
      'Nothing was done, and actions that need the PIN are locked for now.', {
      ...base, asks: false,
    });
  }

  private command(u: IntentMatch): DialogueStep {
    if (u.intent === 'system.confirm' || u.intent === 'system.deny') {
      const text = 'There is nothing to confirm.';
      return step('not_understood', 'nothing_pending', text, { intent: u });
    }
    if (u.intent === 'system.choose') {
      const text = 'There is nothing to choose.';
      return step('not_understood', 'nothing_pending', text, { intent: u });
    }
    if (u.intent === 'system.stop') {
      // A bare "stop" stops the gateway's own speech; there is nothing more to say.
      return step('answered', 'stopped_speaking', '', { intent: u, asks: false });
    }
    if (!u.action) {
      const info = this.intents.intents.find((i) => i.name === u.intent);
      const text = info?.response ? this.intents.render(info.response, u.slots) : SORRY;
      return step('answered', null, text, { intent: u });
    }
    const info = this.intents.intents.find((i) => i.name === u.intent);
    const missing = missingSlot(info, u);
    if (missing !== null) {
      // Asked one slot at a time; nothing is read back or run before every slot is known.
      this.question = { kind: 'slot', intent: u, slot: missing, options: [], expiresAt: Infinity };
      const phrases = this.offlinePhrases(u.intent, missing);
      const offline = phrases ? ` Offline, I can send: ${listOr(phrases)}.` : '';
      return step('clarification_requested', 'missing_slot',
        `${info?.ask?.[missing] ?? SORRY}${offline}`, { intent: u, action: u.action, asks: true });
    }
    // A command aimed at a configured point goes to the connector of the point's protocol
    // (src/connectors/routing.ts); everything below sees that connector and its input.
    const route = routeAction(this.config, u.action, u.slots);
    if (route.kind === 'refused') {
      return step('refused', route.reason, route.speech, { intent: u, action: u.action,
        asks: false });
    }
    const { connector, action } = route;
    const input = route.input ?? u.slots;
    const spec = this.connectors.get(connector)?.manifest.actions[action];
    if (!spec) {
      const text = 'I cannot do that: no connector provides that action.';
      return step('refused', 'unknown_action', text, { intent: u,
        action: `${connector}.${action}` });
    }
    const tier = resolveTier(connector, spec.tier, this.config);
    const base = { intent: u, action: `${connector}.${action}`, tier };
    const request: GuardRequest = {
      principal: this.principal, connector, action, tier, slots: input,
      emergencyStop: spec.emergencyStop === true, channel: this.channel,
    };
    // Policy and voice rules refuse before anything is read back or confirmed.
    const refusal = this.guard.check(request);
    if (refusal) return step('refused', refusal.reason, refusal.speech, { ...base, asks: false });
    if (needsConfirmation(tier, this.config, spec.emergencyStop === true)) {
      this.pending = {
        intent: u, connector, action, tier, expiresAt: Number.POSITIVE_INFINITY, request,
        ...(route.input ? { input: route.input } : {}),
      };
      const readback = readBack(this.intents, info?.readback ?? null, u);
      const phrase = this.config.dialogue.confirmation_phrase;
      return step('confirmation_requested', null, `${readback} Say ${phrase} to proceed.`, {
        ...base, asks: true,
      });
    }
    return step('answered', null, '', {
      ...base, asks: false, execute: { connector, action, input: { ...input }, confirmed: false },
    });
  }

  /** Folds an execution's result into the step's decision and reply. */
  static settle(s: DialogueStep, result: Execution): DialogueStep {
    const decision: Decision = result.outcome === 'refused' ? 'refused' : s.decision;
    const reason = result.outcome === 'refused' ? (result.error?.code ?? 'refused') : s.reason;
    return { ...s, decision, reason, reply: result.speech };
  }
}
