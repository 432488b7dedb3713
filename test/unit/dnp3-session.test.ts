import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fn } from '../../src/connectors/scada_dnp3/app.js';
import { Dnp3Error } from '../../src/connectors/scada_dnp3/fault.js';
import { Dnp3Master, breakerCrob } from '../../src/connectors/scada_dnp3/master.js';
import { Dnp3Outstation } from '../support/dnp3-outstation.js';

// A master against the independent outstation simulator, over real loopback TCP.
const OUTSTATION = 12;
const MASTER = 1;

let sim: Dnp3Outstation;
let master: Dnp3Master | null = null;

async function open(responseTimeoutMs = 2_000): Promise<Dnp3Master> {
  master = await Dnp3Master.open({
    host: '127.0.0.1', port: sim.port, masterAddress: MASTER, outstationAddress: OUTSTATION,
    responseTimeoutMs, connectTimeoutMs: 2_000,
  });
  return master;
}

async function failure(p: Promise<unknown>): Promise<Dnp3Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Dnp3Error) return err;
    throw err;
  }
  throw new Error('expected a Dnp3Error');
}

beforeEach(async () => {
  sim = await Dnp3Outstation.start({
    address: OUTSTATION, binaryInputs: { 3: true, 7: false, 8: true }, crobs: [7],
    restarted: true, selectTimeoutMs: 5_000,
  });
});
afterEach(async () => {
  master?.close();
  master = null;
  await sim.close();
});

