/**
 * The robot connector as it runs inside the critical tier's microVM: a move (and a stop,
 * when critical_connectors raises the connector) over rosbridge v2 through roslib, whose
 * only connection is the one the host's broker opens to the configured rosbridge server.
 * It logs nothing; the host checks input and output against the manifest as well.
 */
import { GatewayError } from '../../errors.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { moveTo, stop, type RobotCall } from './actions.js';
import { settingsOf } from './messages.js';

function robotCall(ctx: SandboxContext): RobotCall {
  return { settings: settingsOf(ctx.settings), now: ctx.now, signal: ctx.signal,
    idempotencyKey: ctx.idempotencyKey, connect: (host, port) => ctx.connect(host, port) };
}

export const connector: SandboxedConnector = {
  name: 'ros2_dangerous_actions',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    switch (action) {
      case 'move_to':
        return moveTo(input, robotCall(ctx));
      case 'stop':
        return stop(robotCall(ctx));
      default:
        throw new GatewayError('GW_CONNECTOR_UNAVAILABLE',
          `ros2_dangerous_actions has no action ${action}`);
    }
  },
};
