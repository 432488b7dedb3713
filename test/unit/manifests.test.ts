import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { validateConfig } from '../../src/config/load.js';
import { MANIFESTS, scadaDnp3Manifest } from '../../src/connectors/manifests.js';
import { createConnectors, validateManifests } from '../../src/connectors/registry.js';
import { ROUTE_TARGETS } from '../../src/connectors/routing.js';
import type { ConnectorManifest, RegisteredConnector } from '../../src/connectors/types.js';
import { Conversation } from '../../src/dialogue/conversation.js';
import { GatewayError } from '../../src/errors.js';
import { loadIntents, type IntentMatch, type IntentSet } from '../../src/nlu/index.js';
import { TEST_POINTS } from '../support/points.js';

const ROOT = join(import.meta.dirname, '../..');
const INTENTS = join(ROOT, 'intents/en');
let set: IntentSet;
let registry: Map<string, RegisteredConnector>;

/** Every sentence of intents/en/tests/*.yaml that names an intent, matched. */
let examples: IntentMatch[];

beforeAll(async () => {
  set = await loadIntents(INTENTS);
  registry = createConnectors(validateConfig({}, 'test'), ROOT);
  examples = [];
  const dir = join(INTENTS, 'tests');
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    const doc = parse(await readFile(join(dir, file), 'utf8')) as {
      tests: { sentences: string[]; intent?: string }[];
    };
    for (const c of doc.tests) {
      for (const s of c.intent ? c.sentences : []) {
        const u = set.match(s);
        // Whether each sentence matches is the sentence runner's test; here only shapes.
        if (u.kind !== 'intent' || u.intent !== c.intent) continue;
        // A command with a slot left out is asked about (multi-turn), never run as said.
        const asks = set.intents.find((i) => i.name === u.intent)?.ask ?? {};
        if (Object.keys(asks).every((k) => k in u.slots)) examples.push(u);
      }
    }
  }
});

function spec(action: string) {
  const [connector = '', name = ''] = action.split('.');
  return registry.get(connector)?.manifest.actions[name];
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof GatewayError ? err.code : 'not a GatewayError';
  }
}