describe('DNP3 master against the outstation simulator', () => {
  it('runs an integrity poll, reports IIN bits, and clears the restart bit', async () => {
    const m = await open();
    const poll = await m.integrityPoll();
    expect(poll.iin).toEqual(['device_restart']);
    expect([...poll.binaryInputs.entries()].map(([i, v]) => [i, v.state]))
      .toEqual([[3, true], [4, false], [5, false], [6, false], [7, false], [8, true]]);
    expect(poll.objectFaults).toEqual([]);
    // The read named classes 1, 2, 3 then 0, all objects.
    expect(sim.received[0]?.objects.toString('hex')).toBe('3c02063c03063c04063c0106');
    expect(await m.clearRestart()).toEqual([]);
    const again = await m.readBinaryInput(8);
    expect(again).toMatchObject({ index: 8, state: true, flags: 0x81, iin: [] });
    // Link frames: DIR and PRM set, unconfirmed user data, to the outstation from the master.
    expect(sim.frames.every((f) => f.control === 0xc4 && f.dest === OUTSTATION
      && f.src === MASTER)).toBe(true);
    expect(sim.rejectedFrames).toBe(0);
  });

  it('reports the outstation\'s other IIN bits on reads', async () => {
    await sim.close();
    sim = await Dnp3Outstation.start({ address: OUTSTATION, binaryInputs: { 7: true },
      iin: 0x0020 | 0x0040 | 0x0010 });
    const m = await open();
    const r = await m.readBinaryInput(7);
    expect(r.iin).toEqual(['need_time', 'local_control', 'device_trouble']);
  });

  it('closes then trips with SELECT and OPERATE in consecutive sequence numbers', async () => {
    const m = await open();
    await m.selectBeforeOperate(7, breakerCrob('close', 1_000));
    expect(sim.binaryInputs.get(7)).toBe(true);
    expect((await m.readBinaryInput(7)).state).toBe(true);
    await m.selectBeforeOperate(7, breakerCrob('trip', 250));
    expect((await m.readBinaryInput(7)).state).toBe(false);
    expect(sim.functions()).toEqual(['SELECT', 'OPERATE', 'READ', 'SELECT', 'OPERATE', 'READ']);
    const seqs = sim.received.map((r) => r.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sim.executed).toEqual([
      { fn: 'OPERATE', index: 7, code: 0x41, onTime: 1_000 },
      { fn: 'OPERATE', index: 7, code: 0x81, onTime: 250 },
    ]);
    // SELECT and OPERATE carried identical objects.
    expect(sim.received[0]?.objects.equals(sim.received[1]!.objects)).toBe(true);
  });

  it('is refused an OPERATE without a SELECT, and after the select timeout', async () => {
    const m = await open();
    const crob = breakerCrob('close', 100);
    const e = await failure(m.control(Fn.OPERATE, 7, crob));
    expect(e.kind).toBe('crob_status');
    expect(e.message).toContain('operate without a select');
    await sim.close();
    sim = await Dnp3Outstation.start({ address: OUTSTATION, binaryInputs: { 7: false },
      crobs: [7], selectTimeoutMs: 20 });
    const m2 = await open();
    await m2.control(Fn.SELECT, 7, crob);
    await new Promise((r) => setTimeout(r, 60));
    const late = await failure(m2.control(Fn.OPERATE, 7, crob));
    expect(late.message).toContain('select timed out');
    expect(sim.executed).toEqual([]);
  });

  it('refuses a wrong echo and does not send the OPERATE', async () => {
    const m = await open();
    sim.faults.corruptEcho = true;
    const e = await failure(m.selectBeforeOperate(7, breakerCrob('close', 100)));
    expect(e.kind).toBe('echo_mismatch');
    expect(sim.functions()).toEqual(['SELECT']);
    expect(sim.executed).toEqual([]);
  });

  it('reports a control the outstation does not support, and an unknown point', async () => {
    const m = await open();
    const e = await failure(m.selectBeforeOperate(9, breakerCrob('close', 100)));
    expect(e.message).toContain('control not supported');
    const missing = await failure(m.readBinaryInput(42));
    expect(missing.kind).toBe('iin_error');
    expect(missing.message).toContain('parameter_error');
  });

  it('uses DIRECT_OPERATE when asked, and reports an outstation that refuses it', async () => {
    const m = await open();
    await m.directOperate(7, breakerCrob('close', 100));
    expect(sim.executed).toEqual([{ fn: 'DIRECT_OPERATE', index: 7, code: 0x41, onTime: 100 }]);
    await sim.close();
    sim = await Dnp3Outstation.start({ address: OUTSTATION, crobs: [7],
      directOperateAllowed: false });
    const m2 = await open();
    const e = await failure(m2.directOperate(7, breakerCrob('close', 100)));
    expect(e.message).toContain('no_function_support');
  });

  it('confirms responses that ask for it, with their sequence number', async () => {
    const m = await open();
    sim.faults.askConfirm = true;
    await m.readBinaryInput(3);
    await m.readBinaryInput(8);
    await sim.waitForRequests(4);
    expect(sim.functions()).toEqual(['READ', 'CONFIRM', 'READ', 'CONFIRM']);
    expect(sim.received.map((r) => r.seq)).toEqual([0, 0, 1, 1]);
    expect(sim.received[1]).toMatchObject({ con: false, uns: false });
  });

  it('reads a long class 0 answer over several fragments and segments, confirming each',
    async () => {
      await sim.close();
      const inputs = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [i, i % 3 === 0]));
      sim = await Dnp3Outstation.start({ address: OUTSTATION, binaryInputs: inputs,
        maxFragment: 200 });
      const m = await open();
      const poll = await m.integrityPoll();
      expect(poll.binaryInputs.size).toBe(600);
      expect([...poll.binaryInputs].every(([i, v]) => v.state === (i % 3 === 0))).toBe(true);
      await sim.waitForRequests(5);
      // 600 points in blocks of 64 (69 or fewer octets each), two blocks per fragment: five
      // fragments, each but the last confirmed with its own sequence number.
      expect(sim.functions()).toEqual(['READ', 'CONFIRM', 'CONFIRM', 'CONFIRM', 'CONFIRM']);
      expect(sim.received.map((r) => r.seq)).toEqual([0, 0, 1, 2, 3]);
      // The next request carries the next sequence number after the request's own.
      expect((await m.readBinaryInput(597)).state).toBe(true);
      expect(sim.received.at(-1)?.seq).toBe(1);
      // And in one fragment, cut by the transport layer into 249-octet segments.
      await sim.close();
      sim = await Dnp3Outstation.start({ address: OUTSTATION, binaryInputs: inputs });
      const m2 = await open();
      expect((await m2.integrityPoll()).binaryInputs.size).toBe(600);
    });

  it('confirms an unsolicited response with UNS set and goes on working', async () => {
    const m = await open();
    sim.sendUnsolicited(MASTER);
    await sim.waitForRequests(1);
    expect(sim.received[0]).toMatchObject({ fn: Fn.CONFIRM, uns: true, seq: 0 });
    expect(m.session.lastIin).toBe(0x0080);
    expect((await m.readBinaryInput(3)).state).toBe(true);
  });

  it('times out when the outstation stays silent, and the next request still works', async () => {
    const m = await open(150);
    sim.faults.silent = true;
    const e = await failure(m.readBinaryInput(3));
    expect(e.kind).toBe('timeout');
    sim.faults.silent = false;
    expect((await m.readBinaryInput(3)).state).toBe(true);
  });

  it('ignores responses with the wrong sequence number and says so', async () => {
    const m = await open(150);
    sim.faults.seqOffset = 1;
    const e = await failure(m.readBinaryInput(3));
    expect(e.kind).toBe('timeout');
    expect(e.message).toContain('1 fragments with the wrong sequence number ignored');
    expect(m.session.faults.some((f) => f.kind === 'app_sequence')).toBe(true);
    // The late answer to the first request (seq 0 + 1) must not be taken for the second's.
    sim.faults.seqOffset = 0;
    expect((await m.readBinaryInput(8)).index).toBe(8);
  });

  it('fails a request with "closed" when the outstation drops the link', async () => {
    const m = await open(5_000);
    sim.faults.silent = true;
    const pending = failure(m.readBinaryInput(3));
    await new Promise((r) => setTimeout(r, 20));
    await sim.close();
    expect((await pending).kind).toBe('closed');
  });

  it('fails to connect with a typed error when nothing listens', async () => {
    const port = sim.port;
    await sim.close();
    const e = await failure(Dnp3Master.open({ host: '127.0.0.1', port, masterAddress: 1,
      outstationAddress: 12, responseTimeoutMs: 100, connectTimeoutMs: 1_000 }));
    expect(e.kind).toBe('connect');
    sim = await Dnp3Outstation.start({ address: OUTSTATION });
  });
});
