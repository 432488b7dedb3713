/**
 * One critical action in one microVM: verify the image, start the VMM in its own process
 * group (killed with the gateway through PR_SET_PDEATHSIG, via `setpriv --pdeathsig`), wait
 * for the agent, send the request, take one result, destroy the VM and its files. The host
 * kills the VM at the boot deadline and at the action deadline; it never waits on the guest.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Endpoint } from '../../connectors/types.js';
import { ERROR_CODES, asGatewayError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Outcome } from '../executor.js';
import type { BrokerStats } from '../sandbox/broker.js';
import { redactSecrets } from '../sandbox/run.js';
import type { WorkerResponse } from '../sandbox/worker.js';
import { AgentChannel } from './channel.js';
import { Firelog } from './firelog.js';
import { verifyImage, type VerifiedImage } from './image.js';
import { chooseAccel, qemuArgs, qemuBinary, type AccelChoice } from './qemu.js';

/** Kept from the guest's console: enough to diagnose a failed boot, bounded under a flood. */
const MAX_CONSOLE_BYTES = 16 * 1024;
const TEMP_PREFIX = 'gw-vm-';

export interface VmCall {
  readonly connector: string;
  readonly action: string;
  readonly input: unknown;
  readonly endpoints: readonly Endpoint[];
  readonly settings: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, string>>;
  readonly now: Date;
  readonly timeZone: string;
  readonly principal: string;
  readonly idempotencyKey?: string | null;
  readonly signal: AbortSignal;
  readonly imageDir: string;
  readonly publicKey: Uint8Array;
  /** From the VMM's start to the agent's "ready"; generous under emulation. */
  readonly bootDeadlineMs: number;
  /** From the request's delivery to the result. */
  readonly actionDeadlineMs: number;
  readonly log: Logger;
  readonly firelog?: Firelog;
  readonly memMib?: number;
  readonly accel?: AccelChoice;
}

