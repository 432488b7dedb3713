import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { MANIFESTS } from '../../src/connectors/manifests.js';
import type { RegisteredConnector } from '../../src/connectors/types.js';
import { Conversation, type DialogueStep } from '../../src/dialogue/conversation.js';
import { loadIntents } from '../../src/nlu/index.js';
import type { IntentSet } from '../../src/nlu/types.js';
import { TEST_POINTS } from '../support/points.js';

// The shipped intents with the dialogue: questions about commands not complete as said.
let intents: IntentSet;
const connectors = new Map<string, RegisteredConnector>(
  MANIFESTS.map((manifest) => [manifest.name, { manifest, implementation: null }]),
);

beforeAll(async () => {
  intents = await loadIntents(join(import.meta.dirname, '../../intents/en'));
});

/** Runs the texts as one conversation, each reply spoken at once; returns every step. */
function talk(...texts: (string | null)[]): DialogueStep[] {
  const c = new Conversation(validateConfig({ points: TEST_POINTS }, 'test'), intents, connectors);
  let at = 0;
  return texts.map((text) => {
    const transcript = text === null ? null : { text, confidence: 0.9 };
    const understanding = text === null ? null : intents.match(text);
    const s = c.handle({ addressed: true, transcript, understanding, at });
    c.replied(s, at + 10);
    at += 1_000;
    return s;
  });
}

describe('questions about a command left incomplete', () => {
  it('asks for each missing number in turn, then reads every slot back', () => {
    const [a, b, c] = talk('close the breaker', 'breaker seven', 'at substation twelve');
    expect(a).toMatchObject({ decision: 'clarification_requested', reason: 'missing_slot',
      reply: 'Which breaker? Say breaker and its number.', asks: true, execute: null });
    expect(b).toMatchObject({ decision: 'clarification_requested', reply: 'At which substation? Say substation and its number.' });
    expect(c?.decision).toBe('confirmation_requested');
    expect(c?.intent?.slots).toEqual({ operation: 'close', breaker: 7, substation: 12 });
    expect(c?.reply).toBe('Close breaker seven at substation twelve. Say confirm to proceed.');
  });

  it('runs nothing until the confirmation that follows the last answer', () => {
    const steps = talk('close breaker seven', 'substation twelve', 'confirm');
    expect(steps.slice(0, 2).map((s) => s.execute)).toEqual([null, null]);
    expect(steps[2]?.execute).toEqual({ connector: 'scada_dnp3', action: 'operate',
      input: { operation: 'close', breaker: 7, substation: 12 }, confirmed: true });
  });

  it('says the range for an answer outside it, and drops the question', () => {
    const [, b, c] = talk('close breaker seven', 'substation one hundred', 'substation twelve');
    expect(b).toMatchObject({ decision: 'refused', reason: 'out_of_range',
      reply: 'Substation must be from one to ninety nine.' });
    expect(c?.reason).toBe('no_match');
  });

  it('cancels on "no", on silence, on an unclear answer and on a negated answer', () => {
    for (const answer of ['no', null, 'confirm', 'tell me a joke']) {
      const [, b] = talk('close breaker seven', answer);
      expect(b?.decision, String(answer)).toBe('cancelled');
      expect(b?.execute).toBeNull();
    }
    const [, b] = talk('send a message to mum', "don't say i'm on my way");
    expect(b).toMatchObject({ decision: 'cancelled', reason: 'negated' });
  });

  it('takes a new command as a new command, and an emergency stop at once', () => {
    const [, b] = talk('close breaker seven', "what's on my calendar tomorrow");
    expect(b?.execute?.action).toBe('agenda');
    const [, stop] = talk('close breaker seven', 'stop the robot');
    expect(stop?.execute).toMatchObject({ connector: 'ros2_dangerous_actions', action: 'stop' });
  });

  it('repeats the question without dropping it', () => {
    const [, b, c] = talk('pay alice', 'say that again', 'fifty pounds');
    expect(b).toMatchObject({ reply: 'How much should I pay?', asks: true });
    expect(c?.intent?.slots).toEqual({ payee: 'alice', amount: { amount: 50, currency: 'GBP' } });
    expect(c?.decision).toBe('confirmation_requested');
  });
});

describe('which one?', () => {
  it('asks which when one name means two contacts, and takes the answer by name', () => {
    const [a, b] = talk("tell sam i'm on my way", 'sam patel');
    expect(a).toMatchObject({ decision: 'clarification_requested', reason: 'ambiguous',
      reply: 'Which contact: Sam taylor or Sam patel?', execute: null });
    expect(b?.decision).toBe('confirmation_requested');
    expect(b?.intent?.slots).toEqual({ contact: 'sam_patel', body: "i'm on my way" });
    // The read-back names the contact unambiguously.
    expect(b?.reply).toBe("Send sam patel the message: i'm on my way. Say confirm to proceed.");
  });

  it('takes the answer by position, and refuses a position not offered', () => {
    const [, b] = talk("tell sam i'm on my way", 'the first one');
    expect(b?.intent?.slots.contact).toBe('sam_taylor');
    const [, c] = talk("tell sam i'm on my way", 'the third one');
    expect(c).toMatchObject({ decision: 'cancelled', reason: 'not_offered' });
  });

  it('asks for the body after the contact is chosen', () => {
    const [, b, c] = talk('message sam', 'the second one', 'call me back');
    expect(b).toMatchObject({ reason: 'missing_slot' });
    expect(b?.reply).toMatch(/^What should the message say\? /);
    expect(c?.intent?.slots).toEqual({ contact: 'sam_patel', body: 'call me back' });
  });

  it('has nothing to choose from when no question is pending', () => {
    const [a] = talk('the second one');
    expect(a).toMatchObject({ decision: 'not_understood', reason: 'nothing_pending' });
  });
});

describe('two commands in one sentence', () => {
  it('refuses both rather than doing half', () => {
    const [a] = talk('close breaker seven at substation twelve and open breaker eight at ' +
      'substation twelve');
    expect(a).toMatchObject({ decision: 'refused', reason: 'multiple_commands', execute: null });
    expect(a?.reply).toMatch(/one thing at a time/);
  });

  it('still runs an emergency stop said with something else', () => {
    for (const text of ['send the robot to the charger and stop the robot',
      'stop the robot and send it to the charger']) {
      const [a] = talk(text);
      expect(a?.execute, text).toMatchObject({ action: 'stop', confirmed: false });
    }
  });
});

describe('dictation offline', () => {
  it('offers the short replies when the body is asked for by voice, and says why it stops',
    () => {
      const [a, b] = talk('send a message to mum', 'the pump on line two is leaking');
      expect(a?.reply).toMatch(/^What should the message say\? Offline, I can send: i'm on my /);
      expect(b).toMatchObject({ decision: 'cancelled', reason: 'dictation_offline',
        execute: null });
      expect(b?.reply).toMatch(/^Offline, I can only send one of these: .* Nothing was sent\.$/);
    });
});

describe('a command said where an answer was expected', () => {
  it('is a new command, not a message body', () => {
    const [, b] = talk('message alice', 'close breaker seven at substation twelve');
    expect(b?.decision).toBe('confirmation_requested');
    expect(b?.intent?.intent).toBe('scada.breaker_operate');
  });
});
