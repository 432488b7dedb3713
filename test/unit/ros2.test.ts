/**
 * The robot connector (ros2_dangerous_actions): the rosbridge messages it builds, its
 * configuration and plan, and its two actions through roslib against a local rosbridge v2
 * server that records every op (test/support/rosbridge-server.ts). The move's connection
 * goes through a connect function, as the host's broker gives it inside the microVM.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { ros2Manifest } from '../../src/connectors/manifests.js';
import { createConnectors } from '../../src/connectors/registry.js';
import {
  moveTo, stop, type RobotCall,
} from '../../src/connectors/ros2_dangerous_actions/actions.js';
import {
  farText, navigateAnswer, navigateRequest, poseStamped, resolvePlace, settingsOf, yawQuaternion,
  zeroTwist,
} from '../../src/connectors/ros2_dangerous_actions/messages.js';
import { ros2Plan } from '../../src/connectors/ros2_dangerous_actions/plan.js';
import { connector as worker } from '../../src/connectors/ros2_dangerous_actions/worker.js';
import type { SandboxContext } from '../../src/connectors/types.js';
import { createLogger } from '../../src/log.js';
import {
  NAVIGATE_SERVICE, RosbridgeServer, STOP_SERVICE,
} from '../support/rosbridge-server.js';

const NOW = new Date('2026-12-07T08:00:00.250Z');
const KEY = 'act-7f3a9c';
const DOCK = { x: 12.5, y: -3, theta: Math.PI / 2, frame: 'map' };

let server: RosbridgeServer;

function config(over: Record<string, unknown> = {}): ReturnType<typeof validateConfig> {
  return validateConfig({ connectors: { ros2_dangerous_actions: {
    url: server.url, stop_service: STOP_SERVICE, timeout_ms: 3_000,
    places: { loading_dock: DOCK, kitchen: { x: 2, y: 4.5 } }, ...over,
  } } }, 'test');
}

/**
 * A connect function like the broker's: its stream is a plain Duplex, as in the microVM
 * (no setTimeout, no socket methods), over a TCP connection to loopback.
 */
const dialed: string[] = [];
function dial(host: string, port: number): Promise<Duplex> {
  dialed.push(`${host}:${port}`);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => {
      const d = new Duplex({
        read() {},
        write(chunk: Buffer, _enc, done) { s.write(chunk, done); },
        final(done) { s.end(); done(); },
      });
      s.on('data', (c: Buffer) => d.push(c));
      s.on('end', () => d.push(null));
      s.on('error', (e) => d.destroy(e));
      resolve(d);
    });
    s.once('error', reject);
  });
}

function call(over: Record<string, unknown> = {}, key: string | null = KEY): RobotCall {
  return { settings: settingsOf(ros2Plan(config(over)).settings), now: NOW,
    signal: new AbortController().signal, idempotencyKey: key, connect: dial };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'none', (e: unknown) => (e as { code?: string }).code ?? 'no code');
}

beforeAll(async () => {
  server = await RosbridgeServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  dialed.length = 0;
});

describe('rosbridge messages', () => {
  it('builds a PoseStamped goal with the heading as a quaternion and a ROS 2 stamp', () => {
    const q = yawQuaternion(Math.PI / 2);
    expect(q.z).toBeCloseTo(Math.SQRT1_2);
    expect(q.w).toBeCloseTo(Math.SQRT1_2);
    expect(yawQuaternion(0)).toEqual({ x: 0, y: 0, z: 0, w: 1 });
    const pose = poseStamped(DOCK, NOW);
    expect(pose.header).toEqual({ stamp: { sec: 1_796_630_400, nanosec: 250_000_000 },
      frame_id: 'map' });
    expect(pose.pose.position).toEqual({ x: 12.5, y: -3, z: 0 });
  });

  it('carries the idempotency key as request_id, never in the frame id', () => {
    const req = navigateRequest(DOCK, NOW, KEY);
    expect(req.request_id).toBe(KEY);
    expect(req.goal.header.frame_id).toBe('map');
    expect(JSON.stringify(req.goal)).not.toContain(KEY);
  });

  it('stops with every velocity component zero', () => {
    expect(zeroTwist()).toEqual({ linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } });
  });

  it('reads the navigation answer strictly and makes far-side text speakable', () => {
    expect(navigateAnswer({ success: true })).toEqual({ success: true, duplicate: false,
      message: '' });
    expect(navigateAnswer({ success: false, message: 'no path' }).message).toBe('no path');
    expect(() => navigateAnswer({ success: 'yes' })).toThrow(/without saying/);
    expect(() => navigateAnswer('ok')).toThrow();
    expect(farText('blocked\n\u0007 by\tpallet')).toBe('blocked by pallet');
    expect(farText('x'.repeat(500)).length).toBe(160);
    expect(farText(42)).toBe('');
  });

  it('names the settings that are wrong and the place that has no coordinates', () => {
    expect(() => settingsOf({ url: 'http://x', navigate_service: 'bad name', places: [] }))
      .toThrow(/url, navigate_service, cmd_vel_topic, stop_service, places, timeout_ms/);
    const s = settingsOf(ros2Plan(config()).settings);
    expect(resolvePlace(s, 'loading_dock')).toEqual(DOCK);
    expect(resolvePlace(s, 'kitchen')).toEqual({ x: 2, y: 4.5, theta: 0, frame: 'map' });
    let code = '';
    try {
      resolvePlace(s, 'charging_station');
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe('GW_CONNECTOR_CONFIG');
  });
});

