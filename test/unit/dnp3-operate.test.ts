import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig, type GatewayConfig } from '../../src/config/load.js';
import { createScadaDnp3Connector } from '../../src/connectors/scada_dnp3/connector.js';
import {
  OperateLedger, operateBreaker, type OperateData,
} from '../../src/connectors/scada_dnp3/operate.js';
import { openTcp } from '../../src/connectors/scada_dnp3/session.js';
import type { ActionContext } from '../../src/connectors/types.js';
import { GatewayError, type ErrorCode } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Dnp3Outstation } from '../support/dnp3-outstation.js';

// The breaker actions against the simulator: status as the gateway runs it, and the
// critical operate path called directly (the gateway itself refuses it until the microVM
// tier exists).
let sim: Dnp3Outstation;

function configFor(port: number, dnp3: Record<string, unknown> = {}): GatewayConfig {
  return validateConfig({
    points: {
      'breaker 7 at substation 12': { protocol: 'dnp3', host: '127.0.0.1', port, address: 12,
        index: 7, kind: 'crob' },
      'breaker 2 at substation 12': { protocol: 'dnp3', host: '127.0.0.1', port, address: 12,
        index: 2, kind: 'crob' },
    },
    connectors: { scada_dnp3: { response_timeout_ms: 300, ...dnp3 } },
  }, 'test');
}

const ctx = (): ActionContext => ({
  now: new Date(), timeZone: 'UTC', principal: 'local', signal: new AbortController().signal,
  log: createLogger({ level: 'silent' }),
});

async function code(p: Promise<unknown>): Promise<ErrorCode> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

beforeEach(async () => {
  sim = await Dnp3Outstation.start({ address: 12, binaryInputs: { 2: true, 7: true },
    crobs: [2, 7] });
});
afterEach(async () => {
  await sim.close();
});

describe('scada_dnp3 status (tier safe, in process)', () => {
  it('reads the breaker\'s binary input and says it', async () => {
    const c = createScadaDnp3Connector(configFor(sim.port));
    const r = await c.run('status', { breaker: 7, substation: 12 }, ctx());
    expect(r.speech).toBe('Breaker seven at substation twelve is closed.');
    expect(r.data).toMatchObject({ point: 'breaker 7 at substation 12', state: 'closed' });
    sim.binaryInputs.set(7, false);
    const open = await c.run('status', { breaker: 7, substation: 12 }, ctx());
    expect(open.speech).toBe('Breaker seven at substation twelve is open.');
    expect(sim.functions()).toEqual(['READ', 'READ']);
  });

  it('names an unconfigured breaker and an outstation that does not answer', async () => {
    const c = createScadaDnp3Connector(configFor(sim.port));
    expect(await code(c.run('status', { breaker: 9, substation: 12 }, ctx())))
      .toBe('GW_CONNECTOR_CONFIG');
    sim.faults.silent = true;
    expect(await code(c.run('status', { breaker: 7, substation: 12 }, ctx())))
      .toBe('GW_REMOTE_UNAVAILABLE');
  });

  it('says when the outstation is in local control, and checks its settings', async () => {
    await sim.close();
    sim = await Dnp3Outstation.start({ address: 12, binaryInputs: { 7: false }, iin: 0x0020 });
    const c = createScadaDnp3Connector(configFor(sim.port));
    const r = await c.run('status', { breaker: 7, substation: 12 }, ctx());
    expect(r.speech).toBe('Breaker seven at substation twelve is open. ' +
      'The outstation is in local control.');
    expect(() => configFor(sim.port, { operate_mode: 'operate_twice' })).toThrow(GatewayError);
    expect(() => configFor(sim.port, { master_address: 65_520 })).toThrow(GatewayError);
  });

  it('refuses operate in the gateway process and sends nothing', async () => {
    const c = createScadaDnp3Connector(configFor(sim.port));
    expect(await code(c.run('operate', { operation: 'close', breaker: 7, substation: 12 },
      ctx()))).toBe('GW_TIER_UNAVAILABLE');
    expect(sim.frames).toEqual([]);
  });
});

