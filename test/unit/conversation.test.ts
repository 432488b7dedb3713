import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import {
  calendarManifest, ros2Manifest, scadaDnp3Manifest,
} from '../../src/connectors/manifests.js';
import type { RegisteredConnector } from '../../src/connectors/types.js';
import { Conversation, type TurnInput } from '../../src/dialogue/conversation.js';
import type { IntentMatch, IntentSet, Understanding } from '../../src/nlu/types.js';
import { TEST_POINTS } from '../support/points.js';

// A fake IntentSet: the dialogue is logic above the understanding interface.
const TABLE: Record<string, IntentMatch> = {
  'close breaker seven at substation twelve': {
    kind: 'intent', intent: 'scada.breaker_operate', action: 'scada_dnp3.operate',
    slots: { operation: 'close', breaker: 7, substation: 12 },
  },
  'open breaker three at substation four': {
    kind: 'intent', intent: 'scada.breaker_operate', action: 'scada_dnp3.operate',
    slots: { operation: 'open', breaker: 3, substation: 4 },
  },
  "what's on my calendar tomorrow": {
    kind: 'intent', intent: 'calendar.agenda', action: 'calendar.agenda', slots: { day: 'tomorrow' },
  },
  confirm: { kind: 'intent', intent: 'system.confirm', action: null, slots: {} },
  repeat: { kind: 'intent', intent: 'system.repeat', action: null, slots: {} },
  stop: { kind: 'intent', intent: 'system.stop', action: null, slots: {} },
  'stop the robot': {
    kind: 'intent', intent: 'robot.stop', action: 'ros2_dangerous_actions.stop', slots: {},
  },
  no: { kind: 'intent', intent: 'system.deny', action: null, slots: {} },
};

const intents: IntentSet = {
  language: 'en',
  intents: [{
    name: 'scada.breaker_operate', action: 'scada_dnp3.operate',
    readback: '{operation} breaker {breaker} at substation {substation}.', response: null,
  }],
  match: (text): Understanding => {
    if (text === 'close breaker two hundred at substation twelve') {
      const detail = { slot: 'breaker', min: 1, max: 99 };
      return { kind: 'not_understood', reason: 'out_of_range', detail } as Understanding;
    }
    return TABLE[text] ?? { kind: 'not_understood', reason: 'no_match' };
  },
  matchAnswer: (): Understanding => ({ kind: 'not_understood', reason: 'no_match' }),
  slotOutside: () => null,
  jsgf: () => '',
  vocabulary: () => [],
  render: (t, slots) => t.replace(/\{(\w+)\}/g, (_, k: string) => String(slots[k])),
};

const connectors = new Map<string, RegisteredConnector>([
  ['calendar', { manifest: calendarManifest, implementation: null }],
  ['scada_dnp3', { manifest: scadaDnp3Manifest, implementation: null }],
  ['ros2_dangerous_actions', { manifest: ros2Manifest, implementation: null }],
]);

function conversation(toml: Record<string, unknown> = {}): Conversation {
  return new Conversation(validateConfig({ points: TEST_POINTS, ...toml }, 'test'), intents,
    connectors);
}

function said(text: string, at: number, confidence: number | null = 0.9): TurnInput {
  return { addressed: true, transcript: { text, confidence }, understanding: intents.match(text), at };
}

describe('conversation', () => {
  it('reads a critical action back with its numbers and asks for confirmation', () => {
    const c = conversation();
    const s = c.handle(said('close breaker seven at substation twelve', 0));
    expect(s.decision).toBe('confirmation_requested');
    expect(s.tier).toBe('critical');
    expect(s.reply).toBe('close breaker 7 at substation 12. Say confirm to proceed.');
    expect(s.execute).toBeNull();
    expect(s.asks).toBe(true);
  });

  it('runs exactly the action it read back when confirmed in the window', () => {
    const c = conversation();
    const ask = c.handle(said('close breaker seven at substation twelve', 0));
    c.replied(ask, 3_000);
    expect(c.inFollowUp(5_000)).toBe(true);
    const s = c.handle(said('confirm', 5_000));
    expect(s.decision).toBe('executed');
    expect(s.tier).toBe('critical');
    expect(s.execute).toEqual({
      connector: 'scada_dnp3', action: 'operate',
      input: { operation: 'close', breaker: 7, substation: 12 }, confirmed: true,
    });
  });

  it('cancels on "no", on a new command, on silence and on low confidence', () => {
    for (const [answer, reason] of [
      [said('no', 4_000), 'denied'],
      [said('open breaker three at substation four', 4_000), 'new_command'],
      [{ addressed: true, transcript: null, understanding: null, at: 4_000 }, 'no_answer'],
      [said('confirm', 4_000, 0.1), 'low_confidence'],
      [said('mumble', 4_000), 'unclear_answer'],
    ] as const) {
      const c = conversation();
      c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
      const s = c.handle(answer);
      expect(s.decision, reason).toBe('cancelled');
      expect(s.reason).toBe(reason);
      expect(s.execute).toBeNull();
    }
  });

  it('does not run a confirmation given after its window', () => {
    const c = conversation({ dialogue: { confirmation_window_ms: 5_000 } });
    c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
    const s = c.handle(said('confirm', 9_000));
    expect(s.execute).toBeNull();
    expect(s.decision).toBe('not_understood');
    expect(s.reason).toBe('nothing_pending');
  });

  it('understands confirm only while a confirmation is pending', () => {
    const s = conversation().handle(said('confirm', 0));
    expect(s.decision).toBe('not_understood');
    expect(s.execute).toBeNull();
  });

  it('ignores audio that was not addressed and keeps a pending confirmation', () => {
    const c = conversation();
    c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
    const ignored = c.handle({ ...said('confirm', 4_000), addressed: false });
    expect(ignored.decision).toBe('ignored');
    expect(c.handle(said('confirm', 5_000)).decision).toBe('executed');
  });

  it('answers safe actions without confirmation, and closes the follow-up window', () => {
    const c = conversation();
    const s = c.handle(said("what's on my calendar tomorrow", 0));
    expect(s.decision).toBe('answered');
    expect(s.tier).toBe('safe');
    expect(s.execute?.confirmed).toBe(false);
    c.replied(s, 2_000);
    expect(c.inFollowUp(3_000)).toBe(false);
  });

  it('does not act below the confidence threshold', () => {
    const s = conversation().handle(said("what's on my calendar tomorrow", 0, 0.2));
    expect(s.decision).toBe('not_understood');
    expect(s.reason).toBe('low_confidence');
    expect(s.execute).toBeNull();
  });

  it('raises a connector named in critical_connectors, never lowers it', () => {
    const s = conversation({ critical_connectors: ['calendar'] })
      .handle(said("what's on my calendar tomorrow", 0));
    expect(s.tier).toBe('critical');
    expect(s.decision).toBe('confirmation_requested');
  });
});

