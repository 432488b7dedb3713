/**
 * Which connector a command goes to when its target is a configured point: the breaker
 * command names `scada_dnp3.operate`, but the point's `[points]` entry decides the protocol,
 * so a breaker mapped to a Modbus coil goes to `scada_modbus_write.write_point` with the point
 * resolved. The dialogue asks this once, before policy, tier, read-back, confirmation and
 * audit, so all of them see the connector that will really run. A point that is not
 * configured is refused here, before anyone is asked to confirm.
 */
import type { GatewayConfig } from '../config/load.js';
import { breakerName } from './scada_dnp3/breaker.js';
import { writeFor } from './scada_modbus_write/point.js';
import { resolvePoint } from './points.js';

type Slots = Readonly<Record<string, unknown>>;

export type Route =
  | {
    readonly kind: 'routed';
    readonly connector: string;
    readonly action: string;
    /** What the action runs with instead of the slots (a resolved point), or null. */
    readonly input: Record<string, string | number> | null;
  }
  | { readonly kind: 'refused'; readonly reason: string; readonly speech: string };

/** Actions whose target is a `[points]` entry, and where each protocol sends them. */
const BY_POINT: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'scada_dnp3.operate': { dnp3: 'scada_dnp3.operate', modbus: 'scada_modbus_write.write_point' },
};

/** Every action a routed command may end up at (for the manifest checks). */
export const ROUTE_TARGETS: readonly string[] = [...new Set(Object.values(BY_POINT)
  .flatMap((m) => Object.values(m)))];

function split(action: string): { connector: string; action: string } {
  const dot = action.indexOf('.');
  return { connector: action.slice(0, dot), action: action.slice(dot + 1) };
}

/**
 * The connector, action and input that `action` with `slots` runs as. Actions that name no
 * point, and DNP3 points, keep their slots (input null).
 */
export function routeAction(
  config: Pick<GatewayConfig, 'points'>,
  action: string,
  slots: Slots,
): Route {
  const table = BY_POINT[action];
  if (!table) return { kind: 'routed', ...split(action), input: null };
  const { breaker, substation, operation } = slots;
  if (typeof breaker !== 'number' || typeof substation !== 'number'
    || (operation !== 'open' && operation !== 'close')) {
    return { kind: 'refused', reason: 'point_unknown',
      speech: 'I did not do it: I do not know which breaker.' };
  }
  const name = breakerName({ breaker, substation });
  const point = resolvePoint(config, { breaker, substation });
  const target = point ? table[point.protocol] : undefined;
  if (!point || !target) {
    return { kind: 'refused', reason: 'point_not_configured',
      speech: `I did not do it: ${name} is not configured.` };
  }
  const routed = split(target);
  if (point.protocol === 'modbus') {
    return { kind: 'routed', ...routed, input: writeFor(point, operation) };
  }
  return { kind: 'routed', ...routed, input: null };
}
