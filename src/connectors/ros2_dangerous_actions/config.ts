/**
 * `[connectors.ros2_dangerous_actions]` of config/gateway.toml: where the robot's rosbridge
 * server is, the named places it can be sent to, and the topic and services it is driven
 * through. No secrets: rosbridge v2 has no authentication of its own in this connector.
 */
import { z } from 'zod';

/** A ROS name: a topic or service such as "/cmd_vel" or "/gateway/navigate". */
const rosName = z.string().regex(/^\/?[A-Za-z][A-Za-z0-9_]*(\/[A-Za-z][A-Za-z0-9_]*)*$/,
  'expected a ROS name such as "/cmd_vel"');

/** A named place: a pose in a frame (metres and radians, as ROS uses them). */
export const placeSchema = z.strictObject({
  x: z.number().finite(),
  y: z.number().finite(),
  /** Heading (yaw) in radians, counter-clockwise from the frame's x axis. */
  theta: z.number().finite().min(-2 * Math.PI).max(2 * Math.PI).default(0),
  frame: z.string().regex(/^[A-Za-z][A-Za-z0-9_/]*$/, 'expected a frame id such as "map"')
    .default('map'),
});

export type Place = z.infer<typeof placeSchema>;

export const ros2ConfigSchema = z.strictObject({
  /** The rosbridge v2 WebSocket URL (ws:// or wss://); empty: the robot is not set up. */
  url: z.union([z.literal(''), z.url({ protocol: /^wss?$/ })]).default(''),
  /** Navigation service: request { request_id, goal: PoseStamped }, see README. */
  navigate_service: rosName.default('/gateway/navigate_to_pose'),
  /** Topic the stop publishes a zero geometry_msgs/msg/Twist on. */
  cmd_vel_topic: rosName.default('/cmd_vel'),
  /** An optional std_srvs/srv/Trigger the stop calls after the zero Twist; empty: none. */
  stop_service: z.union([z.literal(''), rosName]).default(''),
  /** Canonical place names of intents/en/robot.yaml (loading_dock) -> pose. */
  places: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), placeSchema).default({}),
  /** Connection and service-call deadline; below the executor's action deadline. */
  timeout_ms: z.number().int().min(100).max(9_000).default(5_000),
  /** Validate and resolve the place, connect to nothing, send nothing. */
  dry_run: z.boolean().default(false),
});

export type Ros2Config = z.infer<typeof ros2ConfigSchema>;