describe('configuration and plan', () => {
  it('derives the one brokered endpoint from the URL', () => {
    const plan = ros2Plan(config());
    expect(plan.endpoints).toEqual([{ host: '127.0.0.1', port: server.port }]);
    expect(plan.secrets).toEqual({});
    const wss = validateConfig({ connectors: { ros2_dangerous_actions: {
      url: 'wss://robot.example:9443/' } } }, 'test');
    expect(ros2Plan(wss).endpoints).toEqual([{ host: 'robot.example', port: 9443 }]);
  });

  it('is not set up without a URL and refuses other schemes and bad names', () => {
    const bare = validateConfig({}, 'test');
    expect(() => ros2Plan(bare)).toThrow(/url is empty/);
    for (const bad of [{ url: 'http://127.0.0.1:9090' }, { cmd_vel_topic: 'cmd vel' },
      { places: { dock: { x: 1 } } }, { timeout_ms: 60_000 }]) {
      expect(() => config(bad), JSON.stringify(bad)).toThrow();
    }
  });

  it('declares move_to critical and stop an elevated emergency stop, never confirmed',
    async () => {
    expect(ros2Manifest.actions.move_to?.tier).toBe('critical');
    expect(ros2Manifest.actions.stop).toMatchObject({ tier: 'elevated', emergencyStop: true });
    // Imported here: the executor's module graph is not needed by the rest of this file.
    const { needsConfirmation } = await import('../../src/isolation/tiers.js');
    const paranoid = validateConfig({ security_mode: 'paranoid' }, 'test');
    expect(needsConfirmation('elevated', paranoid, true)).toBe(false);
    expect(needsConfirmation('critical', paranoid, false)).toBe(true);
  });
});

describe('move_to against a rosbridge server', () => {
  it('calls the navigation service once, through the connect function, with the key', async () => {
    const r = await moveTo({ place: 'loading_dock' }, call());
    expect(r.speech).toBe('The robot is on its way to the loading dock.');
    expect(r.data).toEqual({ place: 'loading_dock', request_id: KEY, duplicate: false });
    expect(dialed).toEqual([`127.0.0.1:${server.port}`]);
    const calls = server.of('call_service');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.service).toBe(NAVIGATE_SERVICE);
    expect(calls[0]?.args).toEqual(navigateRequest(DOCK, NOW, KEY));
    expect(server.goals).toHaveLength(1);
    expect(server.of('publish')).toEqual([]);
  });

  it('recognises a replay with the same key: said as such, no second goal', async () => {
    await moveTo({ place: 'loading_dock' }, call());
    const again = await moveTo({ place: 'loading_dock' }, call());
    expect(again.speech).toMatch(/already had that goal/);
    expect(again.data).toMatchObject({ duplicate: true });
    expect(server.goals).toHaveLength(1);
    expect(server.duplicates).toEqual([KEY]);
    await moveTo({ place: 'kitchen' }, call({}, 'act-other'));
    expect(server.goals).toHaveLength(2);
  });

  it('turns the far side\'s refusal, failure and silence into stable codes', async () => {
    server.answerNext(NAVIGATE_SERVICE, { result: true,
      values: { success: false, message: 'path blocked' } });
    const refused = moveTo({ place: 'loading_dock' }, call());
    await expect(refused).rejects.toThrow(/refused to go to the loading dock: path blocked/);
    await expect(codeOf(moveTo({ place: 'kitchen' }, call({
      navigate_service: '/nobody/home' })))).resolves.toBe('GW_REMOTE_UNAVAILABLE');
    server.answerNext(NAVIGATE_SERVICE, 'hang');
    await expect(codeOf(moveTo({ place: 'kitchen' }, call({ timeout_ms: 300 }))))
      .resolves.toBe('GW_ACTION_TIMEOUT');
    expect(server.goals).toHaveLength(0);
  });

  it('says the server cannot be reached when nothing listens', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const p = moveTo({ place: 'kitchen' }, call({ url: `ws://127.0.0.1:${port}` }));
    await expect(p).rejects.toMatchObject({ code: 'GW_REMOTE_UNAVAILABLE' });
    await expect(p).rejects.toThrow(/cannot be reached \(ECONNREFUSED\)/);
  });

  it('dry run resolves the place and connects to nothing', async () => {
    const r = await moveTo({ place: 'loading_dock' }, call({ dry_run: true }));
    expect(r.speech).toBe('Dry run: I would send the robot to the loading dock.');
    expect(r.data).toMatchObject({ dry_run: true, request: { request_id: KEY } });
    expect(dialed).toEqual([]);
    expect(server.connections).toBe(0);
    await expect(codeOf(moveTo({ place: 'charging_station' }, call({ dry_run: true }))))
      .resolves.toBe('GW_CONNECTOR_CONFIG');
  });

  it('sends no move without a key or with a wrong input', async () => {
    await expect(codeOf(moveTo({ place: 'kitchen' }, call({}, null))))
      .resolves.toBe('GW_ACTION_INPUT_INVALID');
    await expect(codeOf(moveTo({ place: 'kitchen', speed: 9 }, call())))
      .resolves.toBe('GW_ACTION_INPUT_INVALID');
    expect(server.connections).toBe(0);
  });

  it('runs as the worker module does in the microVM', async () => {
    const ctx: SandboxContext = { now: NOW, timeZone: 'UTC', principal: 'local',
      signal: new AbortController().signal, secrets: {},
      settings: ros2Plan(config()).settings, idempotencyKey: KEY, connect: dial };
    const r = await worker.run('move_to', { place: 'kitchen' }, ctx);
    expect(r.speech).toBe('The robot is on its way to the kitchen.');
    expect(server.goals.map((g) => g.requestId)).toEqual([KEY]);
  });
});

