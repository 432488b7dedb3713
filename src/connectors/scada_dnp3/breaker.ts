import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, type ErrorCode } from '../../errors.js';
import { numberToWords, MAX_SPOKEN_NUMBER } from '../../nlu/numbers.js';
import { resolvePoint, type ResolvedPoint } from '../points.js';
import { Dnp3Error, type FaultKind } from './fault.js';
import { Dnp3Master } from './master.js';
import type { SessionOptions } from './session.js';

/** What a breaker action's input names. */
export interface BreakerSlots {
  readonly breaker: number;
  readonly substation: number;
}

function spokenNumber(n: number): string {
  return Number.isInteger(n) && n >= 0 && n <= MAX_SPOKEN_NUMBER ? numberToWords(n) : String(n);
}

/** "breaker seven at substation twelve": how replies and errors name a breaker. */
export function breakerName(s: BreakerSlots): string {
  return `breaker ${spokenNumber(s.breaker)} at substation ${spokenNumber(s.substation)}`;
}

export function capitalised(s: string): string {
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}`;
}

/**
 * The configured DNP3 point of a breaker. A breaker that is not in `[points]`, or is
 * configured for another protocol, is never reached: GW_CONNECTOR_CONFIG, said as it is.
 */
export function resolveBreaker(config: Pick<GatewayConfig, 'points'>, s: BreakerSlots):
ResolvedPoint {
  const point = resolvePoint(config, { breaker: s.breaker, substation: s.substation }, 'dnp3');
  if (!point) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      `${breakerName(s)} is not configured as a DNP3 point`);
  }
  return point;
}

export interface Dnp3Options {
  readonly signal?: AbortSignal;
  readonly onFrame?: SessionOptions['onFrame'];
  /** How to reach the outstation; default a TCP connection (an isolated tier: its broker). */
  readonly connect?: SessionOptions['connect'];
}

/** Session settings for one point: its outstation from `[points]`, the rest from settings. */
export function sessionOptions(config: Pick<GatewayConfig, 'connectors'>, point: ResolvedPoint,
  o: Dnp3Options = {}): SessionOptions {
  const c = config.connectors.scada_dnp3;
  return {
    host: point.host, port: point.port, outstationAddress: point.address,
    masterAddress: c.master_address, responseTimeoutMs: c.response_timeout_ms,
    connectTimeoutMs: c.connect_timeout_ms, signal: o.signal, onFrame: o.onFrame,
    connect: o.connect,
  };
}

/** Opens a master on the point's outstation, runs `fn`, and always closes the link. */
export async function withMaster<T>(options: SessionOptions, fn: (m: Dnp3Master) => Promise<T>):
Promise<T> {
  const master = await Dnp3Master.open(options);
  try {
    return await fn(master);
  } finally {
    master.close();
  }
}

const REFUSALS: ReadonlySet<FaultKind> = new Set<FaultKind>(
  ['iin_error', 'crob_status', 'echo_mismatch', 'point_missing']);

/**
 * A DNP3 failure as a gateway error whose message can be spoken after "That did not work:".
 * The outstation refusing is GW_REMOTE_REJECTED; no answer or a broken link is
 * GW_REMOTE_UNAVAILABLE; cancellation is the executor's deadline.
 */
export function asGatewayFailure(err: unknown, name: string): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!(err instanceof Dnp3Error)) {
    const message = err instanceof Error ? err.message : String(err);
    return new GatewayError('GW_CONNECTOR_FAILED', message, { cause: err });
  }
  let code: ErrorCode = 'GW_REMOTE_UNAVAILABLE';
  if (REFUSALS.has(err.kind)) code = 'GW_REMOTE_REJECTED';
  if (err.kind === 'aborted') code = 'GW_ACTION_TIMEOUT';
  return new GatewayError(code, `the outstation of ${name} ${detailOf(err)}`, { cause: err });
}

function detailOf(err: Dnp3Error): string {
  const detail = err.message.slice(err.kind.length + 2);
  switch (err.kind) {
    case 'connect': return `cannot be reached (${detail})`;
    case 'timeout': return `did not answer (${detail})`;
    case 'closed': return `closed the connection (${detail})`;
    case 'aborted': return 'was not asked in time';
    default: return `refused the request (${detail})`;
  }
}
