import { describe, expect, it } from 'vitest';
import { numberToWords } from '../../src/nlu/index.js';
import { FIXTURES, audioOf, conversation, fixture, useRealEngines } from './harness.js';

/**
 * Fixtures the offline recogniser is known to mishear (espeak-ng voices against
 * the CMU Sphinx model). Each is still checked: the mishearing must fail safe.
 */
const MISHEARD: Record<string, string> = {
  'breaker_close_7_12__en-us+f3_150.wav': 'seven heard as ten: the read-back says ten',
};

const BREAKER = 'breaker_close_7_12__en-us_150.wav';

const engines = useRealEngines();

describe('spoken commands after the wake word, through the real engines', () => {
  const commands = FIXTURES.filter((f) => f.wake && f.expect.intent);

  it.each(commands.map((f) => [f.file, f] as const))('%s', async (file, f) => {
    const r = await conversation(engines()).runAudio(await audioOf(file), file);
    expect(r.wake?.keyword).toBe('hey_jarvis');
    expect(r.intent?.name).toBe(f.expect.intent);
    if (MISHEARD[file]) {
      // A misheard number must be read back as heard, so the person can say no.
      const slots = r.intent?.slots ?? {};
      for (const v of Object.values(slots)) {
        if (typeof v === 'number') expect(r.reply?.text).toContain(numberToWords(v));
      }
      // A breaker no point is configured for is refused before any read-back; a configured
      // one is read back as heard. Either way nothing runs.
      if (r.decision === 'refused') expect(r.reason).toBe('point_not_configured');
      else expect(r.decision).toBe('confirmation_requested');
      expect(r.outcome).toBeNull();
      return;
    }
    expect(r.intent?.slots).toEqual(f.expect.slots);
    expect(r.transcript?.confidence).toBeGreaterThanOrEqual(0.5);
    if (f.expect.intent?.startsWith('calendar.')) {
      expect(r.decision).toBe('answered');
      expect(r.outcome).toBe('succeeded');
      expect(r.tier).toBe('safe');
    } else {
      expect(r.decision).toBe('confirmation_requested');
      expect(r.tier).toBe('critical');
      expect(r.outcome).toBeNull();
    }
  });

  it('answers "what\'s on my calendar tomorrow" with the fixture calendar\'s events', async () => {
    const r = await conversation(engines()).runAudio(
      await audioOf('calendar_tomorrow__en-us_150.wav'), 'calendar');
    expect(r.reply?.text).toMatch(/^Tomorrow you have 3 events: stand-up at 9:30 AM, dentist at 3 PM/);
  });

  it('reads both numbers of the breaker command back in words', async () => {
    const r = await conversation(engines()).runAudio(await audioOf(BREAKER), BREAKER);
    expect(r.reply?.text).toBe('Close breaker seven at substation twelve. Say confirm to proceed.');
    expect(r.intent?.slots).toEqual({ operation: 'close', breaker: 7, substation: 12 });
  });
});

describe('answers to a confirmation, without the wake word', () => {
  const answers = FIXTURES.filter((f) => !f.wake && f.expect.intent?.startsWith('system.'));

  it.each(answers.map((f) => [f.file, f] as const))('%s', async (file, f) => {
    const c = conversation(engines());
    const ask = await c.runAudio(await audioOf(BREAKER), BREAKER);
    expect(ask.decision).toBe('confirmation_requested');
    const r = await c.runAudio(await audioOf(file), file);
    expect(r.wake).toBeNull();
    expect(r.action).toBe('scada_dnp3.operate');
    expect(r.tier).toBe('critical');
    if (f.expect.intent === 'system.confirm' && !MISHEARD[file]) {
      // Confirmed, but the microVM tier does not exist yet: refused, never run weaker.
      expect(r.intent?.name).toBe('system.confirm');
      expect(r.decision).toBe('refused');
      expect(r.outcome).toBe('refused');
      expect(r.error?.code).toBe('GW_TIER_UNAVAILABLE');
    } else {
      expect(r.decision).toBe('cancelled');
      expect(r.outcome).toBeNull();
    }
  });

  it('cancels on silence, then needs the wake word again once the window has passed', async () => {
    const c = conversation(engines(), { dialogue: { follow_up_window_ms: 1_000 } });
    await c.runAudio(await audioOf(BREAKER), BREAKER);
    const pause = await c.runAudio(new Int16Array(16_000 * 5), 'five seconds of silence');
    expect(pause.decision).toBe('cancelled');
    expect(pause.reason).toBe('no_answer');
    const late = await c.runAudio(await audioOf('followup_confirm__en-us+f3_185.wav'), 'late');
    expect(late.decision).toBe('ignored');
    expect(late.reason).toBe('no_wake_word');
    expect(late.outcome).toBeNull();
  });
});

describe('audio that must not act', () => {
  it.each(FIXTURES.filter((f) => !f.wake && !f.expect.intent).map((f) => [f.file]))(
    'ignores %s, which has no wake word', async (file) => {
      const r = await conversation(engines()).runAudio(await audioOf(file), file);
      expect(r.decision).toBe('ignored');
      expect(r.reason).toBe('no_wake_word');
      expect(r.transcript).toBeNull();
    });

  it('returns to idle after a wake word followed by silence, and the next wake word works', async () => {
    const c = conversation(engines());
    const silent = fixture('wake_silence__en-us_150.wav');
    const r = await c.runAudio(await audioOf(silent.file), silent.file);
    expect(r.wake).not.toBeNull();
    expect(r.decision).toBe('ignored');
    expect(r.reason).toBe('no_speech');
    const next = await c.runAudio(await audioOf('calendar_next__en_150.wav'), 'next');
    expect(next.intent?.name).toBe('calendar.next');
    expect(next.decision).toBe('answered');
  });

  it('with the wake word turned off (push-to-talk), every utterance is addressed', async () => {
    const c = conversation({ ...engines(), wake: null });
    const file = 'no_wake_breaker__en-us_150.wav';
    const r = await c.runAudio(await audioOf(file), file);
    expect(r.wake).toBeNull();
    expect(r.intent?.name).toBe('scada.breaker_operate');
    // The first utterance has nothing before it to adapt to, and the number may be misheard
    // (README, "What is not done yet"); whatever was heard is what is read back, or refused
    // as a breaker with no configured point.
    expect(r.outcome).toBeNull();
    if (r.decision === 'refused') expect(r.reason).toBe('point_not_configured');
    else expect(r.decision).toBe('confirmation_requested');
    const { breaker, substation } = r.intent?.slots as { breaker: number; substation: number };
    expect(r.reply?.text).toContain(`breaker ${numberToWords(breaker)} at substation ${numberToWords(substation)}`);
  });

  it.each([['wake_unrelated__en-us+f3_150.wav'], ['wake_unrelated__en_185.wav']])(
    'does not act on unrelated speech after the wake word (%s)', async (file) => {
      const r = await conversation(engines()).runAudio(await audioOf(file), file);
      expect(r.wake).not.toBeNull();
      expect(r.transcript?.confidence).toBeLessThan(0.5);
      expect(r.decision).toBe('not_understood');
      expect(r.outcome).toBeNull();
    });
});
