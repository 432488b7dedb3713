/**
 * Running the dialogue's actions: the audit records around a world-changing action, and the
 * critical tier's microVM started while the confirmation prompt is spoken.
 *
 * When a critical action is read back, its VM is launched at once (restored, cold or from the
 * warm pool); the person hears the prompt and says "confirm" while it boots. What the boot
 * cost is then split in two: the share hidden behind the prompt and the answer, and the wait
 * added after "confirm". Both are counted against the conversation's own clock (a replayed
 * conversation's audio durations are the time that passed), or against the wall clock when
 * the conversation really happens at real speed (live audio, `replay --realtime`).
 */
import { performance } from 'node:perf_hooks';
import type { GatewayConfig } from '../config/load.js';
import type { Tier } from '../connectors/types.js';
import { asGatewayError } from '../errors.js';
import type { Execution, Executor, PreparedVm } from '../isolation/executor.js';
import { IMAGE_REFUSALS } from '../isolation/executor.js';
import { Firelog } from '../isolation/vm/firelog.js';
import type { Logger } from '../log.js';
import type { SlotValue } from '../nlu/types.js';
import type { TurnReport } from './report.js';

/** What the runner needs of the audit trail (src/audit/log.ts). */
export interface ActionAudit {
  accepted(r: {
    principal: string; connector: string; action: string; tier: string; slots?: unknown;
  }): Promise<string>;
  outcome(id: string, outcome: Execution['outcome'], code?: string): Promise<void>;
}

export interface ActionToRun {
  readonly connector: string;
  readonly action: string;
  readonly input: Record<string, SlotValue>;
}

/** Where the conversation stands when an action is started or run. */
export interface TurnClock {
  /** Conversation clock at the end of the turn's input (the moment it was heard). */
  readonly heardAt: number;
  /** True when the conversation happens at real speed: the wall clock is its clock. */
  readonly realtime: boolean;
}

interface Launched {
  readonly key: string;
  readonly prepared: PreparedVm;
  readonly launchedAtConv: number;
}

export type MicrovmReport = NonNullable<TurnReport['microvm']>;

export class ActionRunner {
  private launched: Launched | null = null;

  constructor(
    private readonly executor: Executor,
    private readonly config: GatewayConfig,
    private readonly audit: ActionAudit | undefined,
    private readonly now: (() => Date) | undefined,
    private readonly timeZone: string,
    private readonly firelog = new Firelog(),
  ) {}

  /**
   * Starts the VM of a critical action that is being read back, so that it boots while the
   * prompt is spoken. Anything else (no VM for this tier, a refusal) is left for the run.
   */
  async prepare(
    pending: { connector: string; action: string; tier: Tier } | null,
    clock: TurnClock,
    log: Logger,
  ): Promise<void> {
    const key = pending ? `${pending.connector}.${pending.action}` : null;
    if (this.launched && this.launched.key !== key) await this.discard();
    if (!pending || pending.tier !== 'critical' || this.launched) return;
    const prepared = await this.executor.prepare({ ...pending, input: null }, log);
    if (prepared) this.launched = { key: key ?? '', prepared, launchedAtConv: clock.heardAt };
  }

  /** Drops a started VM whose action will not run (cancelled, replaced, expired). */
  async discard(): Promise<void> {
    const l = this.launched;
    this.launched = null;
    if (l) await l.prepared.handle.destroy();
  }

  /** Keeps the started VM only while its action is still the one pending. */
  async keepFor(pending: { connector: string; action: string } | null): Promise<void> {
    if (!this.launched) return;
    if (!pending || this.launched.key !== `${pending.connector}.${pending.action}`) {
      await this.discard();
    }
  }

  /** Runs one action; a world-changing one is recorded before it runs and after. */
  async run(
    run: ActionToRun, tier: Tier, clock: TurnClock, log: Logger,
  ): Promise<{ execution: Execution; microvm: MicrovmReport | null }> {
    const key = `${run.connector}.${run.action}`;
    const launched = this.launched?.key === key ? this.launched : null;
    if (!launched) await this.discard(); // never handed to another action
    this.launched = null;
    try {
      const confirmedAt = performance.now();
      const execution = await this.audited(run, tier, log, launched?.prepared ?? null);
      const microvm = execution.microvm
        ? this.share(execution.microvm, launched, clock, confirmedAt, run.connector) : null;
      return { execution, microvm };
    } finally {
      await launched?.prepared.handle.destroy();
    }
  }

