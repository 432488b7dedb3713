/**
 * The shapes of scada_modbus_write's write: its input is a point already resolved from
 * `[points]` on the host (the worker in the microVM never sees the configuration), and its
 * output says what was written and what was read back. Used by the manifest (host side);
 * the worker checks its input again by hand.
 */
import { z } from 'zod';

/** Per Modbus request: from the request on the wire to its answer. */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 5_000;

/** Point names as `[points]` keys them: "breaker 7 at substation 12". */
export const POINT_NAME = /^[a-z0-9]+( [a-z0-9]+)*$/;

export const writeInput = z.strictObject({
  point: z.string().min(1).max(100).regex(POINT_NAME),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  unit_id: z.number().int().min(0).max(255),
  kind: z.enum(['coil', 'holding_register']),
  address: z.number().int().min(0).max(65_535),
  /** A coil: 1 on, 0 off. A holding register: the configured value. */
  value: z.number().int().min(0).max(65_535),
  /** What the point is once written, in the reply: "closed" or "open". */
  state: z.enum(['closed', 'open']),
}).refine((i) => i.kind !== 'coil' || i.value <= 1, 'a coil is written 0 or 1');

export type WriteInput = z.infer<typeof writeInput>;

export const writeOutput = z.strictObject({
  point: z.string(),
  kind: z.enum(['coil', 'holding_register']),
  unit_id: z.number().int(),
  address: z.number().int(),
  written: z.number().int(),
  read_back: z.number().int(),
  state: z.enum(['closed', 'open']),
});

export type WriteOutput = z.infer<typeof writeOutput>;
