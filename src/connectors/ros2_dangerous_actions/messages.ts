/**
 * The ROS messages and service exchanges of the robot connector, as plain JSON the rosbridge
 * v2 protocol carries: the navigation goal (geometry_msgs/msg/PoseStamped inside the
 * navigation service's request, with the action's idempotency key as `request_id`), the zero
 * geometry_msgs/msg/Twist of a stop, and the checks of the answers. Pure functions with
 * Node.js built-ins only: this module also runs inside the microVM, where zod is not loaded.
 */
import { GatewayError } from '../../errors.js';
import type { Place } from './config.js';

/** The settings ros2Plan (plan.ts) hands to the worker; checked again by settingsOf. */
export interface RosSettings {
  readonly url: string;
  readonly navigateService: string;
  readonly cmdVelTopic: string;
  readonly stopService: string;
  readonly places: Readonly<Record<string, Place>>;
  readonly timeoutMs: number;
  readonly dryRun: boolean;
}

export interface Vector3 { readonly x: number; readonly y: number; readonly z: number }

export interface PoseStamped {
  readonly header: { readonly stamp: { readonly sec: number; readonly nanosec: number };
    readonly frame_id: string };
  readonly pose: {
    readonly position: Vector3;
    readonly orientation: Vector3 & { readonly w: number };
  };
}

export interface NavigateRequest {
  /** The action's idempotency key: the robot side takes a goal once per key. */
  readonly request_id: string;
  readonly goal: PoseStamped;
}

export interface NavigateAnswer {
  readonly success: boolean;
  /** True when the robot side had already taken a goal with this request_id. */
  readonly duplicate: boolean;
  readonly message: string;
}

const ROS_NAME = /^\/?[A-Za-z][A-Za-z0-9_]*(\/[A-Za-z][A-Za-z0-9_]*)*$/;
const FRAME = /^[A-Za-z][A-Za-z0-9_/]*$/;
const MAX_FAR_TEXT = 160;

function configError(message: string): GatewayError {
  return new GatewayError('GW_CONNECTOR_CONFIG', message);
}

/** A rotation about z by theta radians, as a unit quaternion. */
export function yawQuaternion(theta: number): Vector3 & { w: number } {
  return { x: 0, y: 0, z: Math.sin(theta / 2), w: Math.cos(theta / 2) };
}

/** The goal pose of a place, stamped with the time the action was taken. */
export function poseStamped(place: Place, now: Date): PoseStamped {
  const ms = now.getTime();
  const sec = Math.floor(ms / 1000);
  return {
    header: { stamp: { sec, nanosec: (ms - sec * 1000) * 1_000_000 }, frame_id: place.frame },
    pose: { position: { x: place.x, y: place.y, z: 0 }, orientation: yawQuaternion(place.theta) },
  };
}

export function navigateRequest(place: Place, now: Date, idempotencyKey: string):
NavigateRequest {
  return { request_id: idempotencyKey, goal: poseStamped(place, now) };
}

/** geometry_msgs/msg/Twist with every component zero: "do not move". */
export function zeroTwist(): { linear: Vector3; angular: Vector3 } {
  return { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
}

/** Text from the far side made safe to speak: one short line of printable characters. */
export function farText(value: unknown): string {
  const text = typeof value === 'string' ? value : '';
  const line = text.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line.length > MAX_FAR_TEXT ? `${line.slice(0, MAX_FAR_TEXT - 3)}...` : line;
}

/** The navigation service's answer; anything but a boolean `success` is a broken answer. */
export function navigateAnswer(values: unknown): NavigateAnswer {
  const v = (typeof values === 'object' && values !== null ? values : {}) as
    Record<string, unknown>;
  if (typeof v.success !== 'boolean') {
    throw new GatewayError('GW_CONNECTOR_FAILED', 'the navigation service answered without ' +
      'saying whether it took the goal');
  }
  return { success: v.success, duplicate: v.duplicate === true, message: farText(v.message) };
}

/** A place name as it is said: loading_dock -> "loading dock". */
export function spokenPlace(name: string): string {
  return name.replace(/_/g, ' ');
}

function placeOf(value: unknown): Place | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
  if (!finite(p.x) || !finite(p.y) || !finite(p.theta) || typeof p.frame !== 'string'
    || !FRAME.test(p.frame)) return null;
  return { x: p.x, y: p.y, theta: p.theta, frame: p.frame };
}

/** The pose of a named place, or GW_CONNECTOR_CONFIG saying which key to set. */
export function resolvePlace(settings: RosSettings, name: string): Place {
  const place = Object.hasOwn(settings.places, name) ? settings.places[name] : undefined;
  if (!place) {
    throw configError(`The ${spokenPlace(name)} has no coordinates in ` +
      'connectors.ros2_dangerous_actions.places, so the robot was not moved');
  }
  return place;
}

/**
 * The settings as the worker receives them (JSON from the host), checked by hand: names
 * the keys that are wrong. Also used in process, on the plan's own output.
 */
export function settingsOf(s: Readonly<Record<string, unknown>>): RosSettings {
  const bad: string[] = [];
  const url = typeof s.url === 'string' ? s.url : '';
  try {
    if (!['ws:', 'wss:'].includes(new URL(url).protocol)) bad.push('url');
  } catch {
    bad.push('url');
  }
  const name = (key: string, optional = false): string => {
    const v = s[key];
    if (typeof v === 'string' && (ROS_NAME.test(v) || (optional && v === ''))) return v;
    bad.push(key);
    return '';
  };
  const navigateService = name('navigate_service');
  const cmdVelTopic = name('cmd_vel_topic');
  const stopService = name('stop_service', true);
  const places: Record<string, Place> = {};
  const raw = s.places;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad.push('places');
  else {
    for (const [key, value] of Object.entries(raw)) {
      const p = placeOf(value);
      if (p) places[key] = p;
      else bad.push(`places.${key}`);
    }
  }
  const timeoutMs = typeof s.timeout_ms === 'number' && s.timeout_ms >= 100
    && s.timeout_ms <= 60_000 ? s.timeout_ms : (bad.push('timeout_ms'), 0);
  if (bad.length > 0) {
    throw configError('The robot is not set up, so nothing was sent; check ' +
      `connectors.ros2_dangerous_actions (${bad.join(', ')})`);
  }
  return { url, navigateService, cmdVelTopic, stopService, places, timeoutMs,
    dryRun: s.dry_run === true };
}