describe('conversation configuration', () => {
  it('refuses a confirmation phrase it could never hear as a confirmation', () => {
    // Guards against prompting "say yes to proceed" and then cancelling on "yes".
    expect(() => conversation({ dialogue: { confirmation_phrase: 'proceed' } }))
      .toThrow(expect.objectContaining({ code: 'GW_CONFIG_INVALID' }));
  });

  it('says "sorry" rather than nothing when speech was heard but not recognised', () => {
    const s = conversation().handle({
      addressed: true, transcript: { text: '', confidence: 0 }, understanding: null, at: 0,
    });
    expect(s.decision).toBe('not_understood');
    expect(s.reply).not.toBe('');
  });

  it('reads back every slot of an action that has no read-back template', () => {
    const s = conversation({ critical_connectors: ['calendar'] })
      .handle(said("what's on my calendar tomorrow", 0));
    expect(s.reply).toBe('Calendar agenda, day tomorrow. Say confirm to proceed.');
  });
});

describe('system intents and refusals', () => {
  it('refuses a value outside its range, speaking the range', () => {
    const s = conversation().handle(said('close breaker two hundred at substation twelve', 0));
    expect(s.decision).toBe('refused');
    expect(s.reason).toBe('out_of_range');
    expect(s.reply).toBe('Breaker must be from one to ninety nine.');
    expect(s.execute).toBeNull();
  });

  it('cancels a pending confirmation on an out-of-range command, saying the range', () => {
    const c = conversation();
    c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
    const s = c.handle(said('close breaker two hundred at substation twelve', 4_000));
    expect(s.decision).toBe('cancelled');
    expect(s.reply).toContain('Breaker must be from one to ninety nine.');
    expect(s.execute).toBeNull();
  });

  it('repeats a confirmation prompt and keeps it pending', () => {
    const c = conversation();
    const ask = c.handle(said('close breaker seven at substation twelve', 0));
    c.replied(ask, 3_000);
    const again = c.handle(said('repeat', 4_000));
    expect(again.reply).toBe(ask.reply);
    expect(again.execute).toBeNull();
    c.replied(again, 7_000);
    expect(c.handle(said('confirm', 8_000)).decision).toBe('executed');
  });

  it('stops its own speech on a bare "stop" and says nothing more', () => {
    const s = conversation().handle(said('stop', 0));
    expect(s.decision).toBe('answered');
    expect(s.reply).toBe('');
    expect(s.execute).toBeNull();
  });

  it('cancels a pending confirmation on "stop"', () => {
    const c = conversation();
    c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
    expect(c.handle(said('stop', 4_000)).decision).toBe('cancelled');
  });
});

describe('emergency stops', () => {
  it('runs "stop the robot" at once, without asking for confirmation', () => {
    const s = conversation().handle(said('stop the robot', 0));
    expect(s.tier).toBe('elevated');
    expect(s.decision).toBe('answered');
    expect(s.execute).toMatchObject({ connector: 'ros2_dangerous_actions', action: 'stop' });
  });

  it('runs an emergency stop even while another action awaits confirmation', () => {
    // Guards against "stop the robot" being taken as a new command that only cancels.
    const c = conversation();
    c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
    const s = c.handle(said('stop the robot', 4_000));
    expect(s.execute).toMatchObject({ connector: 'ros2_dangerous_actions', action: 'stop' });
    expect(c.handle(said('confirm', 5_000)).execute).toBeNull();
  });
});

describe('turn reports', () => {
  it('reports a repeat as a repeat, not as the action it repeats', () => {
    // Guards against "repeat" after a cancel showing the cancelled action as answered.
    const c = conversation();
    c.replied(c.handle(said('close breaker seven at substation twelve', 0)), 3_000);
    c.replied(c.handle(said('no', 4_000)), 5_000);
    const r = c.handle(said('repeat', 6_000));
    expect(r.action).toBeNull();
    expect(r.tier).toBeNull();
    expect(r.reason).toBe('repeated');
  });
});
