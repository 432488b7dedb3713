/**
 * scada_modbus_write above the wire: Modbus points in [points], the routing of a breaker
 * command by its point's protocol (before read-back, policy and confirmation), the write's
 * input, and the Modbus TCP framing of the stream port.
 */
import { PassThrough, Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { scadaModbusManifest } from '../../src/connectors/manifests.js';
import { createConnectors } from '../../src/connectors/registry.js';
import { routeAction } from '../../src/connectors/routing.js';
import { modbusPlan } from '../../src/connectors/scada_modbus_write/plan.js';
import { crc16Modbus, mbapFrame, StreamPort } from '../../src/connectors/scada_modbus_write/port.js';
import { inputOf } from '../../src/connectors/scada_modbus_write/worker.js';
import { Conversation, type TurnInput } from '../../src/dialogue/conversation.js';
import { GatewayError } from '../../src/errors.js';
import type { IntentMatch, IntentSet, Understanding } from '../../src/nlu/types.js';

const COIL = { protocol: 'modbus', host: '127.0.0.1', port: 1502, unit_id: 1, kind: 'coil',
  address: 7 };
const REGISTER = { protocol: 'modbus', host: '10.0.0.5', port: 502, unit_id: 3,
  kind: 'holding_register', address: 40, close_value: 2, open_value: 1 };
const DNP3 = { protocol: 'dnp3', host: '127.0.0.1', port: 20000, address: 4, index: 3,
  kind: 'crob' };
const POINTS = {
  'breaker 7 at substation 12': COIL,
  'breaker 8 at substation 12': REGISTER,
  'breaker 3 at substation 4': DNP3,
};
const config = validateConfig({ points: POINTS }, 'test');

function configCode(points: unknown): string | null {
  try {
    validateConfig({ points }, 'test');
    return null;
  } catch (err) {
    return err instanceof GatewayError ? err.code : 'not a GatewayError';
  }
}

const CLOSE_7 = { operation: 'close', breaker: 7, substation: 12 };

describe('[points] with protocol = "modbus"', () => {
  it('takes a coil and a holding register with its two values', () => {
    expect(config.points['breaker 7 at substation 12']).toEqual(COIL);
    expect(config.points['breaker 8 at substation 12']).toEqual(REGISTER);
  });

  it.each([
    ['the DNP3 keys', { ...COIL, index: 7 }],
    ['a crob', { ...COIL, kind: 'crob' }],
    ['the old kind name "register"', { ...COIL, kind: 'register' }],
    ['no unit id', { ...COIL, unit_id: undefined }],
    ['a unit id above 255', { ...COIL, unit_id: 256 }],
    ['an address above 65535', { ...COIL, address: 65_536 }],
    ['a register without its open value', { ...REGISTER, open_value: undefined }],
    ['a register whose two values are the same', { ...REGISTER, open_value: 2 }],
    ['a coil with values', { ...COIL, close_value: 1, open_value: 0 }],
  ])('refuses a Modbus point with %s', (_what, p) => {
    expect(configCode({ p })).toBe('GW_CONFIG_INVALID');
  });

  it('refuses a DNP3 point with Modbus keys', () => {
    expect(configCode({ p: { ...DNP3, unit_id: 1 } })).toBe('GW_CONFIG_INVALID');
  });
});

describe('routeAction', () => {
  it('sends a breaker on a Modbus coil to scada_modbus_write with the point resolved', () => {
    expect(routeAction(config, 'scada_dnp3.operate', CLOSE_7)).toEqual({
      kind: 'routed', connector: 'scada_modbus_write', action: 'write_point',
      input: { point: 'breaker 7 at substation 12', host: '127.0.0.1', port: 1502, unit_id: 1,
        kind: 'coil', address: 7, value: 1, state: 'closed' },
    });
    const open = routeAction(config, 'scada_dnp3.operate', { ...CLOSE_7, operation: 'open' });
    expect(open.kind === 'routed' && open.input).toMatchObject({ value: 0, state: 'open' });
  });

  it('writes a holding register with the configured value of the operation', () => {
    const slots = { operation: 'close', breaker: 8, substation: 12 };
    const close = routeAction(config, 'scada_dnp3.operate', slots);
    expect(close.kind === 'routed' && close.input).toMatchObject({ kind: 'holding_register',
      address: 40, unit_id: 3, value: 2, state: 'closed' });
    const open = routeAction(config, 'scada_dnp3.operate', { ...slots, operation: 'open' });
    expect(open.kind === 'routed' && open.input).toMatchObject({ value: 1, state: 'open' });
  });

  it('keeps a breaker on a DNP3 point at scada_dnp3.operate with its slots', () => {
    const slots = { operation: 'open', breaker: 3, substation: 4 };
    expect(routeAction(config, 'scada_dnp3.operate', slots)).toEqual({
      kind: 'routed', connector: 'scada_dnp3', action: 'operate', input: null });
  });

  it('refuses a breaker that no point names, saying which', () => {
    const r = routeAction(config, 'scada_dnp3.operate', { ...CLOSE_7, breaker: 9 });
    expect(r).toEqual({ kind: 'refused', reason: 'point_not_configured',
      speech: 'I did not do it: breaker nine at substation twelve is not configured.' });
    expect(routeAction(validateConfig({}, 'test'), 'scada_dnp3.operate', CLOSE_7).kind)
      .toBe('refused');
  });

  it('passes other actions through unchanged', () => {
    expect(routeAction(config, 'calendar.agenda', { day: 'today' })).toEqual({
      kind: 'routed', connector: 'calendar', action: 'agenda', input: null });
  });

  it('gives input that the manifest and the worker both accept', () => {
    const r = routeAction(config, 'scada_dnp3.operate', CLOSE_7);
    const input = r.kind === 'routed' ? r.input : null;
    expect(scadaModbusManifest.actions.write_point?.input.safeParse(input).success).toBe(true);
    expect(inputOf(input)).toEqual(input);
    expect(scadaModbusManifest.actions.write_point?.input
      .safeParse({ ...input, value: 2 }).success).toBe(false); // a coil is 0 or 1
    expect(() => inputOf({ ...input, extra: 1 })).toThrow(GatewayError);
    expect(() => inputOf({ ...input, kind: 'crob' })).toThrow(GatewayError);
  });
});

describe('modbusPlan', () => {
  it('lets the broker open only the configured Modbus devices', () => {
    expect(modbusPlan(config).endpoints).toEqual([
      { host: '127.0.0.1', port: 1502 }, { host: '10.0.0.5', port: 502 }]);
    expect(modbusPlan(config).secrets).toEqual({});
  });

  it('is not set up without a Modbus point', () => {
    expect(() => modbusPlan(validateConfig({ points: { d: DNP3 } }, 'test')))
      .toThrow(/no Modbus point/);
  });
});

// The dialogue with the real routing and manifests, and a fake understanding.
const TABLE: Record<string, IntentMatch> = {
  close7: { kind: 'intent', intent: 'scada.breaker_operate', action: 'scada_dnp3.operate',
    slots: CLOSE_7 },
  close9: { kind: 'intent', intent: 'scada.breaker_operate', action: 'scada_dnp3.operate',
    slots: { ...CLOSE_7, breaker: 9 } },
  confirm: { kind: 'intent', intent: 'system.confirm', action: null, slots: {} },
};
const intents: IntentSet = {
  language: 'en',
  intents: [{ name: 'scada.breaker_operate', action: 'scada_dnp3.operate',
    readback: '{operation} breaker {breaker} at substation {substation}.', response: null }],
  match: (text): Understanding => TABLE[text] ?? { kind: 'not_understood', reason: 'no_match' },
  matchAnswer: (): Understanding => ({ kind: 'not_understood', reason: 'no_match' }),
  slotOutside: () => null,
  jsgf: () => '',
  vocabulary: () => [],
  render: (t, slots) => t.replace(/\{(\w+)\}/g, (_, k: string) => String(slots[k])),
};

function said(text: string, at: number): TurnInput {
  return { addressed: true, transcript: { text, confidence: 0.9 },
    understanding: intents.match(text), at, channel: 'text' };
}

describe('the dialogue with routed breakers', () => {
  const registry = createConnectors(config, '.');

  it('reads back, confirms and runs the routed Modbus write, critical', () => {
    const c = new Conversation(config, intents, registry);
    const ask = c.handle(said('close7', 0));
    expect(ask).toMatchObject({ decision: 'confirmation_requested',
      action: 'scada_modbus_write.write_point', tier: 'critical' });
    expect(ask.reply).toBe('close breaker 7 at substation 12. Say confirm to proceed.');
    c.replied(ask, 1_000);
    const run = c.handle(said('confirm', 2_000));
    expect(run.execute).toEqual({ connector: 'scada_modbus_write', action: 'write_point',
      confirmed: true, input: { point: 'breaker 7 at substation 12', host: '127.0.0.1',
        port: 1502, unit_id: 1, kind: 'coil', address: 7, value: 1, state: 'closed' } });
    // The confirmation is used up: a second "confirm" runs nothing.
    c.replied(run, 3_000);
    const again = c.handle(said('confirm', 4_000));
    expect(again.execute).toBeNull();
    expect(again.reason).toBe('nothing_pending');
  });

  it('refuses an unconfigured breaker before any read-back', () => {
    const c = new Conversation(config, intents, registry);
    const s = c.handle(said('close9', 0));
    expect(s).toMatchObject({ decision: 'refused', reason: 'point_not_configured',
      execute: null, asks: false });
    expect(c.pendingAction).toBeNull();
  });

  it('lets policy see the routed connector', () => {
    const denied = validateConfig({ points: POINTS, policy: { principals: { local: {
      allow: ['*'], deny: ['scada_modbus_write.*'] } } } }, 'test');
    const c = new Conversation(denied, intents, createConnectors(denied, '.'));
    expect(c.handle(said('close7', 0))).toMatchObject({ decision: 'refused',
      reason: 'policy.action.denied', action: 'scada_modbus_write.write_point' });
  });
});

describe('StreamPort (Modbus TCP framing for modbus-serial)', () => {
  it('computes CRC-16/MODBUS (check value of "123456789" is 0x4B37)', () => {
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37);
  });

  it('sends an RTU frame as MBAP + unit id + PDU, without the CRC', () => {
    const rtu = Buffer.from([0x01, 0x05, 0x00, 0x07, 0xff, 0x00, 0x3d, 0xfb]);
    expect([...mbapFrame(0x1234, rtu)]).toEqual(
      [0x12, 0x34, 0, 0, 0, 6, 0x01, 0x05, 0x00, 0x07, 0xff, 0x00]);
  });

  it('hands an answer split across chunks to the client as an RTU frame, with its id', () => {
    const wire = new PassThrough();
    const fromDevice = new PassThrough();
    const port = new StreamPort(Duplex.from({ readable: fromDevice, writable: wire }));
    const frames: Buffer[] = [];
    port.on('data', (b: Buffer) => frames.push(b));
    const answer = Buffer.from([0x00, 0x09, 0, 0, 0, 6, 0x01, 0x05, 0x00, 0x07, 0xff, 0x00]);
    fromDevice.write(answer.subarray(0, 5));
    fromDevice.write(answer.subarray(5));
    return new Promise<void>((resolve) => setImmediate(() => {
      expect(frames).toHaveLength(1);
      const f = frames[0] ?? Buffer.alloc(0);
      expect([...f.subarray(0, 6)]).toEqual([0x01, 0x05, 0x00, 0x07, 0xff, 0x00]);
      expect(f.readUInt16LE(6)).toBe(crc16Modbus(f.subarray(0, 6)));
      expect(port._transactionIdRead).toBe(9);
      resolve();
    }));
  });

  it('closes on a header that is not Modbus TCP', () => {
    const fromDevice = new PassThrough();
    const port = new StreamPort(Duplex.from({ readable: fromDevice, writable: new PassThrough() }));
    const errors: Error[] = [];
    port.on('error', (e: Error) => errors.push(e));
    fromDevice.write(Buffer.from([0, 1, 0, 7, 0, 6, 1, 5, 0, 7, 0xff, 0]));
    return new Promise<void>((resolve) => setImmediate(() => {
      expect(errors[0]?.message).toMatch(/malformed Modbus TCP header/);
      expect(port.isOpen).toBe(false);
      resolve();
    }));
  });
});
