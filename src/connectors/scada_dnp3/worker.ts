/**
 * The DNP3 connector as it runs inside its microVM (operate is critical): the master of
 * operate.ts over a TCP stream the host's broker opens to the point's outstation. Select
 * before operate (unless the site set direct_operate): SELECT, echo check, OPERATE in the
 * next application sequence number, echo check, read-back. An OPERATE that went out
 * unanswered is GW_ACTION_TIMEOUT (outcome unknown) and is never sent again: not here (the
 * key is taken before anything is sent) and not by the gateway (the action is recorded
 * indeterminate). DNP3 has no idempotency key of its own. Dry run resolves the point and
 * builds the CROB, and connects to nothing. It logs nothing.
 */
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { dnp3ConfigSchema } from './config.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { operateBreaker } from './operate.js';

type Dnp3Part = Pick<GatewayConfig, 'points' | 'connectors'>;

/** The settings dnp3Plan (plan.ts) hands over, checked again here with the config schema. */
function configOf(ctx: SandboxContext): { config: Dnp3Part; dryRun: boolean } {
  const s = ctx.settings;
  const settings = dnp3ConfigSchema.safeParse(s.scada_dnp3);
  const points = s.points;
  if (!settings.success || typeof points !== 'object' || points === null) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'DNP3 is not set up; check connectors.scada_dnp3 and [points]');
  }
  const config = { points, connectors: { scada_dnp3: settings.data } } as unknown as Dnp3Part;
  return { config, dryRun: settings.data.dry_run };
}

export const connector: SandboxedConnector = {
  name: 'scada_dnp3',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    if (action !== 'operate') {
      throw new GatewayError('GW_CONNECTOR_UNAVAILABLE',
        `scada_dnp3 has no isolated action ${action}`);
    }
    const { config, dryRun } = configOf(ctx);
    return operateBreaker(config as GatewayConfig, input, {
      idempotencyKey: ctx.idempotencyKey ?? '', dryRun, signal: ctx.signal,
      connect: (host, port) => ctx.connect(host, port),
    });
  },
};
