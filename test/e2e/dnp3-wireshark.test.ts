import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fn } from '../../src/connectors/scada_dnp3/app.js';
import { Dnp3Error } from '../../src/connectors/scada_dnp3/fault.js';
import { encodeLinkFrame } from '../../src/connectors/scada_dnp3/link.js';
import { Dnp3Master, breakerCrob } from '../../src/connectors/scada_dnp3/master.js';
import { Dnp3Outstation } from '../support/dnp3-outstation.js';
import { buildPcap, type CapturedFrame } from '../support/pcap.js';

// Every frame the master sends (and what the simulator answers) goes into a pcap file that
// Wireshark's own DNP3 dissector, an independent implementation, must decode cleanly.
const run = promisify(execFile);

let dir: string;
let sim: Dnp3Outstation;
const captured: CapturedFrame[] = [];

/** What tshark's verbose DNP3 decode of `file` complains about (empty when all is well). */
async function tsharkProblems(file: string, filter = 'dnp3'): Promise<string[]> {
  const { stdout } = await run('tshark', ['-r', file, '-V', '-Y', filter],
    { maxBuffer: 64 << 20 });
  return stdout.split('\n').map((l) => l.trim()).filter((l) =>
    /malformed|Expert Info|Checksum Status: Bad|incorrect|exception/i.test(l));
}

async function refused(p: Promise<unknown>): Promise<void> {
  await p.then(() => { throw new Error('expected a refusal'); },
    (err: unknown) => { if (!(err instanceof Dnp3Error)) throw err; });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gw-dnp3-pcap-'));
  sim = await Dnp3Outstation.start({ address: 12, binaryInputs: { 7: false, 300: true },
    crobs: [7, 300], restarted: true, maxFragment: 300 });
  const m = await Dnp3Master.open({ host: '127.0.0.1', port: sim.port, masterAddress: 1,
    outstationAddress: 12, responseTimeoutMs: 2_000, connectTimeoutMs: 2_000,
    onFrame: (direction, raw) => captured.push({ fromMaster: direction === 'tx', bytes: raw }) });
  try {
    // Class 0 spans indexes 7..300: several fragments, each confirmed, over several segments.
    await m.integrityPoll();
    sim.sendUnsolicited(1);
    await m.clearRestart();
    await m.readBinaryInput(7);
    await m.readBinaryInput(300);
    sim.faults.askConfirm = true;
    await m.readBinaryInput(7);
    sim.faults.askConfirm = false;
    await m.selectBeforeOperate(7, breakerCrob('close', 1_000));
    await m.selectBeforeOperate(300, breakerCrob('trip', 100));
    await m.directOperate(7, breakerCrob('trip', 500));
    await refused(m.control(Fn.OPERATE, 7, breakerCrob('close', 100)));
    await refused(m.readBinaryInput(8));
    await sim.waitForRequests(sim.received.length + 1, 5);
  } finally {
    m.close();
  }
});
afterAll(async () => {
  await sim.close();
  if (process.env.KEEP_PCAP === undefined) await rm(dir, { recursive: true, force: true });
});

describe('Wireshark\'s DNP3 dissector on the master\'s frames', () => {
  it('decodes every frame without a malformed packet or an error', async () => {
    const fromMaster = captured.filter((f) => f.fromMaster);
    expect(fromMaster.length).toBeGreaterThanOrEqual(12);
    const file = path.join(dir, 'dnp3.pcap');
    await writeFile(file, buildPcap(captured));
    // The master's frames: nothing at all to remark on.
    expect(await tsharkProblems(file, 'dnp3 && tcp.srcport == 40000')).toEqual([]);
    // The simulator's answers: only the IIN bits it was told to raise (restart, parameter
    // error for the unknown point) are remarked on, as an abnormality, not an error.
    expect(new Set(await tsharkProblems(file)))
      .toEqual(new Set(['[Expert Info (Warning/Protocol): IIN Abnormality]']));
    // One DNP3 packet per captured frame, none missed by the dissector.
    const { stdout: numbers } = await run('tshark', ['-r', file, '-Y', 'dnp3',
      '-T', 'fields', '-e', 'dnp3.src', '-e', 'dnp3.dst', '-e', 'dnp3.al.func']);
    const rows = numbers.trim().split('\n').map((l) => l.split('\t'));
    expect(rows).toHaveLength(captured.length);
    const masterRows = rows.filter((r) => r[0] === '1' && r[1] === '12');
    expect(masterRows).toHaveLength(fromMaster.length);
    // The application functions Wireshark read from the master match what was sent.
    expect(masterRows.map((r) => Number(r[2]))).toEqual(sim.received.map((r) => r.fn));
  });

  it('flags a frame with a bad CRC and one with a truncated object header (the check bites)',
    async () => {
      const first = captured.find((f) => f.fromMaster);
      expect(first).toBeDefined();
      const badCrc = Uint8Array.from(first!.bytes);
      badCrc[badCrc.length - 1]! ^= 0x01;
      // A READ whose object header announces a 2-octet count and index, then stops.
      const truncated = encodeLinkFrame({ dir: true, prm: true, fcb: false, fcv: false, func: 4,
        destination: 12, source: 1, data: Uint8Array.of(0xc0, 0xc5, 0x01, 60, 2, 0x28, 1) });
      const file = path.join(dir, 'broken.pcap');
      await writeFile(file, buildPcap([{ fromMaster: true, bytes: badCrc },
        { fromMaster: true, bytes: truncated }]));
      const problems = (await tsharkProblems(file)).join('\n');
      expect(problems).toMatch(/Checksum Status: Bad/);
      expect(problems).toMatch(/Malformed/);
    });
});
