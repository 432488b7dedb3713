/**
 * From a breaker command to a Modbus write: the configured point (its unit, coil or holding
 * register, and address) and the value that "close" or "open" means for it. Runs on the
 * host, before the read-back, so that policy, tier, audit and the microVM all see the
 * resolved write.
 */
import type { ModbusPointConfig, ResolvedModbusPoint } from '../points.js';
import type { WriteInput } from './schemas.js';

export type Operation = 'open' | 'close';

/** The value written for an operation: a coil is on when closed; a register as configured. */
export function valueFor(point: ModbusPointConfig, operation: Operation): number {
  if (point.kind === 'coil') return operation === 'close' ? 1 : 0;
  const v = operation === 'close' ? point.close_value : point.open_value;
  // The schema requires both values for a register; a missing one is a programming error.
  if (v === undefined) throw new Error(`holding register point without a ${operation}_value`);
  return v;
}

/** The write action's input for one operation of a resolved point. */
export function writeFor(point: ResolvedModbusPoint, operation: Operation): WriteInput {
  return {
    point: point.key, host: point.host, port: point.port, unit_id: point.unit_id,
    kind: point.kind, address: point.address, value: valueFor(point, operation),
    state: operation === 'close' ? 'closed' : 'open',
  };
}
