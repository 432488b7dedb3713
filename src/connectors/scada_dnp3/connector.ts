import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { scadaDnp3Manifest } from '../manifests.js';
import type { ActionContext, ActionResult, Connector } from '../types.js';
import {
  asGatewayFailure, breakerName, capitalised, resolveBreaker, sessionOptions, withMaster,
  type BreakerSlots, type Dnp3Options,
} from './breaker.js';
import { ONLINE, type BinaryReading } from './master.js';

/** What the status action returns as data (and the operate path reads back). */
export interface BreakerStatus {
  readonly point: string;
  /** null when the outstation does not vouch for the value (its ONLINE flag is clear). */
  readonly state: 'open' | 'closed' | null;
  readonly flags: number | null;
  readonly iin: readonly string[];
}

export function statusOf(key: string, r: BinaryReading): BreakerStatus {
  const online = r.flags === null || (r.flags & ONLINE) !== 0;
  return {
    point: key,
    state: online ? (r.state ? 'closed' : 'open') : null,
    flags: r.flags, iin: [...r.iin],
  };
}

/** The breaker's binary input, read through a fresh association to its outstation. */
export async function readBreaker(config: GatewayConfig, slots: BreakerSlots,
  o: Dnp3Options = {}): Promise<BreakerStatus> {
  const point = resolveBreaker(config, slots);
  try {
    const reading = await withMaster(sessionOptions(config, point, o),
      (m) => m.readBinaryInput(point.index));
    return statusOf(point.key, reading);
  } catch (err) {
    throw asGatewayFailure(err, breakerName(slots));
  }
}

/** IIN bits worth saying next to a status: they change what the reading means. */
const SPOKEN_IIN: Readonly<Record<string, string>> = {
  local_control: 'The outstation is in local control.',
  device_trouble: 'The outstation reports device trouble.',
};

export function describeStatus(slots: BreakerSlots, s: BreakerStatus): string {
  const name = breakerName(slots);
  const notes = s.iin.flatMap((bit) => (SPOKEN_IIN[bit] ? [` ${SPOKEN_IIN[bit]}`] : []));
  if (s.state === null) {
    return `I cannot tell: the outstation marks ${name} as offline.${notes.join('')}`;
  }
  return `${capitalised(name)} is ${s.state}.${notes.join('')}`;
}

/**
 * The scada_dnp3 connector in the gateway process. Only `status` (tier safe) runs here;
 * `operate` is critical and its path (operate.ts) is for the critical tier, so a call
 * that reaches this process is refused rather than sent.
 */
export function createScadaDnp3Connector(config: GatewayConfig): Connector {
  return {
    manifest: scadaDnp3Manifest,
    async run(action: string, input: unknown, ctx: ActionContext): Promise<ActionResult> {
      if (action !== 'status') {
        throw new GatewayError('GW_TIER_UNAVAILABLE',
          `scada_dnp3.${action} runs only in the critical tier, never in the gateway process`);
      }
      const slots = input as BreakerSlots;
      const status = await readBreaker(config, slots, { signal: ctx.signal });
      ctx.log.info({ connector: 'scada_dnp3', point: status.point, state: status.state,
        iin: status.iin }, 'breaker status read');
      return { speech: describeStatus(slots, status), data: status };
    },
  };
}
