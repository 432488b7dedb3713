/**
 * One call in the dangerous tier: start the broker, start bubblewrap with the helper and the
 * worker, hand over the request (secrets included) once the worker is ready, collect one
 * response, and turn whatever happened into an outcome. The host kills the whole sandbox on
 * its deadline or on cancellation; it never trusts the worker to stop by itself.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Endpoint } from '../../connectors/types.js';
import { ERROR_CODES, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Outcome } from '../executor.js';
import { EgressBroker, type BrokerStats } from './broker.js';
import {
  ALL_LAYERS, DEFAULT_LIMITS, bwrapArgs, readableFor, type Layers, type Limits,
} from './bwrap.js';
import {
  signalOfStatus, violationFromError, violationFromSignal, type Violation,
} from './classify.js';
import { FrameReader, encodeFrame } from './frame.js';
import { nodeRuntimeFiles, projectRoot, sandboxHelperPath, workerRuntimePath } from './paths.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';
import { connectorErrorOutcome } from '../results.js';
import type { IsolatedCall } from '../call.js';
import { guestClosure } from '../vm/packages.js';

/** The unprivileged host user the sandbox runs as when the gateway runs as root. */
export const SANDBOX_UID = 65_534;
/** Diagnostic output kept from the sandbox (the helper's and bwrap's own messages). */
const MAX_STDERR_BYTES = 4096;

export interface SandboxCall extends IsolatedCall {
  readonly connector: string;
  readonly modulePath: string;
  readonly endpoints: readonly Endpoint[];
  readonly deadlineMs: number;
  readonly log: Logger;
  readonly bwrap: string;
  readonly cgroupNs: boolean;
  readonly layers?: Layers;
  readonly limits?: Partial<Limits>;
  readonly maxConnections?: number;
  /** Called with bubblewrap's host pid once the worker is ready (the bench measures it). */
  readonly onReady?: (pid: number) => void;
}

export interface SandboxResult {
  readonly outcome: Outcome;
  readonly speech?: string;
  readonly data?: unknown;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  readonly violation?: Violation;
  readonly egress: BrokerStats;
  readonly readyMs: number | null;
}

