import type { GatewayConfig } from '../config/load.js';

/** A configured point, of either protocol. */
export type AnyPointConfig = GatewayConfig['points'][string];
export type Dnp3PointConfig = Extract<AnyPointConfig, { protocol: 'dnp3' }>;
export type ModbusPointConfig = Extract<AnyPointConfig, { protocol: 'modbus' }>;
export type PointProtocol = AnyPointConfig['protocol'];

/** The DNP3 code's name for a DNP3 point (written before points had a second protocol). */
export type PointConfig = Dnp3PointConfig;

/** A configured point and the spoken name it was found under. */
export type Resolved<P extends AnyPointConfig> = P & { readonly key: string };
/** A resolved DNP3 point (the name the DNP3 connector uses). */
export type ResolvedPoint = Resolved<Dnp3PointConfig>;
export type ResolvedModbusPoint = Resolved<ModbusPointConfig>;
export type AnyResolvedPoint = Resolved<AnyPointConfig>;

/** An intent's slots; only the ones that name a point are read. */
type Slots = Readonly<Record<string, unknown>>;

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The `[points]` key that an intent's slots name, or null when they name no point.
 * Breaker slots give "breaker 7 at substation 12"; a `point` slot gives its canonical
 * value with spaces for underscores ("pump_1" -> "pump 1"). Numbers are written in digits.
 */
export function pointKey(slots: Slots): string | null {
  const { breaker, substation, point } = slots;
  if (isCount(breaker) && isCount(substation)) {
    return `breaker ${breaker} at substation ${substation}`;
  }
  if (typeof point === 'string' && /^[a-z0-9]+(_[a-z0-9]+)*$/.test(point)) {
    return point.replace(/_/g, ' ');
  }
  return null;
}

/**
 * Looks up the point that `slots` (or a ready key) name in the configuration. Returns null
 * when no point is configured under that name, or when it speaks another protocol than the
 * one asked for: an action never reaches a device that it was not configured for.
 */
export function resolvePoint(config: Pick<GatewayConfig, 'points'>, slotsOrKey: Slots | string,
  protocol: 'dnp3'): ResolvedPoint | null;
export function resolvePoint(config: Pick<GatewayConfig, 'points'>, slotsOrKey: Slots | string,
  protocol: 'modbus'): ResolvedModbusPoint | null;
export function resolvePoint(config: Pick<GatewayConfig, 'points'>, slotsOrKey: Slots | string,
  protocol?: PointProtocol): AnyResolvedPoint | null;
export function resolvePoint(
  config: Pick<GatewayConfig, 'points'>,
  slotsOrKey: Slots | string,
  protocol?: PointProtocol,
): AnyResolvedPoint | null {
  const key = typeof slotsOrKey === 'string' ? slotsOrKey : pointKey(slotsOrKey);
  if (key === null || !Object.hasOwn(config.points, key)) return null;
  const found = config.points[key];
  if (found === undefined) return null;
  if (protocol !== undefined && found.protocol !== protocol) return null;
  return { key, ...found };
}
