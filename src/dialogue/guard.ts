import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecret, type GatewayConfig } from '../config/load.js';
import type { Tier } from '../connectors/types.js';
import { asGatewayError } from '../errors.js';
import {
  InMemorySpendLedger, evaluatePolicy, recordSpend, type PolicyContext, type PolicyRequest,
  type SpendLedger,
} from '../policy/index.js';

/** How a turn reached the gateway: spoken (microphone, WAV, phone audio) or typed. */
export type Channel = 'voice' | 'text';

export interface GuardEnv {
  /** The wall clock policy sees (hours, days, PIN lockout). */
  readonly now: () => Date;
  readonly timeZone: string;
  readonly ledger: SpendLedger;
  /** Where relative secret files (the PIN) resolve. */
  readonly baseDir: string;
}

export interface GuardRequest {
  readonly principal: string;
  readonly connector: string;
  readonly action: string;
  readonly tier: Tier;
  readonly slots: unknown;
  readonly emergencyStop: boolean;
  readonly channel: Channel;
}

/** Why an action is refused before any confirmation: a stable reason and what to say. */
export interface GuardRefusal {
  readonly reason: string;
  readonly speech: string;
  /** For the log: names the rule, never slot values. */
  readonly message: string;
}

export type PinCheck = 'ok' | 'wrong' | 'locked';

const PIN_RE = /^\d{4,8}$/;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The rules that stand between an understood command and its confirmation: policy per
 * principal (caps, allowlists, hours), voice switched off for critical actions, and the
 * second factor a connector's critical actions need. One per gateway process, so that a
 * wrong-PIN count and the day's spending are shared by every conversation.
 */
export class ActionGuard {
  private wrongPins = 0;
  private lockedUntil = 0;

  constructor(private readonly config: GatewayConfig, private readonly env: GuardEnv) {}

  static withDefaults(config: GatewayConfig, env: Partial<GuardEnv> = {}): ActionGuard {
    return new ActionGuard(config, {
      now: env.now ?? (() => new Date()),
      timeZone: env.timeZone ?? (config.dialogue.timezone || 'UTC'),
      ledger: env.ledger ?? new InMemorySpendLedger(),
      baseDir: env.baseDir ?? process.cwd(),
    });
  }

  private policyContext(): PolicyContext {
    return {
      policy: this.config.policy, localPrincipal: this.config.dialogue.local_principal,
      now: this.env.now(), timeZone: this.env.timeZone, ledger: this.env.ledger,
    };
  }

  private static policyRequest(r: GuardRequest): PolicyRequest {
    return {
      principal: r.principal, connector: r.connector, action: r.action, tier: r.tier,
      input: r.slots, emergencyStop: r.emergencyStop,
    };
  }

  private factor(connector: string): 'pin' | 'phone' | 'no_voice' | null {
    return this.config.dialogue.second_factor.connectors[connector] ?? null;
  }

  /** A refusal, checked before the read-back (and again just before the action runs). */
  check(r: GuardRequest): GuardRefusal | null {
    const decision = evaluatePolicy(ActionGuard.policyRequest(r), this.policyContext());
    if (!decision.allowed) {
      return { reason: decision.rule, speech: decision.speech, message: decision.message };
    }
    if (r.tier !== 'critical' || r.emergencyStop) return null;
    const factor = this.factor(r.connector);
    if (r.channel === 'voice' && (!this.config.dialogue.voice_critical_actions
      || factor === 'no_voice')) {
      return {
        reason: 'voice_critical_off',
        speech: 'I did not do it: critical actions are switched off for voice. ' +
          'Use the app or type the command.',
        message: 'critical actions are switched off for voice turns',
      };
    }
    if (factor === 'phone') {
      return {
        reason: 'second_factor_unavailable',
        speech: 'I did not do it: this action needs approval from your phone, ' +
          'and phone approval is not part of this version of the gateway.',
        message: `${r.connector} needs phone approval, which this version cannot provide`,
      };
    }
    if (factor === 'pin') return this.pinProblem();
    return null;
  }

  private pinProblem(): GuardRefusal | null {
    if (this.env.now().getTime() < this.lockedUntil) {
      return {
        reason: 'second_factor_locked',
        speech: 'I did not do it: the PIN was wrong too many times, so actions that need it ' +
          'are locked for now.',
        message: 'PIN actions are locked after too many wrong PINs',
      };
    }
    try {
      if (this.pin() !== null) return null;
    } catch (err) {
      return {
        reason: 'second_factor_unavailable', message: asGatewayError(err).message,
        speech: 'I did not do it: the PIN for this action cannot be read.',
      };
    }
    return {
      reason: 'second_factor_unavailable',
      speech: 'I did not do it: this action needs a PIN, and none is configured.',
      message: 'dialogue.second_factor.pin_file (or GATEWAY_PIN) is not set',
    };
  }

  /** The configured PIN, or null; throws GW_SECRET_UNREADABLE when it is malformed. */
  private pin(): string | null {
    const sf = this.config.dialogue.second_factor;
    const pin = readSecret('GATEWAY_PIN', sf.pin_file, this.env.baseDir);
    if (pin !== null && !PIN_RE.test(pin)) {
      throw asGatewayError(new Error('the PIN must be 4 to 8 digits'), 'GW_SECRET_UNREADABLE');
    }
    return pin;
  }

  /** True when, after "confirm", this action also needs the spoken PIN. */
  needsPin(connector: string, tier: Tier, emergencyStop: boolean): boolean {
    return tier === 'critical' && !emergencyStop && this.factor(connector) === 'pin';
  }

  /** Compares a spoken PIN in constant time; too many wrong ones lock PIN actions. */
  checkPin(spoken: string): PinCheck {
    const now = this.env.now().getTime();
    if (now < this.lockedUntil) return 'locked';
    let pin: string | null;
    try {
      pin = this.pin();
    } catch {
      pin = null;
    }
    if (pin !== null && timingSafeEqual(digest(spoken), digest(pin))) {
      this.wrongPins = 0;
      return 'ok';
    }
    this.wrongPins += 1;
    const sf = this.config.dialogue.second_factor;
    if (this.wrongPins >= sf.max_pin_attempts) {
      this.wrongPins = 0;
      this.lockedUntil = now + sf.lockout_ms;
      return 'locked';
    }
    return 'wrong';
  }

  /** Counts money spent by an action that ran, or may have (indeterminate). */
  spent(r: GuardRequest): void {
    recordSpend(ActionGuard.policyRequest(r), this.policyContext());
  }
}
