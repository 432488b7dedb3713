import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { scadaDnp3Manifest } from '../manifests.js';
import type { ActionResult } from '../types.js';
import { Fn } from './app.js';
import {
  asGatewayFailure, breakerName, capitalised, resolveBreaker, sessionOptions, withMaster,
  type BreakerSlots, type Dnp3Options,
} from './breaker.js';
import { statusOf, type BreakerStatus } from './connector.js';
import { Dnp3Error } from './fault.js';
import { breakerCrob, type BreakerCommand } from './master.js';
import { crobObject } from './objects.js';

/**
 * The operate path of a breaker: the code the critical tier calls. The gateway process
 * never calls it (the manifest makes operate critical): worker.ts runs it in the microVM;
 * tests also call it directly against the simulator.
 */
export interface OperateInput extends BreakerSlots {
  readonly operation: 'open' | 'close';
}

export interface OperateOptions extends Dnp3Options {
  /** The action's idempotency key: one key is operated at most once in this process. */
  readonly idempotencyKey: string;
  /** Validate and resolve everything, send nothing. */
  readonly dryRun?: boolean;
  readonly ledger?: OperateLedger;
}

export interface OperateData {
  readonly point: string;
  readonly command: BreakerCommand;
  readonly mode: 'select_before_operate' | 'direct_operate';
  readonly dryRun: boolean;
  /** True when this key was seen before and its recorded result is returned instead. */
  readonly replayed: boolean;
  /** The breaker's input read after the operate; null for a dry run or a failed read. */
  readonly readBack: BreakerStatus | null;
  /** The control object that is (or, for a dry run, would be) sent, in hex. */
  readonly crob: string;
}

type Entry =
  | { readonly state: 'running'; readonly fingerprint: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly result: ActionResult }
  | { readonly state: 'failed'; readonly fingerprint: string; readonly error: GatewayError };

/**
 * Idempotency keys of this process. A key is taken before anything is sent and never
 * released: a repeat gets the first call's result (or error) without touching the wire,
 * even when that call failed, because a failure after OPERATE left may have operated.
 * The persistent store of the service replaces this across restarts.
 */
export class OperateLedger {
  private readonly entries = new Map<string, Entry>();

  /** Null when the key is new (it is now taken); otherwise what to answer instead. */
  begin(key: string, fingerprint: string): ActionResult | null {
    const e = this.entries.get(key);
    if (!e) {
      this.entries.set(key, { state: 'running', fingerprint });
      return null;
    }
    if (e.fingerprint !== fingerprint) {
      throw new GatewayError('GW_IDEMPOTENCY_MISMATCH',
        'this idempotency key was used for a different operate');
    }
    if (e.state === 'running') {
      throw new GatewayError('GW_IDEMPOTENCY_IN_PROGRESS',
        'an operate with this idempotency key is still running');
    }
    if (e.state === 'failed') throw e.error;
    const data = e.result.data as OperateData;
    return { speech: e.result.speech, data: { ...data, replayed: true } };
  }

  finish(key: string, fingerprint: string, outcome: ActionResult | GatewayError): void {
    this.entries.set(key, outcome instanceof GatewayError
      ? { state: 'failed', fingerprint, error: outcome }
      : { state: 'done', fingerprint, result: outcome });
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }
}

/** The ledger of this process, used when a caller does not bring its own. */
export const processLedger = new OperateLedger();

const KEY = /^[A-Za-z0-9._:-]{8,128}$/;

function parseInput(input: unknown): OperateInput {
  const r = scadaDnp3Manifest.actions.operate?.input.safeParse(input);
  if (!r?.success) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'the operate input is not a breaker,' +
      ' a substation and open or close');
  }
  return r.data as OperateInput;
}

function describe(input: OperateInput, command: BreakerCommand, readBack: BreakerStatus | null):
string {
  const name = breakerName(input);
  const wanted = command === 'close' ? 'closed' : 'open';
  if (readBack === null) {
    return `The outstation accepted the ${command} of ${name}; its status could not be read back.`;
  }
  if (readBack.state === wanted) return `${capitalised(name)} is now ${wanted}.`;
  const reads = readBack.state ?? 'offline';
  return `The outstation accepted the ${command}, but ${name} still reads ${reads}.`;
}

/**
 * Trips (open) or closes one configured breaker: SELECT, echo check, OPERATE with the
 * next sequence number, echo check, then a read of its binary input. DIRECT_OPERATE only
 * when `operate_mode` says so. Throws GatewayErrors; GW_ACTION_TIMEOUT means the OPERATE
 * left and its outcome is unknown (never retried automatically).
 */
export async function operateBreaker(config: GatewayConfig, rawInput: unknown,
  o: OperateOptions): Promise<ActionResult> {
  const input = parseInput(rawInput);
  if (!KEY.test(o.idempotencyKey)) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID',
      'an operate needs an idempotency key of 8 to 128 letters, digits or ._:-');
  }
  const point = resolveBreaker(config, input);
  const settings = config.connectors.scada_dnp3;
  const command: BreakerCommand = input.operation === 'close' ? 'close' : 'trip';
  const crob = breakerCrob(command, settings.pulse_ms);
  const base = {
    point: point.key, command, mode: settings.operate_mode,
    crob: Buffer.from(crobObject(point.index, crob)).toString('hex'),
  };
  const name = breakerName(input);
  if (o.dryRun) {
    const how = settings.operate_mode === 'direct_operate'
      ? 'a direct operate' : 'select before operate';
    const data: OperateData = { ...base, dryRun: true, replayed: false, readBack: null };
    return { speech: `Dry run: I would ${input.operation} ${name} with ${how}; nothing was sent.`,
      data };
  }
  const ledger = o.ledger ?? processLedger;
  const fingerprint = `${point.key}|${command}`;
  const earlier = ledger.begin(o.idempotencyKey, fingerprint);
  if (earlier) return earlier;
  let operateSent = false;
  try {
    const readBack = await withMaster(sessionOptions(config, point, o), async (m) => {
      if (settings.operate_mode === 'direct_operate') {
        operateSent = true;
        await m.control(Fn.DIRECT_OPERATE, point.index, crob);
      } else {
        await m.control(Fn.SELECT, point.index, crob);
        operateSent = true;
        await m.control(Fn.OPERATE, point.index, crob);
      }
      try {
        return statusOf(point.key, await m.readBinaryInput(point.index));
      } catch {
        return null; // operated; only the confirmation read failed, and the reply says so
      }
    });
    const data: OperateData = { ...base, dryRun: false, replayed: false, readBack };
    const result = { speech: describe(input, command, readBack), data };
    ledger.finish(o.idempotencyKey, fingerprint, result);
    return result;
  } catch (err) {
    const unknown = operateSent && err instanceof Dnp3Error
      && (err.kind === 'timeout' || err.kind === 'closed' || err.kind === 'aborted');
    const failure = unknown
      ? new GatewayError('GW_ACTION_TIMEOUT',
        `the ${command} of ${name} was sent but not answered; its outcome is unknown`,
        { cause: err })
      : asGatewayFailure(err, name);
    ledger.finish(o.idempotencyKey, fingerprint, failure);
    throw failure;
  }
}
