/**
 * "Close breaker seven at substation twelve", "confirm", with that point configured as DNP3:
 * one select-before-operate from a real microVM (QEMU) on the outstation simulator, through
 * the host's broker; the turn report names the critical tier. Boots: one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dnp3Outstation } from '../support/dnp3-outstation.js';
import {
  criticalProject, say, writeConfig, type CriticalProject,
} from './critical-support.js';

let project: CriticalProject;
let sim: Dnp3Outstation;

beforeAll(async () => {
  project = await criticalProject('dnp3');
  sim = await Dnp3Outstation.start({ address: 12, binaryInputs: { 7: false }, crobs: [7] });
}, 900_000);
afterAll(async () => {
  await sim?.close();
  project?.cleanup();
});

describe('DNP3 operate in the critical tier', () => {
  it('closes breaker seven at substation twelve once, select before operate', async () => {
    const config = writeConfig(project, 'dnp3', [
      '[connectors.scada_dnp3]', 'response_timeout_ms = 5000',
      '[points."breaker 7 at substation 12"]', 'protocol = "dnp3"', 'host = "127.0.0.1"',
      `port = ${sim.port}`, 'address = 12', 'index = 7', 'kind = "crob"',
    ]);
    const { reports, log } = await say(project, config,
      ['close breaker seven at substation twelve', 'confirm', 'confirm']);
    expect(reports[0]).toMatchObject({ action: 'scada_dnp3.operate', tier: 'critical',
      decision: 'confirmation_requested' });
    expect(reports[1], log).toMatchObject({ tier: 'critical', decision: 'executed',
      outcome: 'succeeded', reply: { text: 'Breaker seven at substation twelve is now closed.' } });
    expect(reports[1]?.microvm?.backend).toMatch(/^QEMU/);
    expect(reports[2]?.decision).not.toBe('executed');
    expect(sim.executed).toEqual([expect.objectContaining({ fn: 'OPERATE', index: 7,
      code: 0x41 })]);
    const fns = sim.received.map((r) => r.fn);
    expect(fns.filter((f) => f === 3)).toHaveLength(1); // SELECT
    expect(fns.filter((f) => f === 4)).toHaveLength(1); // OPERATE
  }, 900_000);
});
