import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TurnReport } from '../../src/dialogue/report.js';
import { Dnp3Outstation } from '../support/dnp3-outstation.js';
import { ROOT } from './harness.js';

// `gateway say` (the built CLI in dist/) asking about a breaker whose point is configured
// to be the outstation simulator on loopback.
const run = promisify(execFile);
const GATEWAY = path.join(ROOT, 'bin/gateway.js');

let sim: Dnp3Outstation;
let dir: string;
let configFile: string;

async function say(...texts: string[]): Promise<TurnReport[]> {
  const { stdout } = await run(process.execPath,
    [GATEWAY, 'say', '--json', '-c', configFile, '--out', dir, ...texts],
    { cwd: ROOT, maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport);
}

beforeAll(async () => {
  sim = await Dnp3Outstation.start({ address: 12, binaryInputs: { 7: true }, crobs: [7] });
  dir = await mkdtemp(path.join(tmpdir(), 'gw-dnp3-'));
  configFile = path.join(dir, 'gateway.toml');
  await writeFile(configFile, [
    '[connectors.scada_dnp3]',
    'master_address = 1',
    'response_timeout_ms = 2000',
    '[points."breaker 7 at substation 12"]',
    'protocol = "dnp3"',
    'host = "127.0.0.1"',
    `port = ${sim.port}`,
    'address = 12',
    'index = 7',
    'kind = "crob"',
  ].join('\n'));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.received.length = 0;
});

describe('breaker status from the gateway CLI', () => {
  it('answers "is breaker seven at substation twelve closed" from the outstation', async () => {
    const [turn] = await say('is breaker seven at substation twelve closed');
    expect(turn).toMatchObject({
      action: 'scada_dnp3.status', tier: 'safe', decision: 'answered', outcome: 'succeeded',
      intent: { name: 'scada.breaker_status', slots: { breaker: 7, substation: 12 } },
      error: null,
    });
    expect(turn?.reply?.text).toBe('Breaker seven at substation twelve is closed.');
    expect(sim.functions()).toEqual(['READ']);
    sim.binaryInputs.set(7, false);
    const [again] = await say('what is the status of breaker seven at substation twelve');
    expect(again?.reply?.text).toBe('Breaker seven at substation twelve is open.');
  });

  it('says an unconfigured breaker is not configured, and sends nothing', async () => {
    const [turn] = await say('is breaker eight at substation twelve closed');
    expect(turn).toMatchObject({ outcome: 'failed', error: { code: 'GW_CONNECTOR_CONFIG' } });
    expect(turn?.reply?.text).toBe(
      'That did not work: breaker eight at substation twelve is not configured as a DNP3 point.');
    expect(sim.received).toEqual([]);
  });

  it('still refuses to operate (critical tier absent) and sends no control', async () => {
    const [ask, done] = await say('close breaker seven at substation twelve', 'confirm');
    expect(ask).toMatchObject({ action: 'scada_dnp3.operate', tier: 'critical' });
    expect(done).toMatchObject({ tier: 'critical', error: { code: 'GW_TIER_UNAVAILABLE' } });
    expect(sim.received).toEqual([]);
    expect(sim.executed).toEqual([]);
  });
});
