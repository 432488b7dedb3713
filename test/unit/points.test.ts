import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { pointKey, resolvePoint } from '../../src/connectors/points.js';
import { GatewayError } from '../../src/errors.js';

const BREAKER = {
  protocol: 'dnp3', host: '127.0.0.1', port: 20000, address: 12, index: 7, kind: 'crob',
};
const PUMP = {
  protocol: 'modbus', host: '127.0.0.1', port: 502, unit_id: 1, kind: 'coil', address: 0,
};

const config = validateConfig({
  points: { 'breaker 7 at substation 12': BREAKER, 'pump 1': PUMP },
}, 'test');

function configCode(points: unknown): string | null {
  try {
    validateConfig({ points }, 'test');
    return null;
  } catch (err) {
    return err instanceof GatewayError ? err.code : 'not a GatewayError';
  }
}

describe('[points] configuration', () => {
  it('has no points by default', () => {
    expect(validateConfig({}, 'test').points).toEqual({});
  });

  it('accepts the examples that config/gateway.toml documents', async () => {
    // Guards against the documented example drifting from the schema.
    const text = await readFile(join(import.meta.dirname, '../../config/gateway.toml'), 'utf8');
    const start = text.indexOf('# [points.');
    expect(start).toBeGreaterThan(0);
    const example = text.slice(start).split('\n')
      .map((line) => line.replace(/^# ?/, '')).join('\n');
    const points = validateConfig(parseToml(example), 'example').points;
    expect(Object.keys(points)).toEqual(['breaker 7 at substation 12', 'pump 1']);
    expect(points['breaker 7 at substation 12']).toEqual(BREAKER);
  });

  it.each([
    ['an unknown key', { p: { ...BREAKER, unit: 3 } }],
    ['a missing port', { p: { ...BREAKER, port: undefined } }],
    ['a protocol that is not dnp3 or modbus', { p: { ...BREAKER, protocol: 'iec104' } }],
    ['a dnp3 point that is a coil', { p: { ...BREAKER, kind: 'coil' } }],
    ['a modbus point that is a crob', { p: { ...PUMP, kind: 'crob' } }],
    ['a modbus unit id above 255', { p: { ...PUMP, unit_id: 256 } }],
    ['a port of 0', { p: { ...PUMP, port: 0 } }],
    ['a fractional index', { p: { ...BREAKER, index: 1.5 } }],
    ['a fractional modbus address', { p: { ...PUMP, address: 1.5 } }],
    ['a name with capitals', { 'Pump 1': PUMP }],
    ['a name with two spaces', { 'pump  1': PUMP }],
    ['an empty name', { '': PUMP }],
  ])('refuses a point with %s', (_what, points) => {
    expect(configCode(points)).toBe('GW_CONFIG_INVALID');
  });
});

describe('pointKey', () => {
  it('names a breaker by its number and substation, in digits', () => {
    expect(pointKey({ operation: 'close', breaker: 7, substation: 12 }))
      .toBe('breaker 7 at substation 12');
  });

  it('names a Modbus point by its canonical value with spaces', () => {
    expect(pointKey({ point: 'pump_1', state: 'on' })).toBe('pump 1');
    expect(pointKey({ point: 'main_valve' })).toBe('main valve');
  });

  it('names nothing when the slots hold no point', () => {
    expect(pointKey({})).toBeNull();
    expect(pointKey({ breaker: 7 })).toBeNull();
    expect(pointKey({ breaker: '7', substation: '12' })).toBeNull();
    expect(pointKey({ breaker: -7, substation: 12 })).toBeNull();
    expect(pointKey({ point: 'Pump 1' })).toBeNull();
  });
});

describe('resolvePoint', () => {
  it('finds the device of a breaker from the slots of a breaker command', () => {
    const p = resolvePoint(config, { operation: 'open', breaker: 7, substation: 12 }, 'dnp3');
    expect(p).toEqual({ key: 'breaker 7 at substation 12', ...BREAKER });
  });

  it('finds a point by a ready key', () => {
    expect(resolvePoint(config, 'pump 1')).toEqual({ key: 'pump 1', ...PUMP });
  });

  it('returns null for a point that is not configured', () => {
    expect(resolvePoint(config, { breaker: 8, substation: 12 })).toBeNull();
    expect(resolvePoint(config, { point: 'main_valve' })).toBeNull();
    expect(resolvePoint(config, {})).toBeNull();
  });

  it('returns null when the point speaks another protocol than the one asked for', () => {
    expect(resolvePoint(config, { point: 'pump_1' }, 'dnp3')).toBeNull();
    expect(resolvePoint(config, { breaker: 7, substation: 12 }, 'modbus')).toBeNull();
  });

  it('never takes a name that only the object prototype has for a point', () => {
    for (const key of ['constructor', 'toString', '__proto__']) {
      expect(resolvePoint(config, key)).toBeNull();
    }
  });
});