describe('scada_dnp3 operate path (for the critical tier)', () => {
  it('trips then closes with select-before-operate and reads the status back', async () => {
    const ledger = new OperateLedger();
    const config = configFor(sim.port);
    const trip = await operateBreaker(config, { operation: 'open', breaker: 7, substation: 12 },
      { idempotencyKey: 'turn-0001-trip', ledger });
    expect(trip.speech).toBe('Breaker seven at substation twelve is now open.');
    expect(trip.data).toMatchObject({ command: 'trip', mode: 'select_before_operate',
      replayed: false, readBack: { state: 'open' } });
    const close = await operateBreaker(config, { operation: 'close', breaker: 7, substation: 12 },
      { idempotencyKey: 'turn-0002-close', ledger });
    expect(close.speech).toBe('Breaker seven at substation twelve is now closed.');
    expect(sim.functions()).toEqual(['SELECT', 'OPERATE', 'READ', 'SELECT', 'OPERATE', 'READ']);
    expect(sim.executed.map((e) => [e.fn, e.code, e.onTime]))
      .toEqual([['OPERATE', 0x81, 1_000], ['OPERATE', 0x41, 1_000]]);
  });

  it('never operates one idempotency key twice', async () => {
    const ledger = new OperateLedger();
    const config = configFor(sim.port);
    const input = { operation: 'open', breaker: 7, substation: 12 };
    const calls = await Promise.allSettled([1, 2, 3].map(() =>
      operateBreaker(config, input, { idempotencyKey: 'same-key-123', ledger })));
    expect(calls.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    const again = await operateBreaker(config, input, { idempotencyKey: 'same-key-123', ledger });
    expect((again.data as OperateData).replayed).toBe(true);
    expect(again.speech).toBe('Breaker seven at substation twelve is now open.');
    expect(await code(operateBreaker(config, { ...input, operation: 'close' },
      { idempotencyKey: 'same-key-123', ledger }))).toBe('GW_IDEMPOTENCY_MISMATCH');
    expect(sim.executed).toHaveLength(1);
  });

  it('sends nothing in a dry run, and refuses an unconfigured breaker or a bad key', async () => {
    const config = configFor(sim.port);
    const ledger = new OperateLedger();
    const dry = await operateBreaker(config, { operation: 'close', breaker: 7, substation: 12 },
      { idempotencyKey: 'dry-run-0001', dryRun: true, ledger });
    expect(dry.speech).toBe('Dry run: I would close breaker seven at substation twelve with ' +
      'select before operate; nothing was sent.');
    expect(dry.data).toMatchObject({ dryRun: true, crob: '0c0128010007004101e80300000000000000' });
    expect(ledger.has('dry-run-0001')).toBe(false);
    expect(await code(operateBreaker(config, { operation: 'close', breaker: 8, substation: 12 },
      { idempotencyKey: 'dry-run-0002', dryRun: true, ledger }))).toBe('GW_CONNECTOR_CONFIG');
    expect(await code(operateBreaker(config, { operation: 'close', breaker: 7, substation: 12 },
      { idempotencyKey: 'short', ledger }))).toBe('GW_ACTION_INPUT_INVALID');
    expect(await code(operateBreaker(config, { operation: 'toggle', breaker: 7, substation: 12 },
      { idempotencyKey: 'dry-run-0003', ledger }))).toBe('GW_ACTION_INPUT_INVALID');
    await sim.waitForRequests(1, 5);
    expect(sim.frames).toEqual([]);
  });

  it('uses DIRECT_OPERATE only when configured', async () => {
    const config = configFor(sim.port, { operate_mode: 'direct_operate', pulse_ms: 200 });
    const r = await operateBreaker(config, { operation: 'open', breaker: 2, substation: 12 },
      { idempotencyKey: 'direct-0001', ledger: new OperateLedger() });
    expect(r.speech).toBe('Breaker two at substation twelve is now open.');
    expect(sim.functions()).toEqual(['DIRECT_OPERATE', 'READ']);
    expect(sim.executed).toEqual([{ fn: 'DIRECT_OPERATE', index: 2, code: 0x81, onTime: 200 }]);
  });

  it('reaches the outstation through the stream opener it is given (a tier\'s broker)',
    async () => {
      const asked: string[] = [];
      const r = await operateBreaker(configFor(sim.port),
        { operation: 'close', breaker: 7, substation: 12 },
        { idempotencyKey: 'broker-0001', ledger: new OperateLedger(),
          connect: async (host, port) => {
            asked.push(`${host}:${port}`);
            return openTcp(host, port);
          } });
      expect(r.speech).toBe('Breaker seven at substation twelve is now closed.');
      expect(asked).toEqual([`127.0.0.1:${sim.port}`]);
      const refused = operateBreaker(configFor(sim.port),
        { operation: 'open', breaker: 7, substation: 12 },
        { idempotencyKey: 'broker-0002', ledger: new OperateLedger(),
          connect: () => Promise.reject(new Error('endpoint not in the manifest')) });
      expect(await code(refused)).toBe('GW_REMOTE_UNAVAILABLE');
      expect(sim.executed).toHaveLength(1);
    });

  it('calls an unanswered OPERATE indeterminate and never repeats it', async () => {
    const ledger = new OperateLedger();
    const config = configFor(sim.port);
    sim.faults.mute = [4];
    const input = { operation: 'open', breaker: 7, substation: 12 };
    expect(await code(operateBreaker(config, input, { idempotencyKey: 'lost-0001', ledger })))
      .toBe('GW_ACTION_TIMEOUT');
    sim.faults.mute = [];
    expect(await code(operateBreaker(config, input, { idempotencyKey: 'lost-0001', ledger })))
      .toBe('GW_ACTION_TIMEOUT');
    expect(sim.functions()).toEqual(['SELECT', 'OPERATE']);
  });

  it('says a refused SELECT as the outstation\'s refusal, with nothing operated', async () => {
    sim.faults.corruptEcho = true;
    const config = configFor(sim.port);
    expect(await code(operateBreaker(config, { operation: 'open', breaker: 7, substation: 12 },
      { idempotencyKey: 'echo-0001', ledger: new OperateLedger() }))).toBe('GW_REMOTE_REJECTED');
    expect(sim.executed).toEqual([]);
  });
});