  private share(
    vm: NonNullable<Execution['microvm']>, launched: Launched | null, clock: TurnClock,
    confirmedAt: number, connector: string,
  ): MicrovmReport {
    const p = launched?.prepared;
    // Launch to agent ready, on the host's clock (verification included).
    const startMs = p && p.readyAt !== null ? p.readyAt - p.launchedAt : vm.bootMs;
    let added: number | null = null;
    if (startMs !== null) {
      if (!launched || !p || p.readyAt === null) added = startMs;
      else if (clock.realtime) added = Math.max(0, p.readyAt - confirmedAt);
      else added = Math.max(0, startMs - (clock.heardAt - launched.launchedAtConv));
    }
    const hidden = startMs !== null && added !== null ? Math.max(0, startMs - added) : null;
    const report: MicrovmReport = {
      backend: vm.backend, mode: vm.mode ?? 'cold',
      bootMs: vm.bootMs, startMs: startMs === null ? null : Math.round(startMs),
      startedAtMs: launched ? Math.round(launched.launchedAtConv) : null,
      hiddenMs: hidden === null ? null : Math.round(hidden),
      addedWaitMs: added === null ? null : Math.round(added),
      clock: clock.realtime ? 'wall' : 'conversation',
    };
    this.firelog.line(`microVM for connector=${connector} (${report.backend}, ${report.mode}): ` +
      `ready ${report.startMs ?? '?'} ms after launch, ${report.hiddenMs ?? '?'} ms hidden ` +
      `behind the prompt, ${report.addedWaitMs ?? '?'} ms added after "confirm" ` +
      `(${report.clock} clock)`);
    return report;
  }

  private async audited(
    run: ActionToRun, tier: Tier, log: Logger, prepared: PreparedVm | null,
  ): Promise<Execution> {
    const principal = this.config.dialogue.local_principal;
    // What cannot run at all (no such action, no tier) is refused before any record.
    const refused = await this.executor.precheck({ ...run, tier });
    // ...except an image that failed verification: refused with an audit record (issue 6).
    const badImage = refused?.error && IMAGE_REFUSALS.has(refused.error.code) ? refused : null;
    if (refused && !(badImage && this.audit)) return refused;
    const audited = tier === 'dangerous' || tier === 'critical';
    const audit = this.audit;
    if (audited && !audit) {
      const message = 'no audit trail: run `gateway keys` to make the audit signing key';
      return { outcome: 'refused', error: { code: 'GW_AUDIT_UNAVAILABLE', message },
        speech: 'I did not do it, because actions like this are only taken with an audit ' +
          'trail, and none is set up.' };
    }
    let id: string | null = null;
    if (audited && audit) {
      try {
        id = await audit.accepted({ principal, connector: run.connector, action: run.action,
          tier, slots: run.input });
      } catch (err) {
        const e = asGatewayError(err, 'GW_AUDIT_WRITE_FAILED');
        return { outcome: 'refused', error: { code: e.code, message: e.message },
          speech: 'I did not do it, because its audit record could not be written.' };
      }
    }
    const execution = badImage ?? await this.executor.run({ ...run, tier }, {
      now: this.now?.() ?? new Date(), timeZone: this.timeZone, principal,
      signal: new AbortController().signal, log,
      // The audit record's id is the action's idempotency key, handed to the far side.
      ...(id !== null ? { idempotencyKey: id } : {}),
    }, prepared);
    if (id !== null && audit) {
      await audit.outcome(id, execution.outcome, execution.error?.code).catch((err: unknown) => {
        // The action has run: its outcome is still said; start-up recovery marks it.
        log.error({ code: asGatewayError(err).code }, 'audit outcome not written');
      });
    }
    return execution;
  }
}
