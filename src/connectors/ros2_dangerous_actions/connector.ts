/**
 * The robot connector in the gateway process: the emergency stop only. A stop must not wait
 * for a microVM to boot (seconds here, under emulation) while the robot keeps moving, and it
 * can only take motion away, so its manifest tier is elevated: in process, for an
 * authenticated principal, never held for confirmation. A move is critical and runs only in
 * the microVM (worker.ts); should one reach this code it is refused, never sent.
 */
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { ros2Manifest } from '../manifests.js';
import type { ActionContext, Connector } from '../types.js';
import { stop } from './actions.js';
import { settingsOf } from './messages.js';
import { ros2Plan } from './plan.js';

export function createRos2Connector(config: GatewayConfig): Connector {
  return {
    manifest: ros2Manifest,
    async run(action: string, _input: unknown, ctx: ActionContext) {
      if (action !== 'stop') {
        throw new GatewayError('GW_TIER_UNAVAILABLE',
          `ros2_dangerous_actions.${action} runs only in its own tier, never in process`);
      }
      // Settings are read per call, so a corrected configuration needs no restart of a test.
      const settings = settingsOf(ros2Plan(config).settings);
      return stop({ settings, now: ctx.now, signal: ctx.signal,
        idempotencyKey: ctx.idempotencyKey ?? null });
    },
  };
}
