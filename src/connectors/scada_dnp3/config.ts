import { z } from 'zod';

/**
 * `[connectors.scada_dnp3]` of config/gateway.toml: how this master talks to every DNP3
 * point of `[points]`. Which outstation and index a breaker is comes from its point.
 */
export const dnp3ConfigSchema = z.strictObject({
  /** This master's link address (0..65519; 65520 and up are reserved). */
  master_address: z.number().int().min(0).max(65_519).default(1),
  /** How long to wait for each response fragment before the request fails. */
  response_timeout_ms: z.number().int().min(50).max(60_000).default(3_000),
  connect_timeout_ms: z.number().int().min(50).max(60_000).default(3_000),
  /**
   * `select_before_operate` (SELECT, echo check, then OPERATE) unless the site has decided
   * that one DIRECT_OPERATE is enough.
   */
  operate_mode: z.enum(['select_before_operate', 'direct_operate'])
    .default('select_before_operate'),
  /** CROB on-time of the TRIP or CLOSE pulse. */
  pulse_ms: z.number().int().min(1).max(60_000).default(1_000),
  /** Operate: validate and resolve the point and build the CROB, send nothing. */
  dry_run: z.boolean().default(false),
});

export type Dnp3Config = z.infer<typeof dnp3ConfigSchema>;
