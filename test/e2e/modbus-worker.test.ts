/**
 * The scada_modbus_write worker against a real Modbus TCP server (pymodbus, on loopback),
 * run in this process with a plain TCP connect standing in for the broker: every path of
 * the write and its read-back, without paying for a microVM boot per case. The microVM
 * path itself is test/e2e/modbus.test.ts.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connector } from '../../src/connectors/scada_modbus_write/worker.js';
import type { WriteInput } from '../../src/connectors/scada_modbus_write/schemas.js';
import type { SandboxContext } from '../../src/connectors/types.js';
import { GatewayError } from '../../src/errors.js';
import { ModbusServer } from '../servers/modbus-server.js';

let server: ModbusServer;
let stubborn: ModbusServer;

beforeAll(async () => {
  [server, stubborn] = await Promise.all([ModbusServer.start(),
    ModbusServer.start({ ignoreWrites: true })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), stubborn?.stop()]);
});

function ctx(settings: Record<string, unknown> = {}): SandboxContext & { connects: number } {
  const c = {
    now: new Date(), timeZone: 'UTC', principal: 'tester', signal: new AbortController().signal,
    secrets: {}, settings, idempotencyKey: 'k1', connects: 0,
    connect(host: string, port: number): Promise<Duplex> {
      c.connects += 1;
      return new Promise((resolve, reject) => {
        const s = net.connect(port, host);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    },
  };
  return c;
}

function coil(port: number, over: Partial<WriteInput> = {}): WriteInput {
  return { point: 'breaker 7 at substation 12', host: '127.0.0.1', port, unit_id: 1,
    kind: 'coil', address: 7, value: 1, state: 'closed', ...over };
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('scada_modbus_write worker (real pymodbus server)', () => {
  it('closes a breaker on a coil: one write, read back, said', async () => {
    await server.setCoil(7, false);
    const before = server.writes().length;
    const r = await connector.run('write_point', coil(server.port), ctx());
    expect(r.speech).toBe('Breaker 7 at substation 12 is closed.');
    expect(r.data).toEqual({ point: 'breaker 7 at substation 12', kind: 'coil', unit_id: 1,
      address: 7, written: 1, read_back: 1, state: 'closed' });
    expect(await server.coil(7)).toBe(true);
    expect(server.writes().slice(before)).toEqual(['write coil 7 = 1']);
  });

  it('opens it again (coil off)', async () => {
    const r = await connector.run('write_point',
      coil(server.port, { value: 0, state: 'open' }), ctx());
    expect(r.speech).toBe('Breaker 7 at substation 12 is open.');
    expect(await server.coil(7)).toBe(false);
  });

  it('sets a holding register (FC 6) and reads it back (FC 3)', async () => {
    const r = await connector.run('write_point', coil(server.port,
      { kind: 'holding_register', address: 3, value: 500 }), ctx());
    expect(r.data).toMatchObject({ kind: 'holding_register', written: 500, read_back: 500 });
    expect(await server.withClient(1, async (c) => (await c.readHoldingRegisters(3, 1)).data))
      .toEqual([500]);
  });

  it('fails with GW_READBACK_MISMATCH when the device keeps the old value, and never retries',
    async () => {
      const before = stubborn.writes().length;
      const c = ctx();
      const e = await failure(connector.run('write_point', coil(stubborn.port), c));
      expect(e.code).toBe('GW_READBACK_MISMATCH');
      expect(e.message).toBe('breaker 7 at substation 12 reads open after it was told to be ' +
        'closed');
      expect(stubborn.writes().slice(before)).toEqual(['write coil 7 = 1']);
      expect(c.connects).toBe(1);
    });

  it('says the device\'s exception code (illegal data address) as GW_REMOTE_REJECTED',
    async () => {
      const e = await failure(connector.run('write_point', coil(server.port, { address: 500 }),
        ctx()));
      expect(e.code).toBe('GW_REMOTE_REJECTED');
      expect(e.message).toBe('the device refused to set breaker 7 at substation 12: ' +
        'illegal data address (Modbus exception 2)');
    });

  it('calls an unanswered write GW_ACTION_TIMEOUT (outcome unknown), sent once', async () => {
    // pymodbus does not answer a unit id it does not serve.
    const c = ctx({ response_timeout_ms: 500 });
    const e = await failure(connector.run('write_point', coil(server.port, { unit_id: 9 }), c));
    expect(e.code).toBe('GW_ACTION_TIMEOUT');
    expect(e.message).toMatch(/did not answer the write .* whether it is closed is unknown/);
    expect(c.connects).toBe(1);
  });

  it('says an unreachable device as GW_REMOTE_UNAVAILABLE, nothing written', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await failure(connector.run('write_point', coil(port), ctx()));
    expect(e.code).toBe('GW_REMOTE_UNAVAILABLE');
    expect(e.message).toMatch(/cannot be reached .* nothing was written/);
  });

  it('refuses input that is not a resolved point, and other actions', async () => {
    expect((await failure(connector.run('write_point', { point: 'breaker 7' }, ctx()))).code)
      .toBe('GW_ACTION_INPUT_INVALID');
    expect((await failure(connector.run('read', coil(server.port), ctx()))).code)
      .toBe('GW_CONNECTOR_UNAVAILABLE');
  });
});