describe('connector manifests', () => {
  it('declares every action of the original guide in the tier it deserves', () => {
    const tiers = Object.fromEntries(MANIFESTS.flatMap((m) =>
      Object.entries(m.actions).map(([a, s]) => [`${m.name}.${a}`, s.tier])));
    expect(tiers).toEqual({
      'calendar.agenda': 'safe',
      'calendar.next_meeting': 'safe',
      'scada_dnp3.operate': 'critical',
      'scada_dnp3.status': 'safe',
      'smart_car_fleet.lock': 'critical',
      'smart_car_fleet.unlock': 'critical',
      'smart_car_fleet.location': 'elevated',
      'smart_car_fleet.set_temperature': 'dangerous',
      'ros2_dangerous_actions.move_to': 'critical',
      'ros2_dangerous_actions.stop': 'elevated',
      'scada_modbus_write.write': 'critical',
      'scada_modbus_write.read': 'safe',
      'scada_modbus_write.write_point': 'critical',
      'binance.price': 'safe',
      'binance.order': 'critical',
      'banking_plaid.balance': 'elevated',
      'banking_plaid.payment': 'critical',
      'banking_plaid.transfer': 'critical',
      'messaging.send': 'dangerous',
    });
  });

  it('marks only the robot stop as an emergency stop', () => {
    const stops = MANIFESTS.flatMap((m) => Object.entries(m.actions)
      .filter(([, s]) => s.emergencyStop === true).map(([a]) => `${m.name}.${a}`));
    expect(stops).toEqual(['ros2_dangerous_actions.stop']);
  });

  it('registers every manifest, each implementation under its own manifest', () => {
    expect([...registry.keys()]).toEqual(MANIFESTS.map((m) => m.name));
    const built = [...registry].filter(([, r]) => r.implementation).map(([n]) => n);
    // Connectors gain implementations one by one; these two are in process.
    expect(built).toEqual(expect.arrayContaining(['calendar', 'scada_dnp3']));
    for (const [, r] of registry) {
      if (r.implementation) expect(r.implementation.manifest).toBe(r.manifest);
    }
  });

  it('gives every intent action an existing connector action', () => {
    const actions = set.intents.map((i) => i.action).filter((a): a is string => a !== null);
    expect(actions.length).toBeGreaterThanOrEqual(13);
    expect(actions.filter((a) => !spec(a))).toEqual([]);
  });

  it('reaches every car, robot and Modbus action by some intent', () => {
    // Breaker commands reach their connector through routing (src/connectors/routing.ts).
    const reached = new Set([...set.intents.map((i) => i.action), ...ROUTE_TARGETS]);
    const missing = MANIFESTS
      .filter((m) => ['smart_car_fleet', 'ros2_dangerous_actions', 'scada_modbus_write']
        .includes(m.name))
      .flatMap((m) => Object.keys(m.actions).map((a) => `${m.name}.${a}`))
      .filter((a) => !reached.has(a));
    expect(missing).toEqual([]);
  });

  it('accepts the slots of every example sentence in its action input schema', () => {
    expect(examples.length).toBeGreaterThan(30);
    for (const u of examples) {
      if (!u.action) continue;
      const parsed = spec(u.action)?.input.safeParse(u.slots);
      expect(parsed?.success, `${u.intent} ${JSON.stringify(u.slots)}`).toBe(true);
    }
  });

  it('reads back every slot, in words, for every action that waits for a confirmation', () => {
    let checked = 0;
    for (const u of examples) {
      const s = u.action ? spec(u.action) : undefined;
      const tier = s?.tier;
      if (!s || s.emergencyStop || (tier !== 'dangerous' && tier !== 'critical')) continue;
      const readback = set.intents.find((i) => i.name === u.intent)?.readback;
      expect(readback, u.intent).toBeTruthy();
      for (const slot of Object.keys(u.slots)) expect(readback).toContain(`{${slot}}`);
      const said = set.render(readback ?? '', u.slots);
      expect(said, u.intent).not.toMatch(/[_{}]/);
      // Numbers are said in words (free text may hold digits of its own).
      for (const v of Object.values(u.slots)) {
        const n = typeof v === 'number' ? v : (v as { amount?: unknown }).amount;
        if (typeof n === 'number') expect(said, u.intent).not.toContain(String(n));
      }
      checked += 1;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('validateManifests', () => {
  const good: ConnectorManifest = {
    name: 'door', description: 'a door',
    actions: { open: { tier: 'dangerous', description: 'open it', input: z.strictObject({}) } },
  };
  const bad = (change: Record<string, unknown>): ConnectorManifest =>
    ({ ...good, ...change }) as unknown as ConnectorManifest;
  const action = (change: Record<string, unknown>): ConnectorManifest =>
    bad({ actions: { open: { ...good.actions.open, ...change } } });

  it('accepts every manifest of this build', () => {
    expect(() => validateManifests(MANIFESTS)).not.toThrow();
  });

  it.each([
    ['a tier that does not exist', action({ tier: 'harmless' })],
    ['an input that is not a zod schema', action({ input: { parse: () => ({}) } })],
    ['an emergency stop flag that is not a boolean', action({ emergencyStop: 'yes' })],
    ['an unknown key', action({ confirm: false })],
    ['a connector name that is not lower_snake_case', bad({ name: 'Smart-Car' })],
    ['an action name that is not lower_snake_case', bad({ actions: { 'Open Door': {} } })],
    ['no actions', bad({ actions: {} })],
    ['an empty description', bad({ description: '' })],
  ])('refuses a manifest with %s', (_what, manifest) => {
    expect(codeOf(() => validateManifests([manifest]))).toBe('GW_CONNECTOR_CONFIG');
  });

  it('refuses two manifests with one name', () => {
    const twin = { ...scadaDnp3Manifest, description: 'another' };
    expect(codeOf(() => validateManifests([scadaDnp3Manifest, twin])))
      .toBe('GW_CONNECTOR_CONFIG');
  });
});

describe('dialogue over the registered manifests', () => {
  const talk = (text: string, toml: Record<string, unknown> = {}) => {
    const c = new Conversation(validateConfig({ points: TEST_POINTS, ...toml }, 'test'), set,
      registry);
    const understanding = set.match(text);
    return c.handle({ addressed: true, transcript: { text, confidence: 0.9 }, understanding, at: 0 });
  };

  it('runs an emergency stop at once, without asking for a confirmation', () => {
    for (const text of ['stop the robot', 'emergency stop', 'robot stop']) {
      const s = talk(text);
      expect(s.decision, text).toBe('answered');
      expect(s.tier).toBe('elevated');
      expect(s.execute).toMatchObject({ connector: 'ros2_dangerous_actions', action: 'stop' });
    }
  });

  it('reads a robot move back with its place in words and waits for a confirmation', () => {
    const s = talk('send the robot to the loading dock');
    expect(s.decision).toBe('confirmation_requested');
    expect(s.reply).toBe('Move the robot to the loading dock. Say confirm to proceed.');
    expect(s.execute).toBeNull();
  });

  it('holds the car location for a confirmation only in paranoid mode', () => {
    expect(talk('where is my car').decision).toBe('answered');
    expect(talk('where is my car', { security_mode: 'paranoid' }).decision)
      .toBe('confirmation_requested');
  });
});
