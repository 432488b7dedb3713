/**
 * The robot connector end to end, through `gateway say` (the CLI from dist/) against a local
 * rosbridge v2 server that records every op: the stop runs at once in process, never asked
 * to confirm, even while a move waits for its confirmation; a move runs after "confirm" in a
 * real microVM (QEMU, software emulation here) built and signed for this test, and reaches
 * the server exactly once, with the audit record's id as its request_id. Two VM boots.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { zeroTwist } from '../../src/connectors/ros2_dangerous_actions/messages.js';
import { buildImage } from '../../src/isolation/vm/build.js';
import { signImage } from '../../src/isolation/vm/image.js';
import { loadKeyPair } from '../../src/keys/keys.js';
import { gatewaySay } from '../support/gateway-say.js';
import { NAVIGATE_SERVICE, RosbridgeServer } from '../support/rosbridge-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const GATEWAY = path.join(ROOT, 'bin/gateway.js');

let server: RosbridgeServer;
let work: string;
let configFile: string;
let imageDir: string;

/** Read-only, root-owned: the gateway refuses to boot from an image its user could change. */
function seal(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) seal(p);
    else chmodSync(p, 0o444);
  }
  chmodSync(dir, 0o555);
}

function writeConfig(file: string, extra: string[] = []): void {
  writeFileSync(file, [
    `keys_dir = "${path.join(work, 'keys')}"`,
    `state_path = "${path.join(work, 'state.db')}"`,
    `audit_path = "${path.join(work, 'audit.jsonl')}"`,
    'enable_firecracker_sandbox = true',
    'vmm = "qemu"',
    '[microvm]',
    `image_dir = "${imageDir}"`,
    'snapshots = false',
    'boot_deadline_ms = 300000',
    '[connectors.ros2_dangerous_actions]',
    `url = "${server.url}"`,
    ...extra,
    '[connectors.ros2_dangerous_actions.places]',
    'loading_dock = { x = 12.5, y = -3.0, theta = 1.5708, frame = "map" }',
    'kitchen = { x = 2.0, y = 4.5 }',
  ].join('\n'));
}

function auditRecords(): Array<{ kind: string; id: string; connector?: string }> {
  return readFileSync(path.join(work, 'audit.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { kind: string; id: string; connector?: string });
}

beforeAll(async () => {
  server = await RosbridgeServer.start();
  work = mkdtempSync(path.join(os.tmpdir(), 'gw-ros2-e2e-'));
  imageDir = path.join(work, 'image');
  await run(process.execPath, [GATEWAY, 'keys', '--dir', path.join(work, 'keys')]);
  await buildImage({ outDir: imageDir });
  signImage(imageDir, loadKeyPair(path.join(work, 'keys'), 'image').secretKey);
  seal(imageDir);
  configFile = path.join(work, 'gateway.toml');
  writeConfig(configFile);
}, 900_000);

afterAll(async () => {
  await server.close();
  if (work) {
    chmodSync(imageDir, 0o755);
    rmSync(work, { recursive: true, force: true });
  }
});

beforeEach(() => {
  server.reset();
});

describe('robot stop (in process, never confirmed)', () => {
  it('publishes one zero Twist on "stop the robot" and asks nothing', async () => {
    const { reports } = await gatewaySay(configFile, work, ['stop the robot']);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ decision: 'answered', outcome: 'succeeded',
      tier: 'elevated', action: 'ros2_dangerous_actions.stop' });
    expect(reports[0]?.reply?.text).toBe('I stopped the robot.');
    expect(reports[0]?.microvm ?? null).toBeNull();
    const published = server.of('publish');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ topic: '/cmd_vel', msg: zeroTwist() });
    expect(server.of('call_service')).toEqual([]);
  });

  it('stops while a move waits for its confirmation, and the move never runs', async () => {
    const { reports } = await gatewaySay(configFile, work,
      ['move the robot to the loading dock', 'stop the robot', 'confirm']);
    expect(reports.map((r) => r.decision)).toEqual(
      ['confirmation_requested', 'answered', 'not_understood']);
    expect(reports[0]).toMatchObject({ tier: 'critical' });
    expect(reports[1]).toMatchObject({ tier: 'elevated', outcome: 'succeeded' });
    expect(server.of('publish')).toHaveLength(1);
    expect(server.of('call_service')).toEqual([]);
    expect(server.goals).toEqual([]);
  });

  it('a gateway restarted between the question and "confirm" moves nothing', async () => {
    const first = await gatewaySay(configFile, work, ['send the robot to the kitchen']);
    expect(first.reports[0]?.decision).toBe('confirmation_requested');
    const second = await gatewaySay(configFile, work, ['confirm']);
    expect(second.reports[0]).toMatchObject({ decision: 'not_understood',
      reason: 'nothing_pending' });
    expect(server.connections).toBe(0);
  });
});

describe('robot move (critical, in a microVM)', () => {
  it('sends exactly one goal after "confirm"; a repeated "confirm" sends nothing', async () => {
    const { reports, log } = await gatewaySay(configFile, work,
      ['move the robot to the loading dock', 'confirm', 'confirm']);
    const [ask, done, again] = reports;
    expect(ask).toMatchObject({ decision: 'confirmation_requested', tier: 'critical' });
    expect(ask?.reply?.text).toMatch(/loading dock/);
    expect(done?.error ?? null, log.slice(-3000)).toBeNull();
    expect(done).toMatchObject({ decision: 'executed', outcome: 'succeeded', tier: 'critical' });
    expect(done?.microvm?.backend).toMatch(/^QEMU/);
    expect(done?.reply?.text).toBe('The robot is on its way to the loading dock.');
    expect(again).toMatchObject({ decision: 'not_understood', reason: 'nothing_pending' });
    const calls = server.of('call_service');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.service).toBe(NAVIGATE_SERVICE);
    expect(server.goals).toHaveLength(1);
    const goal = server.goals[0]?.goal as { header: { frame_id: string };
      pose: { position: { x: number; y: number } } };
    expect(goal.header.frame_id).toBe('map');
    expect(goal.pose.position).toMatchObject({ x: 12.5, y: -3 });
    // The request_id is the audit record's id: the action's idempotency key.
    const accepted = auditRecords().filter((r) => r.kind === 'accepted');
    expect(server.goals[0]?.requestId).toBe(accepted[accepted.length - 1]?.id);
    expect(server.of('publish')).toEqual([]);
  }, 900_000);

  it('says what the robot answered when it refuses the goal', async () => {
    server.answerNext(NAVIGATE_SERVICE, { result: true,
      values: { success: false, message: 'path blocked by a pallet' } });
    const { reports } = await gatewaySay(configFile, work,
      ['send the robot to the kitchen', 'confirm']);
    const done = reports[1];
    expect(done).toMatchObject({ decision: 'executed', tier: 'critical',
      error: { code: 'GW_REMOTE_REJECTED' } });
    // A refusal after the connection was made is never counted as a success.
    expect(done?.outcome).not.toBe('succeeded');
    expect(done?.reply?.text).toMatch(/refused to go to the kitchen: path blocked by a pallet/);
    expect(server.goals).toEqual([]);
    expect(server.of('call_service')).toHaveLength(1);
  }, 900_000);
});