export interface VmResult {
  readonly outcome: Outcome;
  readonly speech?: string;
  readonly data?: unknown;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  readonly backend: string;
  /** VMM start to agent ready, host clock. */
  readonly bootMs: number | null;
  readonly verifyMs: number | null;
  readonly egress: BrokerStats;
  /** The last of the guest's console output (diagnostics; may hold connector output). */
  readonly console: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the temporary folders of gateway processes that died without cleaning up (their
 * VMMs died with them through pdeathsig). Called before each VM starts.
 */
export function sweepStaleVmDirs(tmp = os.tmpdir()): number {
  let removed = 0;
  for (const name of readdirSync(tmp)) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) {
      rmSync(path.join(tmp, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

const noEgress = (): BrokerStats => ({ attempts: 0, allowed: 0, denied: 0, connected: 0 });

export async function runInVm(call: VmCall): Promise<VmResult> {
  const firelog = call.firelog ?? new Firelog();
  const accel = call.accel ?? chooseAccel();
  const backend = `QEMU (${accel.accel})`;
  const base = { backend, bootMs: null, verifyMs: null, egress: noEgress(), console: '' };
  const t0 = performance.now();
  let image: VerifiedImage;
  try {
    image = await verifyImage(call.imageDir, call.publicKey);
  } catch (err) {
    const e = asGatewayError(err, 'GW_IMAGE_INVALID');
    firelog.line(`Refused microVM for connector=${call.connector}: ${e.code} ${e.message}`);
    return { ...base, outcome: 'refused', error: { code: e.code, message: e.message } };
  }
  const verifyMs = performance.now() - t0;
  const module = image.manifest.connectors[call.connector];
  if (!module) {
    return { ...base, verifyMs, outcome: 'refused', error: { code: 'GW_CONNECTOR_UNAVAILABLE',
      message: `the microVM image holds no ${call.connector} connector` } };
  }
  const qemu = qemuBinary();
  if (!qemu) {
    return { ...base, verifyMs, outcome: 'refused', error: { code: 'GW_VM_FAILED',
      message: 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' } };
  }
  sweepStaleVmDirs();
  const dir = mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  const channel = new AgentChannel(path.join(dir, 'agent.sock'), call.endpoints, call.connector,
    call.log);
  try {
    await channel.listen();
    return await supervise(call, image, module, qemu, accel, channel, firelog, verifyMs);
  } finally {
    await channel.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function supervise(
  call: VmCall, image: VerifiedImage, module: string, qemu: string, accel: AccelChoice,
  channel: AgentChannel, firelog: Firelog, verifyMs: number,
): Promise<VmResult> {
  const backend = `QEMU (${accel.accel})`;
  const args = qemuArgs({ image, agentSocket: channel.socketPath, accel: accel.accel,
    memMib: call.memMib ?? 256 });
  firelog.line(`Spawning ${backend} microVM for connector=${call.connector}`);
  const started = performance.now();
  // Own process group (one kill reaches it all); SIGKILL when the gateway dies.
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', qemu, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: {},
  });
  let consoleText = '';
  const keep = (chunk: Buffer): void => {
    consoleText = (consoleText + chunk.toString('utf8')).slice(-MAX_CONSOLE_BYTES);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let bootMs: number | null = null;
  let delivered = false;
  let response: WorkerResponse | null = null;
  let killedBy: 'boot deadline' | 'action deadline' | 'cancelled' | null = null;
  let broken: string | null = null;
  const kill = (why: typeof killedBy): void => {
    if (!killedBy && why) killedBy = why;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let timer = setTimeout(() => kill('boot deadline'), call.bootDeadlineMs);
  channel.once('ready', () => {
    bootMs = performance.now() - started;
    firelog.line(`microVM boot complete in ${Math.round(bootMs)} ms`);
    clearTimeout(timer);
    timer = setTimeout(() => kill('action deadline'), call.actionDeadlineMs);
    channel.send({ t: 'run', module, request: {
      action: call.action, input: call.input, settings: { ...call.settings },
      secrets: { ...call.secrets }, now: call.now.toISOString(), timeZone: call.timeZone,
      principal: call.principal, idempotencyKey: call.idempotencyKey ?? null } });
    delivered = true;
  });
  channel.once('result', (r) => {
    response = r as WorkerResponse;
    kill(null); // one action per VM: it is destroyed as soon as it has answered
  });
  channel.on('broken', (why) => {
    // A guest that broke the protocol or closed its stream gets no more time.
    if (response === null && broken === null) {
      broken = why;
      kill(null);
    }
  });
  const onAbort = (): void => kill('cancelled');
  if (call.signal.aborted) onAbort();
  call.signal.addEventListener('abort', onAbort, { once: true });
  await new Promise<void>((resolve) => {
    child.once('error', (err) => {
      broken = `cannot start QEMU: ${err.message}`;
      resolve();
    });
    child.once('close', () => resolve());
  });
  clearTimeout(timer);
  call.signal.removeEventListener('abort', onAbort);
  const base = { backend, bootMs, verifyMs, egress: { ...channel.stats },
    console: redactSecrets(consoleText, call.secrets) };
  const result = judge(call, base, delivered, response, killedBy, broken);
  firelog.line(`connector=${call.connector} action=${call.action} outcome=${result.outcome}` +
    (result.error ? ` code=${result.error.code}` : '') +
    ` total ${Math.round(performance.now() - started)} ms`);
  return result;
}

function judge(
  call: VmCall, base: Omit<VmResult, 'outcome'>, delivered: boolean,
  response: WorkerResponse | null, killedBy: string | null, broken: string | null,
): VmResult {
  if (response?.ok === true) {
    return { ...base, outcome: 'succeeded', speech: response.speech, data: response.data };
  }
  if (response && !response.ok) {
    const own = response.error.code;
    const code: ErrorCode = own !== null && Object.hasOwn(ERROR_CODES, own) ? own as ErrorCode
      : 'GW_CONNECTOR_FAILED';
    // Refused egress means nothing left the VM; otherwise, with a connection made, the far
    // side may have acted.
    const outcome: Outcome = base.egress.connected > 0 ? 'indeterminate' : 'failed';
    return { ...base, outcome, error: { code,
      message: redactSecrets(response.error.message, call.secrets) } };
  }
  if (!delivered) {
    const why = killedBy ?? broken ?? 'the VMM exited';
    return { ...base, outcome: 'refused', error: { code: 'GW_VM_FAILED',
      message: `the microVM did not become ready: ${why}` } };
  }
  // The request was in the VM and no answer came: never replayed, recorded as unknown.
  if (killedBy === 'action deadline' || killedBy === 'cancelled') {
    return { ...base, outcome: 'indeterminate', error: { code: 'GW_ACTION_TIMEOUT',
      message: `${killedBy === 'cancelled' ? 'cancelled' : 'the action passed its deadline'}; ` +
        'the microVM was killed' } };
  }
  return { ...base, outcome: 'indeterminate', error: { code: 'GW_VM_CRASHED',
    message: broken ?? 'the microVM exited without a result' } };
}
