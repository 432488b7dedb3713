import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateConfig } from '../../src/config/load.js';
import type { ActionContext, Connector, RegisteredConnector, Tier } from '../../src/connectors/types.js';
import { Executor } from '../../src/isolation/executor.js';
import type { SandboxProbe } from '../../src/isolation/sandbox/probe.js';
import { createLogger } from '../../src/log.js';

function registry(tier: Tier, run: Connector['run']): Map<string, RegisteredConnector> {
  const manifest = {
    name: 'demo', description: 'test connector',
    actions: { act: { tier, description: 'act', input: z.strictObject({ n: z.number() }) } },
  };
  return new Map([['demo', { manifest, implementation: { manifest, run } }]]);
}

const ctx: ActionContext = {
  now: new Date(0), timeZone: 'UTC', principal: 'local',
  signal: new AbortController().signal, log: createLogger({ level: 'silent' }),
};
const config = validateConfig({}, 'test');

describe('executor', () => {
  it('runs a safe action in process and returns its speech', async () => {
    const ex = new Executor(registry('safe', async (_a, input) => ({ speech: `got ${(input as { n: number }).n}` })), config);
    const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 4 }, tier: 'safe' }, ctx);
    expect(r).toMatchObject({ outcome: 'succeeded', speech: 'got 4' });
  });

  it('refuses dangerous and critical tiers it cannot provide, never running the action', async () => {
    let ran = 0;
    const missing: SandboxProbe = { unavailable: 'the sandbox ...: bubblewrap (apt-get install bubblewrap)',
      layers: [], bwrap: null, landlockAbi: 0, cgroupNs: false };
    const ex = new Executor(registry('critical', async () => {
      ran += 1;
      return { speech: 'done' };
    }), config, undefined, { probe: async () => missing });
    for (const tier of ['dangerous', 'critical'] as const) {
      const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 1 }, tier }, ctx);
      expect(r.outcome).toBe('refused');
      expect(r.error?.code).toBe('GW_TIER_UNAVAILABLE');
      if (tier === 'dangerous') expect(r.error?.message).toContain('apt-get install bubblewrap');
    }
    expect(ran).toBe(0);
  });

  it('never runs a dangerous action in process, even when the sandbox is available', async () => {
    let ran = 0;
    const available: SandboxProbe = { unavailable: null, layers: [], bwrap: '/usr/bin/bwrap',
      landlockAbi: 7, cgroupNs: false };
    const ex = new Executor(registry('dangerous', async () => {
      ran += 1;
      return { speech: 'done' };
    }), config, undefined, { probe: async () => available,
      workerModule: () => '/nonexistent/worker.js' });
    const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 1 }, tier: 'dangerous' }, ctx);
    expect(r.outcome).toBe('refused');
    expect(r.error?.code).toBe('GW_CONNECTOR_UNAVAILABLE');
    expect(ran).toBe(0);
  });

  it('says why the microVM tier is missing, and that the setting is off when it is', async () => {
    const ex = new Executor(registry('critical', async () => ({ speech: '' })), config);
    const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 1 }, tier: 'critical' }, ctx);
    expect(r.outcome).toBe('refused');
    expect(r.speech).toContain('enable_firecracker_sandbox');
    const on = new Executor(registry('critical', async () => ({ speech: '' })),
      validateConfig({ enable_firecracker_sandbox: true }, 'test'));
    const r2 = await on.run({ connector: 'demo', action: 'act', input: { n: 1 }, tier: 'critical' }, ctx);
    expect(r2.outcome).toBe('refused');
    expect(r2.speech).not.toContain('enable_firecracker_sandbox');
  });

  it('refuses input that does not match the schema', async () => {
    const ex = new Executor(registry('safe', async () => ({ speech: '' })), config);
    const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 'x' }, tier: 'safe' }, ctx);
    expect(r.error?.code).toBe('GW_ACTION_INPUT_INVALID');
  });

  it('records an action past its deadline as indeterminate', async () => {
    const ex = new Executor(registry('safe', () => new Promise(() => {})), config, 20);
    const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 1 }, tier: 'safe' }, ctx);
    expect(r.outcome).toBe('indeterminate');
    expect(r.error?.code).toBe('GW_ACTION_TIMEOUT');
  });

  it('reports a connector failure as failed with its code', async () => {
    const ex = new Executor(registry('safe', async () => {
      throw new Error('far side down');
    }), config);
    const r = await ex.run({ connector: 'demo', action: 'act', input: { n: 1 }, tier: 'safe' }, ctx);
    expect(r.outcome).toBe('failed');
    expect(r.error?.code).toBe('GW_CONNECTOR_FAILED');
  });
});