/** Replaces every secret value in a text that may be shown or logged. */
export function redactSecrets(text: string, secrets: Readonly<Record<string, string>>): string {
  let out = text;
  for (const value of Object.values(secrets)) {
    if (value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export async function runSandboxed(call: SandboxCall): Promise<SandboxResult> {
  const layers = call.layers ?? ALL_LAYERS;
  const limits = { ...DEFAULT_LIMITS, ...call.limits };
  const root = getuidSafe() === 0;
  const owner = root ? { uid: SANDBOX_UID, gid: SANDBOX_UID } : undefined;
  let broker: EgressBroker;
  try {
    broker = await EgressBroker.start({ connector: call.connector, endpoints: call.endpoints,
      log: call.log, maxConnections: call.maxConnections, owner });
  } catch (err) {
    const egress = { attempts: 0, allowed: 0, denied: 0, connected: 0 };
    return { outcome: 'refused', egress, readyMs: null,
      error: { code: 'GW_SANDBOX_FAILED', message: `egress broker: ${String(err)}` } };
  }
  try {
    return await supervise(call, broker, layers, limits, owner);
  } finally {
    await broker.close();
  }
}

function getuidSafe(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

let sdkDirs: string[] | null = null;

/**
 * The SDK packages isolated workers import (the microVM image's guest packages and their
 * dependencies, src/isolation/vm/packages.ts), bound read-only at their own paths so that
 * Node.js resolves them from dist/ as it does outside. Nothing else of node_modules is there.
 */
function sdkPackageDirs(): string[] {
  if (!sdkDirs) {
    const root = projectRoot();
    try {
      sdkDirs = guestClosure(root).packages.filter((p) => !p.rel.includes('/node_modules/'))
        .map((p) => path.join(root, 'node_modules', p.rel));
    } catch {
      sdkDirs = []; // not installed: a worker that needs one fails with the import's reason
    }
  }
  return sdkDirs;
}

async function supervise(
  call: SandboxCall, broker: EgressBroker, layers: Layers, limits: Limits,
  owner: { uid: number; gid: number } | undefined,
): Promise<SandboxResult> {
  const dist = path.join(projectRoot(), 'dist');
  const args = bwrapArgs({
    runtime: nodeRuntimeFiles(), helper: sandboxHelperPath(), workerRuntime: workerRuntimePath(),
    readable: [...readableFor(dist, call.modulePath), ...sdkPackageDirs()],
    modulePath: call.modulePath,
    brokerSocket: broker.socketPath, layers, limits, cgroupNs: call.cgroupNs,
  });
  const started = performance.now();
  // detached: bwrap leads its own process group, so one kill reaches all of it; bwrap's
  // --die-with-parent then takes the sandbox's pid namespace down with it.
  const child = spawn(call.bwrap, args, {
    stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: {}, ...owner,
  });
  let readyMs: number | null = null;
  let delivered = false;
  let response: WorkerResponse | null = null;
  let protocolError: string | null = null;
  let killedBy: 'deadline' | 'cancelled' | 'protocol' | 'answered' | null = null;
  let finishTimer: NodeJS.Timeout | null = null;
  let stderr = '';
  const reader = new FrameReader();
  const kill = (why: NonNullable<typeof killedBy>): void => {
    if (killedBy || child.exitCode !== null || child.pid === undefined) return;
    killedBy = why;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  child.stdin.on('error', () => {}); // EPIPE when the worker died first: reported by exit
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8');
  });
  child.stdout.on('data', (chunk: Buffer) => {
    let frames: unknown[];
    try {
      frames = reader.push(chunk);
    } catch (err) {
      protocolError = String(err);
      kill('protocol');
      return;
    }
    for (const frame of frames) {
      if (readyMs === null) {
        readyMs = performance.now() - started;
        if (child.pid !== undefined) call.onReady?.(child.pid);
        child.stdin.end(encodeFrame(request(call)), () => { delivered = true; });
      } else if (response === null) {
        response = frame as WorkerResponse;
        // The answer ends the call: no more egress, and a worker that lingers is stopped.
        void broker.close();
        finishTimer = setTimeout(() => kill('answered'), ANSWERED_GRACE_MS);
      }
    }
  });
  const timer = setTimeout(() => kill('deadline'), call.deadlineMs);
  const onAbort = (): void => kill('cancelled');
  if (call.signal.aborted) onAbort();
  call.signal.addEventListener('abort', onAbort, { once: true });
  const exit = await new Promise<Exit>((resolve) => {
    child.once('error', (err) => {
      protocolError = `cannot start bubblewrap: ${err.message}`;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  if (finishTimer) clearTimeout(finishTimer);
  call.signal.removeEventListener('abort', onAbort);
  return judge({ call, layers, exit, readyMs, delivered, response, protocolError, killedBy,
    stderr, egress: { ...broker.stats } });
}

function request(call: SandboxCall): WorkerRequest {
  return {
    action: call.action, input: call.input, settings: { ...call.settings },
    secrets: { ...call.secrets }, now: call.now.toISOString(), timeZone: call.timeZone,
    principal: call.principal, idempotencyKey: call.idempotencyKey ?? null,
  };
}

interface Evidence {
  readonly call: SandboxCall;
  readonly layers: Layers;
  readonly exit: Exit;
  readonly readyMs: number | null;
  readonly delivered: boolean;
  readonly response: WorkerResponse | null;
  readonly protocolError: string | null;
  readonly killedBy: 'deadline' | 'cancelled' | 'protocol' | 'answered' | null;
  readonly stderr: string;
  readonly egress: BrokerStats;
}

/** After its answer, how long a worker has to exit before it is killed. */
const ANSWERED_GRACE_MS = 500;

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Connector errors after which the far side may or may not have acted. */
/** Turns what was observed into an outcome; see the module comment for the rules. */
function judge(e: Evidence): SandboxResult {
  const base = { egress: e.egress, readyMs: e.readyMs };
  const secrets = e.call.secrets;
  // Anything may have happened once the request was in and a connection was open.
  const uncertain: Outcome = e.egress.connected > 0 ? 'indeterminate' : 'failed';
  // What the host saw itself (the broker's refusals, the kernel's kill signal) outweighs
  // anything the worker says: a worker that answers "done" after a blocked attempt is still
  // reported as a violation.
  const signal = signalOfStatus(e.exit.code);
  const hostViolation: Violation | null = e.egress.denied > 0
    ? { layer: 'broker', evidence: `${e.egress.denied} egress attempt(s) refused` }
    : e.delivered && signal !== null && e.killedBy === null ? violationFromSignal(signal) : null;
  if (hostViolation) {
    return { ...base, outcome: uncertain, violation: hostViolation,
      error: { code: 'GW_SANDBOX_VIOLATION',
        message: `${hostViolation.layer}: ${hostViolation.evidence}` } };
  }
  if (e.response?.ok === true) {
    return { ...base, outcome: 'succeeded', speech: e.response.speech, data: e.response.data };
  }
  if (e.killedBy === 'deadline' || e.killedBy === 'cancelled') {
    const what = e.killedBy === 'deadline' ? 'the action passed its deadline' : 'cancelled';
    return { ...base, outcome: e.delivered ? 'indeterminate' : 'failed',
      error: { code: 'GW_ACTION_TIMEOUT', message: `${what}; the sandbox was killed` } };
  }
  const violate = (v: Violation): SandboxResult => ({ ...base, outcome: uncertain, violation: v,
    error: { code: 'GW_SANDBOX_VIOLATION', message: `${v.layer}: ${v.evidence}` } });
  if (e.response && !e.response.ok) {
    const v = violationFromError(e.response.error, e.layers);
    if (v) return violate(v);
    const message = redactSecrets(e.response.error.message, secrets);
    const own = e.response.error.code;
    if (own !== null && isErrorCode(own)) {
      // The connector knows what happened: the far side refused (nothing was done), or it
      // could not tell (no answer after the request went out).
      const outcome = connectorErrorOutcome(own, e.egress.connected);
      return { ...base, outcome, error: { code: own, message } };
    }
    return { ...base, outcome: uncertain, error: { code: 'GW_CONNECTOR_FAILED', message } };
  }
  const diagnostic = redactSecrets(firstLines(e.stderr), secrets);
  if (!e.delivered) {
    const why = e.protocolError ?? (diagnostic || `exit status ${String(e.exit.code)}`);
    return { ...base, outcome: 'refused',
      error: { code: 'GW_SANDBOX_FAILED', message: `the sandbox did not start: ${why}` } };
  }
  const how = e.protocolError ?? `exit status ${String(e.exit.code)}` +
    (signal !== null ? ` (signal ${signal})` : '');
  return { ...base, outcome: uncertain, error: { code: 'GW_SANDBOX_CRASHED', message: how } };
}

function firstLines(text: string): string {
  return text.split('\n').filter(Boolean).slice(0, 3).join(' / ').slice(0, 500);
}
