/**
 * The escape suite: a malicious connector, run in the real dangerous-tier sandbox (bubblewrap,
 * the native helper, Landlock, seccomp, rlimits, the broker), tries each way out. Every attempt
 * must be stopped and reported as GW_SANDBOX_VIOLATION naming the layer, and the gateway must
 * serve the next action normally. Then each layer runs alone and must stop, by itself, the
 * attempts it is responsible for, while a control run with every layer off shows that those
 * attempts do succeed without it: no layer is a silent no-op.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Layers } from '../../src/isolation/sandbox/bwrap.js';
import type { Layer } from '../../src/isolation/sandbox/classify.js';
import { probeSandbox } from '../../src/isolation/sandbox/probe.js';
import { createEvilWorld, sandboxBuilt, type EvilAction, type EvilWorld } from '../helpers/evil.js';

let world: EvilWorld;

beforeAll(async () => {
  const missing = sandboxBuilt();
  if (missing) throw new Error(missing);
  const probe = await probeSandbox();
  // The suite runs where CI runs: a host without the tier is a failure here, not a skip.
  if (probe.unavailable) throw new Error(probe.unavailable);
  world = await createEvilWorld();
});

afterAll(async () => {
  await world?.close();
});

async function expectBlocked(layers: Layers | undefined, action: EvilAction, by: Layer[]) {
  const ex = world.executor({ layers });
  const r = await world.run(ex, action);
  expect(r.data, `${action} escaped: ${JSON.stringify(r.data)}`).toBeUndefined();
  expect(r.outcome, `${action}: ${JSON.stringify(r.error)}`).toBe('failed');
  expect(r.error?.code, `${action}: ${r.error?.message}`).toBe('GW_SANDBOX_VIOLATION');
  expect(by, `${action} was stopped by ${r.violation?.layer}: ${r.violation?.evidence}`)
    .toContain(r.violation?.layer);
  // The gateway is unharmed and the same executor serves the next action.
  const next = await world.run(ex, 'ping');
  expect(next.outcome).toBe('succeeded');
  expect(next.speech).toBe('pong');
}

const ALL: Layers = { namespaces: true, landlock: true, seccomp: true, rlimits: true };
const NONE: Layers = { namespaces: false, landlock: false, seccomp: false, rlimits: false };
const only = (layer: keyof Layers): Layers => ({ ...NONE, [layer]: true });

describe('escape attempts with every layer on', () => {
  const table: Array<[EvilAction, Layer[]]> = [
    ['tcp_direct', ['seccomp']],
    ['broker_other_port', ['broker']],
    ['dns', ['seccomp']],
    ['read_shadow', ['namespaces', 'landlock']],
    ['read_config', ['namespaces', 'landlock']],
    ['read_secret', ['namespaces', 'landlock']],
    ['write_outside', ['namespaces', 'landlock']],
    ['fork_bomb', ['seccomp']],
    ['spawn', ['seccomp']],
    ['alloc', ['rlimit']],
    ['spin', ['rlimit']],
    ['ptrace', ['seccomp']],
    ['mount', ['seccomp']],
    ['unshare', ['seccomp']],
    ['userns', ['seccomp']],
    ['raw_socket', ['seccomp']],
  ];
  it.each(table)('%s is stopped (by %j) and the gateway serves the next action', async (a, by) => {
    await expectBlocked(ALL, a, by);
  });

  it('let nothing reach the loopback listener, the DNS server or the host filesystem', () => {
    expect(world.listenerHits()).toBe(0);
    expect(world.dnsQueries()).toBe(0);
    expect(existsSync(world.writePath)).toBe(false);
  });

  it('logged every egress attempt with its connector, allowed or not, and no secret', () => {
    const attempts = world.logLines.map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'egress attempt');
    expect(attempts.some((a) => a.allowed === false && a.connector === 'evil')).toBe(true);
    expect(world.logLines.join('\n')).not.toContain('evil-test-secret');
  });
});

describe('each layer alone stops what it is responsible for', () => {
  it('control: with every layer off, the same attempts get through', async () => {
    const ex = world.executor({ layers: NONE });
    const before = world.listenerHits();
    for (const action of ['read_secret', 'read_config', 'write_outside', 'tcp_direct',
      'fork_bomb'] as const) {
      const r = await world.run(ex, action);
      expect(r.outcome, `${action}: ${JSON.stringify(r.error)}`).toBe('succeeded');
      expect(r.data).toMatchObject({ escaped: true });
    }
    expect(world.listenerHits()).toBe(before + 1);
    expect(existsSync(world.writePath)).toBe(true);
  });

  const cases: Array<[keyof Layers, EvilAction[], Layer]> = [
    ['namespaces', ['tcp_direct', 'read_secret', 'read_config', 'read_shadow', 'write_outside',
      'mount', 'unshare', 'userns', 'raw_socket'], 'namespaces'],
    ['landlock', ['tcp_direct', 'read_secret', 'read_config', 'write_outside'], 'landlock'],
    ['seccomp', ['tcp_direct', 'dns', 'fork_bomb', 'spawn', 'ptrace', 'mount', 'unshare',
      'userns', 'raw_socket'], 'seccomp'],
    ['rlimits', ['alloc', 'spin', 'fork_bomb'], 'rlimit'],
  ];
  for (const [layer, actions, name] of cases) {
    it.each(actions)(`${layer} alone stops %s`, async (action) => {
      const hits = world.listenerHits();
      await expectBlocked(only(layer), action, [name]);
      expect(world.listenerHits()).toBe(hits);
    });
  }
});
