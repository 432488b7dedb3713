/**
 * What the robot's two actions do over a rosbridge link, shared by the microVM worker
 * (move_to, critical) and the in-process connector (stop). A move calls the navigation
 * service once with the action's idempotency key as request_id; the robot side takes one
 * goal per key and says `duplicate` for a repeat, which is spoken as such and never counted
 * as a second move. A stop publishes a zero Twist and, when configured, calls a Trigger
 * service. Dry run resolves the place (or the stop's topic) and connects to nothing.
 */
import { GatewayError } from '../../errors.js';
import type { ActionResult } from '../types.js';
import type { Connect } from '../egress/agent.js';
import { openLink } from './link.js';
import {
  farText, navigateAnswer, navigateRequest, resolvePlace, spokenPlace, zeroTwist,
  type RosSettings,
} from './messages.js';

export const TWIST_TYPE = 'geometry_msgs/msg/Twist';

export interface RobotCall {
  readonly settings: RosSettings;
  readonly now: Date;
  readonly signal: AbortSignal;
  readonly idempotencyKey: string | null;
  /** The host's broker inside the microVM; absent in process (a direct connection). */
  readonly connect?: Connect;
}

const PLACES = /^[a-z][a-z0-9_]{0,63}$/;

function placeName(input: unknown): string {
  const i = (typeof input === 'object' && input !== null ? input : {}) as
    Record<string, unknown>;
  const extra = Object.keys(i).filter((k) => k !== 'place');
  if (typeof i.place !== 'string' || !PLACES.test(i.place) || extra.length > 0) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'a move needs one named place');
  }
  return i.place;
}

export async function moveTo(input: unknown, call: RobotCall): Promise<ActionResult> {
  const name = placeName(input);
  const place = resolvePlace(call.settings, name);
  const key = call.idempotencyKey;
  if (!key) {
    // Without a key the robot side could not tell a replay from a new goal.
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'a move is only sent with an ' +
      'idempotency key, and this one has none');
  }
  const request = navigateRequest(place, call.now, key);
  const spoken = spokenPlace(name);
  if (call.settings.dryRun) {
    return { speech: `Dry run: I would send the robot to the ${spoken}.`,
      data: { dry_run: true, place: name, service: call.settings.navigateService, request } };
  }
  const link = await openLink({ url: call.settings.url, timeoutMs: call.settings.timeoutMs,
    signal: call.signal, ...(call.connect ? { connect: call.connect } : {}) });
  let values: unknown;
  try {
    values = await link.call(call.settings.navigateService, request);
  } finally {
    await link.close();
  }
  const answer = navigateAnswer(values);
  if (!answer.success) {
    throw new GatewayError('GW_REMOTE_REJECTED', `The robot refused to go to the ${spoken}` +
      (answer.message ? `: ${answer.message}` : ''));
  }
  const speech = answer.duplicate
    ? `The robot already had that goal: it is on its way to the ${spoken}.`
    : `The robot is on its way to the ${spoken}.`;
  return { speech, data: { place: name, request_id: key, duplicate: answer.duplicate } };
}

export async function stop(call: RobotCall): Promise<ActionResult> {
  const s = call.settings;
  if (s.dryRun) {
    return { speech: `Dry run: I would stop the robot with a zero velocity on ${s.cmdVelTopic}.`,
      data: { dry_run: true, topic: s.cmdVelTopic, service: s.stopService || null } };
  }
  const link = await openLink({ url: s.url, timeoutMs: s.timeoutMs, signal: call.signal,
    ...(call.connect ? { connect: call.connect } : {}) });
  let triggered: boolean | null = null;
  try {
    link.publish(s.cmdVelTopic, TWIST_TYPE, zeroTwist());
    if (s.stopService) {
      const v = (await link.call(s.stopService, {})) as Record<string, unknown> | null;
      triggered = v?.success === true;
      if (!triggered) {
        const why = farText(v?.message);
        throw new GatewayError('GW_REMOTE_REJECTED', 'I sent the robot a zero velocity, but ' +
          `its stop service refused${why ? `: ${why}` : ''}`);
      }
    }
  } finally {
    await link.close();
  }
  return { speech: 'I stopped the robot.',
    data: { topic: s.cmdVelTopic, service: s.stopService || null, triggered } };
}
