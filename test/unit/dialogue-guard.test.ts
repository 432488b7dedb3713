import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { MANIFESTS } from '../../src/connectors/manifests.js';
import type { RegisteredConnector } from '../../src/connectors/types.js';
import { Conversation, type DialogueStep } from '../../src/dialogue/conversation.js';
import { ActionGuard, type Channel } from '../../src/dialogue/guard.js';
import { loadIntents } from '../../src/nlu/index.js';
import type { IntentSet } from '../../src/nlu/types.js';
import { InMemorySpendLedger } from '../../src/policy/index.js';
import { TEST_POINTS } from '../support/points.js';

// What stands between an understood command and its confirmation: policy, the voice switch
// and the second factor, with the shipped intents and a fixed clock.
let intents: IntentSet;
let dir: string;
const connectors = new Map<string, RegisteredConnector>(
  MANIFESTS.map((manifest) => [manifest.name, { manifest, implementation: null }]),
);
const NOON = new Date('2026-12-07T12:00:00Z');

beforeAll(async () => {
  intents = await loadIntents(join(import.meta.dirname, '../../intents/en'));
  dir = await mkdtemp(join(tmpdir(), 'guard-'));
  await writeFile(join(dir, 'pin'), '4321\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Talk {
  readonly steps: DialogueStep[];
  say(text: string | null, channel?: Channel): DialogueStep;
}

function conversation(toml: Record<string, unknown> = {}, now = (): Date => NOON): Talk {
  const config = validateConfig({ points: TEST_POINTS, ...toml }, 'test');
  const guard = new ActionGuard(config, {
    now, timeZone: 'Europe/London', ledger: new InMemorySpendLedger(), baseDir: dir,
  });
  const c = new Conversation(config, intents, connectors, guard);
  const steps: DialogueStep[] = [];
  let at = 0;
  return {
    steps,
    say(text, channel = 'voice') {
      const transcript = text === null ? null : { text, confidence: 0.9 };
      const understanding = text === null ? null : intents.match(text);
      const s = c.handle({ addressed: true, transcript, understanding, at, channel });
      if (s.execute) {
        c.executed(s, { outcome: 'succeeded', speech: 'done' });
      }
      c.replied(s, at + 10);
      at += 1_000;
      steps.push(s);
      return s;
    },
  };
}

const PIN = { dialogue: { second_factor: { connectors: { scada_dnp3: 'pin' }, pin_file: 'pin' } } };
const BREAKER = 'close breaker seven at substation twelve';

describe('a spoken PIN after "confirm"', () => {
  it('asks for it, takes a second try, runs on the right one, and marks PIN turns secret', () => {
    const t = conversation(PIN);
    expect(t.say(BREAKER).decision).toBe('confirmation_requested');
    expect(t.say('confirm')).toMatchObject({ reason: 'pin_required', reply: 'Say your PIN.',
      execute: null });
    const wrong = t.say('one two three four');
    expect(wrong).toMatchObject({ reason: 'pin_wrong', execute: null, secretInput: true });
    expect(wrong.reply).not.toMatch(/one|two|three|four|\d/);
    const right = t.say('four three two one');
    expect(right).toMatchObject({ decision: 'executed', reason: 'confirmed_with_pin',
      secretInput: true });
    expect(right.execute?.input).toEqual({ operation: 'close', breaker: 7, substation: 12 });
  });

  it('locks PIN actions after too many wrong PINs, before any read-back', () => {
    const t = conversation({ dialogue: { second_factor: {
      ...PIN.dialogue.second_factor, max_pin_attempts: 2 } } });
    t.say(BREAKER);
    t.say('confirm');
    t.say('one one one one');
    expect(t.say('two two two two')).toMatchObject({ decision: 'refused',
      reason: 'second_factor_locked', execute: null });
    expect(t.say(BREAKER)).toMatchObject({ decision: 'refused', reason: 'second_factor_locked' });
  });

  it('cancels on words that are no PIN, but an emergency stop still runs', () => {
    const t = conversation(PIN);
    t.say(BREAKER);
    t.say('confirm');
    expect(t.say('what is on my calendar today')).toMatchObject({ decision: 'cancelled',
      reason: 'pin_unclear', secretInput: true });
    t.say(BREAKER);
    t.say('confirm');
    expect(t.say('stop the robot').execute?.action).toBe('stop');
  });

  it('refuses before the read-back when no PIN is configured', () => {
    const t = conversation({ dialogue: { second_factor: { connectors: { scada_dnp3: 'pin' } } } });
    expect(t.say(BREAKER)).toMatchObject({ decision: 'refused',
      reason: 'second_factor_unavailable', execute: null });
  });

  it('is not asked of other connectors, or of actions below critical', () => {
    const t = conversation(PIN);
    t.say('send a message to mum saying call me back');
    expect(t.say('confirm')).toMatchObject({ decision: 'executed', reason: 'confirmed' });
  });
});

describe('voice switched off for critical actions', () => {
  it('refuses critical actions spoken, not typed, and never an emergency stop', () => {
    const t = conversation({ dialogue: { voice_critical_actions: false } });
    expect(t.say(BREAKER)).toMatchObject({ decision: 'refused', reason: 'voice_critical_off' });
    expect(t.say(BREAKER, 'text').decision).toBe('confirmation_requested');
    t.say('no', 'text');
    expect(t.say('stop the robot').execute?.action).toBe('stop');
  });

  it('can be set per connector, and phone approval fails closed', () => {
    const t = conversation({ dialogue: { second_factor: { connectors: {
      scada_dnp3: 'no_voice', binance: 'phone' } } } });
    expect(t.say(BREAKER).reason).toBe('voice_critical_off');
    expect(t.say('buy ten dollars of bitcoin', 'text')).toMatchObject({ decision: 'refused',
      reason: 'second_factor_unavailable' });
  });
});

describe('policy, before any confirmation', () => {
  const caps = {
    policy: { principals: { local: {
      allow: ['*'], contacts: ['mum'],
      caps: { 'banking_plaid.payment': { per_action: { GBP: 400 }, per_day: { GBP: 500 } } },
    } } },
  };

  it('refuses a payment above the cap, naming the rule, without asking to confirm', () => {
    const s = conversation(caps).say('pay alice five hundred pounds');
    expect(s).toMatchObject({ decision: 'refused', reason: 'policy.amount_cap.per_action',
      execute: null, asks: false });
    expect(s.reply).toMatch(/cap/);
  });

  it('refuses a message to a contact outside the allowlist', () => {
    const s = conversation(caps).say('send a message to bob saying call me back');
    expect(s).toMatchObject({ decision: 'refused', reason: 'policy.allowlist.contact' });
  });

  it('counts what ran toward the daily cap', () => {
    const t = conversation(caps);
    t.say('pay alice three hundred pounds');
    expect(t.say('confirm').execute).not.toBeNull();
    expect(t.say('pay alice three hundred pounds')).toMatchObject({ decision: 'refused',
      reason: 'policy.amount_cap.per_day' });
  });

  it('checks again at "confirm" (the hour may have turned)', () => {
    let now = new Date('2026-12-07T21:59:00Z');
    const t = conversation({ policy: { principals: { local: { allow: ['*'],
      critical_refused_hours: [{ from: '22:00', to: '06:00' }] } } } }, () => now);
    expect(t.say(BREAKER).decision).toBe('confirmation_requested');
    now = new Date('2026-12-07T22:01:00Z');
    expect(t.say('confirm')).toMatchObject({ decision: 'refused', reason: 'policy.hours.critical',
      execute: null });
  });
});

describe('the confirmation phrase', () => {
  it('confirms only with the configured phrase', () => {
    const t = conversation({ dialogue: { confirmation_phrase: 'confirmed' } });
    expect(t.say(BREAKER).reply).toMatch(/Say confirmed to proceed\.$/);
    expect(t.say('confirm')).toMatchObject({ decision: 'cancelled', reason: 'not_the_phrase' });
    t.say(BREAKER);
    expect(t.say('yes i confirm').decision).toBe('cancelled');
    t.say(BREAKER);
    expect(t.say('confirmed').execute).not.toBeNull();
  });
});