describe('stop against a rosbridge server', () => {
  it('advertises cmd_vel, publishes one zero Twist and calls the stop service', async () => {
    const r = await stop(call());
    expect(r.speech).toBe('I stopped the robot.');
    expect(server.of('advertise')).toMatchObject([{ topic: '/cmd_vel',
      type: 'geometry_msgs/msg/Twist' }]);
    const published = server.of('publish');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ topic: '/cmd_vel', msg: zeroTwist() });
    expect(server.of('call_service').map((c) => c.service)).toEqual([STOP_SERVICE]);
    // The zero velocity goes out before the service is asked.
    const order = server.ops.map((o) => o.op);
    expect(order.indexOf('publish')).toBeLessThan(order.indexOf('call_service'));
  });

  it('says so when the stop service refuses, after the zero Twist went out', async () => {
    server.answerNext(STOP_SERVICE, { result: true, values: { success: false,
      message: 'estop circuit open' } });
    const p = stop(call());
    await expect(p).rejects.toMatchObject({ code: 'GW_REMOTE_REJECTED' });
    await expect(p).rejects.toThrow(/estop circuit open/);
    expect(server.of('publish')).toHaveLength(1);
  });

  it('runs in process through the executor, with no confirmation and no microVM', async () => {
    const cfg = config({ stop_service: '' });
    const { Executor } = await import('../../src/isolation/executor.js');
    const ex = new Executor(createConnectors(cfg, process.cwd()), cfg);
    const ctx = { now: NOW, timeZone: 'UTC', principal: 'local',
      signal: new AbortController().signal, log: createLogger({ level: 'silent' }) };
    const r = await ex.run({ connector: 'ros2_dangerous_actions', action: 'stop', input: {},
      tier: 'elevated' }, ctx);
    expect(r).toMatchObject({ outcome: 'succeeded', speech: 'I stopped the robot.' });
    expect(r.microvm).toBeUndefined();
    expect(server.of('publish')).toHaveLength(1);
    expect(server.of('call_service')).toEqual([]);
    // A move never runs in process: without the microVM tier it is refused before it starts.
    const move = await ex.run({ connector: 'ros2_dangerous_actions', action: 'move_to',
      input: { place: 'kitchen' }, tier: 'critical' }, ctx);
    expect(move).toMatchObject({ outcome: 'refused', error: { code: 'GW_TIER_UNAVAILABLE' } });
    expect(server.of('call_service')).toEqual([]);
  });

  it('dry run says what it would publish and sends nothing', async () => {
    const r = await stop(call({ dry_run: true }));
    expect(r.speech).toMatch(/^Dry run: I would stop the robot/);
    expect(server.connections).toBe(0);
  });
});
