import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { ActionRunner, type ActionAudit } from '../../src/dialogue/act.js';
import type { Execution, Executor, PreparedVm } from '../../src/isolation/executor.js';
import type { VmHandle } from '../../src/isolation/vm/launch.js';
import { createLogger } from '../../src/log.js';

const log = createLogger({ level: 'silent' });
const config = validateConfig({}, 'test.toml');

/** A VM handle whose readiness the test decides; it records whether it was destroyed. */
function fakeHandle(): VmHandle & { destroyed: boolean } {
  const h = {
    backend: 'QEMU (tcg)', destroyed: false,
    ready: Promise.resolve({ bootMs: 0, mode: 'restored' as const, verifyMs: 0 }),
    run: () => Promise.reject(new Error('not used')),
    destroy: () => {
      h.destroyed = true;
      return Promise.resolve();
    },
  };
  return h as unknown as VmHandle & { destroyed: boolean };
}

/** An executor above the interface: `prepare` hands out the prepared VM the test made. */
function fakeExecutor(prepared: PreparedVm | null, bootMs: number): Executor & {
  ranWith: PreparedVm | null | undefined;
} {
  const e = {
    ranWith: undefined as PreparedVm | null | undefined,
    precheck: () => Promise.resolve(null),
    prepare: () => Promise.resolve(prepared),
    run: (_r: unknown, _c: unknown, p: PreparedVm | null): Promise<Execution> => {
      e.ranWith = p;
      return Promise.resolve({ outcome: 'succeeded', speech: 'done',
        microvm: { backend: 'QEMU (tcg)', bootMs, mode: p ? 'restored' : 'cold' } });
    },
  };
  return e as unknown as Executor & { ranWith: PreparedVm | null | undefined };
}

const audit: ActionAudit = {
  accepted: () => Promise.resolve('a1'),
  outcome: () => Promise.resolve(),
};
const pending = { connector: 'scada_modbus_write', action: 'write', tier: 'critical' as const };
const run = { connector: 'scada_modbus_write', action: 'write', input: {} };

function prepared(launchedAt: number, readyAt: number | null): PreparedVm & {
  handle: VmHandle & { destroyed: boolean };
} {
  return { connector: 'scada_modbus_write', handle: fakeHandle(), launchedAt, readyAt };
}

describe('the microVM started behind the confirmation prompt', () => {
  it('counts a boot shorter than the prompt as wholly hidden (conversation clock)', async () => {
    const p = prepared(100, 2_600); // ready 2.5 s after launch
    const runner = new ActionRunner(fakeExecutor(p, 2_400), config, audit, undefined, 'UTC');
    await runner.prepare(pending, { heardAt: 1_000, realtime: false }, log);
    // "confirm" heard 4 s of conversation later: the prompt and the answer took that long.
    const r = await runner.run(run, 'critical', { heardAt: 5_000, realtime: false }, log);
    expect(r.microvm).toMatchObject({ startedAtMs: 1_000, startMs: 2_500, hiddenMs: 2_500,
      addedWaitMs: 0, mode: 'restored', clock: 'conversation' });
    expect(p.handle.destroyed).toBe(true);
  });

  it('adds what the boot took beyond the prompt and the answer', async () => {
    const p = prepared(0, 6_000);
    const runner = new ActionRunner(fakeExecutor(p, 5_900), config, audit, undefined, 'UTC');
    await runner.prepare(pending, { heardAt: 0, realtime: false }, log);
    const r = await runner.run(run, 'critical', { heardAt: 4_000, realtime: false }, log);
    expect(r.microvm).toMatchObject({ startMs: 6_000, hiddenMs: 4_000, addedWaitMs: 2_000 });
  });

  it('hides nothing when the VM was started only at "confirm"', async () => {
    const e = fakeExecutor(null, 3_000);
    const runner = new ActionRunner(e, config, audit, undefined, 'UTC');
    const r = await runner.run(run, 'critical', { heardAt: 9_000, realtime: false }, log);
    expect(e.ranWith).toBeNull();
    expect(r.microvm).toMatchObject({ startedAtMs: null, hiddenMs: 0, addedWaitMs: 3_000,
      mode: 'cold' });
  });

  it('measures the wait on the wall clock when the conversation runs at real speed', async () => {
    const now = performance.now();
    const p = prepared(now - 5_000, now - 1_000); // ready a second before "confirm" is run
    const runner = new ActionRunner(fakeExecutor(p, 3_900), config, audit, undefined, 'UTC');
    await runner.prepare(pending, { heardAt: 0, realtime: true }, log);
    const r = await runner.run(run, 'critical', { heardAt: 5_000, realtime: true }, log);
    expect(r.microvm).toMatchObject({ addedWaitMs: 0, hiddenMs: 4_000, clock: 'wall' });
  });

  it('destroys a started VM when its action is no longer pending', async () => {
    const p = prepared(0, 10);
    const runner = new ActionRunner(fakeExecutor(p, 10), config, audit, undefined, 'UTC');
    await runner.prepare(pending, { heardAt: 0, realtime: false }, log);
    await runner.keepFor(pending);
    expect(p.handle.destroyed).toBe(false);
    await runner.keepFor(null); // cancelled, expired or replaced by a new command
    expect(p.handle.destroyed).toBe(true);
  });

  it('never hands a VM started for one action to another', async () => {
    const p = prepared(0, 10);
    const e = fakeExecutor(p, 10);
    const runner = new ActionRunner(e, config, audit, undefined, 'UTC');
    await runner.prepare(pending, { heardAt: 0, realtime: false }, log);
    await runner.run({ ...run, action: 'read' }, 'critical', { heardAt: 10, realtime: false }, log);
    expect(e.ranWith).toBeNull();
    expect(p.handle.destroyed).toBe(true);
  });
});
