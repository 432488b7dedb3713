/**
 * The dangerous tier's plumbing with real bubblewrap: brokered egress to the manifest's
 * endpoint, secrets through the pipe only, cancellation that kills the sandbox, the broker's
 * own rules, and refusal when the sandbox cannot be built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTarget } from '../../src/isolation/sandbox/broker.js';
import { probeSandbox } from '../../src/isolation/sandbox/probe.js';
import { createEvilWorld, sandboxBuilt, SECRET, type EvilWorld } from '../helpers/evil.js';

let world: EvilWorld;

beforeAll(async () => {
  const missing = sandboxBuilt() ?? (await probeSandbox()).unavailable;
  if (missing) throw new Error(missing);
  world = await createEvilWorld();
});

afterAll(async () => {
  await world?.close();
});

describe('dangerous tier plumbing', () => {
  it('reaches the manifest endpoint through the broker and names the layers used', async () => {
    const r = await world.run(world.executor(), 'echo');
    expect(r.outcome).toBe('succeeded');
    expect(r.speech).toBe('echo:hello');
    expect(r.sandbox?.layers).toEqual(['namespaces', 'landlock', 'seccomp', 'rlimits', 'broker']);
    expect(r.sandbox?.landlockAbi).toBeGreaterThanOrEqual(1);
  });

  it('hands secrets over the pipe, never in the environment or on the command line', async () => {
    const ex = world.executor();
    const got = await world.run(ex, 'secret');
    expect(got.speech).toBe('got token');
    expect(got.data).toMatchObject({ length: SECRET.length });
    const env = await world.run(ex, 'env');
    expect(JSON.stringify(env.data)).not.toContain(SECRET);
    expect(Object.keys((env.data as { env: object }).env).sort()).toEqual(
      ['HOME', 'OPENSSL_CONF', 'PWD', 'TMPDIR', 'TZ']);
  });

  it('redacts a secret the connector put into its error message', async () => {
    const r = await world.run(world.executor(), 'leak_secret');
    expect(r.outcome).toBe('failed');
    expect(r.error?.code).toBe('GW_CONNECTOR_FAILED');
    expect(r.error?.message).not.toContain(SECRET);
    expect(world.logLines.join('\n')).not.toContain(SECRET);
  });

  it('kills the sandbox on cancellation after delivery and reports indeterminate', async () => {
    const ex = world.executor();
    const controller = new AbortController();
    const started = world.nextEchoLine();
    const running = world.run(ex, 'hang', controller.signal);
    expect(await started).toBe('hanging');
    controller.abort();
    const r = await running;
    expect(r.outcome).toBe('indeterminate');
    expect(r.error?.code).toBe('GW_ACTION_TIMEOUT');
    expect((await world.run(ex, 'ping')).outcome).toBe('succeeded');
  });

  it('validates the result against the action output schema', async () => {
    const { z } = await import('zod');
    const ex = world.executor();
    const registry = (ex as unknown as { connectors: Map<string, { manifest: {
      actions: Record<string, { output?: unknown }> } }> }).connectors;
    const spec = registry.get('evil')?.manifest.actions.ping;
    if (!spec) throw new Error('no ping action');
    const saved = spec.output;
    spec.output = z.strictObject({ never: z.string() });
    try {
      const r = await world.run(ex, 'ping');
      expect(r.outcome).toBe('failed');
      expect(r.error?.code).toBe('GW_ACTION_OUTPUT_INVALID');
    } finally {
      spec.output = saved;
    }
  });

  it('refuses, without running anything, when the sandbox cannot be built', async () => {
    const ex = world.executor({ extra: { probe: async () => ({ ...await probeSandbox(),
      bwrap: '/nonexistent/bwrap' }) } });
    const r = await world.run(ex, 'ping');
    expect(r.outcome).toBe('refused');
    expect(r.error?.code).toBe('GW_SANDBOX_FAILED');
  });

  it('bounds the connections of one call, even to the allowed endpoint', async () => {
    const r = await world.run(world.executor(), 'flood');
    expect(r.violation?.layer).toBe('broker');
    // Eight connections were made before the refusal: what they did is unknown.
    expect(r.outcome).toBe('indeterminate');
  });
});

describe('broker request parsing', () => {
  it('accepts host:port and [v6]:port, nothing else', () => {
    expect(parseTarget('graph.facebook.com:443')).toEqual({ host: 'graph.facebook.com', port: 443 });
    expect(parseTarget('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    for (const bad of ['host', 'host:0', 'host:70000', 'a b:1', 'host:1:2', ':80', 'h/x:1']) {
      expect(parseTarget(bad), bad).toBeNull();
    }
  });
});
