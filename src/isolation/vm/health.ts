/**
 * The boot health check of an image update: a real cold boot of the image, under the same
 * VMM arguments as an action's VM, until the guest agent says "ready"; then the VM is killed.
 * No action is sent and the agent stream carries no egress. The image is verified (signature
 * and hashes) before the VMM starts, like every boot.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { AgentChannel } from './channel.js';
import { verifyImage } from './image.js';
import { accelFor, hostArch } from './backend.js';
import { qemuArgs, qemuBinary, readKvmFacts, type AccelChoice } from './qemu.js';

export interface HealthCheckOptions {
  readonly publicKey: Uint8Array;
  readonly accel?: AccelChoice;
  readonly memMib?: number;
  /** VMM start to agent ready; generous under software emulation. */
  readonly deadlineMs: number;
}

export interface HealthReport {
  readonly bootMs: number;
}

const MAX_CONSOLE = 2048;

/** Boots the image until its agent is ready; throws GW_VM_FAILED (with the console's tail). */
export async function bootHealthCheck(imageDir: string, o: HealthCheckOptions):
Promise<HealthReport> {
  const image = await verifyImage(imageDir, o.publicKey);
  const qemu = qemuBinary();
  if (!qemu) throw new GatewayError('GW_VM_FAILED', 'no QEMU system emulator is installed');
  const dir = mkdtempSync(path.join(os.tmpdir(), `gw-vm-${process.pid}-`));
  const channel = new AgentChannel(path.join(dir, 'agent.sock'), [], 'health-check',
    createLogger({ level: 'silent' }));
  try {
    await channel.listen();
    const args = qemuArgs({ image, agentSocket: channel.socketPath,
      accel: (o.accel ?? accelFor(hostArch(), readKvmFacts())).accel, memMib: o.memMib ?? 256 });
    const started = performance.now();
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', qemu, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: {},
    });
    let tail = '';
    const keep = (c: Buffer): void => {
      tail = (tail + c.toString('utf8')).slice(-MAX_CONSOLE);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let readyMs: number | null = null;
    let why = 'the VMM exited before the agent was ready';
    const timer = setTimeout(() => {
      why = `no agent ready within ${o.deadlineMs} ms`;
      kill();
    }, o.deadlineMs);
    channel.once('ready', () => {
      readyMs = performance.now() - started;
      kill();
    });
    await new Promise<void>((resolve) => {
      child.once('error', (err) => {
        why = `cannot start QEMU: ${err.message}`;
        resolve();
      });
      child.once('close', () => resolve());
    });
    clearTimeout(timer);
    if (readyMs === null) {
      const last = tail.trim().split('\n').slice(-3).join(' / ');
      throw new GatewayError('GW_VM_FAILED', `${why}${last ? ` (console: ${last})` : ''}`);
    }
    return { bootMs: readyMs };
  } finally {
    await channel.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
