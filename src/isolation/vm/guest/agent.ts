/**
 * The guest agent: PID 1 of the microVM after the initramfs hands over.
 *
 *   node agent.js <virtio-serial device>
 *
 * It says "ready", takes ONE run message (the only way secrets enter the VM), runs the
 * connector module the signed image holds, sends ONE result and exits, which ends the VM.
 * A connector's connect() is served by the host over the same stream; the guest has no
 * network device at all. It imports only Node.js built-ins and the frame codec.
 *
 * Snapshots: the host may freeze the VM after "ready" and restore clones of it. A clone's
 * agent is still waiting in its read; the host's first message to it is "resume" with fresh
 * random bytes and the time. The agent has its helper (native/guest/gw_reseed.c, started before
 * the snapshot) reseed the kernel CRNG and set the clock, and says
 * ready again. OpenSSL's DRBG inside this Node.js was seeded before the snapshot, so at start
 * the agent makes a getrandom()-backed RAND engine (native/guest/gw_rand_engine.c) the process's
 * RAND method: crypto.randomBytes, randomUUID, getRandomValues, key generation and TLS all
 * read the (reseeded) kernel CRNG. Limit: random bytes drawn before the snapshot and cached
 * (none by this agent) stay shared.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { SandboxContext, SandboxedConnector } from '../../../connectors/types.js';
import { FrameReader, encodeFrame } from '../../sandbox/frame.js';
import type { WorkerError, WorkerResponse } from '../../sandbox/worker.js';
import {
  MAX_DATA_CHUNK, MAX_VM_FRAME_BYTES, type GuestMessage, type HostMessage,
} from '../protocol.js';

/** Connector modules live only here, inside the read-only signed image. */
const MODULE_ROOT = '/opt/gw/';
const RAND_ENGINE = '/opt/gw/native/gw_rand_engine.so';
const RESEED = '/opt/gw/native/gw_reseed';

let port: FileHandle;
let writing: Promise<unknown> = Promise.resolve();

/** Writes are chained so frames never interleave on the byte stream. */
function send(message: GuestMessage): Promise<unknown> {
  const frame = encodeFrame(message);
  writing = writing.then(() => port.write(frame));
  return writing;
}

class EgressError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'EgressError';
  }
}

interface Pending {
  readonly stream: Duplex;
  settle?: (err: Error | null) => void;
}

const connections = new Map<number, Pending>();
let nextId = 1;

/** A stream to host:port that the host's broker opens (or refuses) for this call. */
function connect(host: string, portNumber: number): Promise<Duplex> {
  const id = nextId++;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < chunk.length; i += MAX_DATA_CHUNK) {
        const part = chunk.subarray(i, i + MAX_DATA_CHUNK);
        sends.push(send({ t: 'data', id, b64: part.toString('base64') }));
      }
      Promise.all(sends).then(() => done(), done);
    },
    final(done) {
      send({ t: 'end', id }).then(() => done(), done);
    },
    allowHalfOpen: true,
  });
  return new Promise((resolve, reject) => {
    connections.set(id, {
      stream,
      settle: (err) => (err ? reject(err) : resolve(stream)),
    });
    send({ t: 'open', id, host, port: portNumber }).catch(reject);
  });
}

function onEgress(
  m: Exclude<HostMessage, { t: 'run' } | { t: 'resume' } | { t: 'load' }>,
): void {
  const c = connections.get(m.id);
  if (!c) return;
  switch (m.t) {
    case 'opened':
      c.settle?.(null);
      c.settle = undefined;
      break;
    case 'refused':
      c.settle?.(new EgressError(m.reason === 'denied' ? 'EGRESS_DENIED' : 'EGRESS_FAILED',
        `the host broker refused the connection (${m.reason})`));
      c.settle = undefined;
      connections.delete(m.id);
      break;
    case 'data':
      c.stream.push(Buffer.from(m.b64, 'base64'));
      break;
    case 'end':
      c.stream.push(null);
      break;
  }
}

function describe(err: unknown): WorkerError {
  if (err instanceof Error) {
    const e = err as NodeJS.ErrnoException;
    return { name: e.name, message: e.message, code: typeof e.code === 'string' ? e.code : null,
      syscall: typeof e.syscall === 'string' ? e.syscall : null };
  }
  return { name: 'Error', message: String(err), code: null, syscall: null };
}

/** Connector modules imported (or being imported), by path: a `load` and the run share one. */
const loads = new Map<string, Promise<{ connector?: SandboxedConnector }>>();

function load(module: string): Promise<{ connector?: SandboxedConnector }> {
  if (!module.startsWith(MODULE_ROOT) || module.includes('..')) {
    return Promise.reject(new Error('module outside the image'));
  }
  let loading = loads.get(module);
  if (!loading) {
    loading = import(pathToFileURL(module).href) as Promise<{ connector?: SandboxedConnector }>;
    loads.set(module, loading);
  }
  return loading;
}

async function runAction(m: Extract<HostMessage, { t: 'run' }>): Promise<WorkerResponse> {
  try {
    const mod = await load(m.module);
    if (!mod.connector || typeof mod.connector.run !== 'function') {
      throw new Error(`${m.module} exports no connector`);
    }
    const r = m.request;
    const ctx: SandboxContext = {
      now: new Date(r.now), timeZone: r.timeZone, principal: r.principal,
      signal: new AbortController().signal,
      secrets: Object.freeze({ ...r.secrets }), settings: Object.freeze({ ...r.settings }),
      idempotencyKey: typeof r.idempotencyKey === 'string' ? r.idempotencyKey : null,
      connect,
    };
    const result = await mod.connector.run(r.action, r.input, ctx);
    return { ok: true, speech: String(result.speech), data: result.data };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
}

async function finish(response: WorkerResponse): Promise<never> {
  try {
    await send({ t: 'result', response });
  } catch {
    await send({ t: 'result', response: { ok: false, error: describe(new Error('unsendable')) } });
  }
  await writing;
  process.exit(0);
}

/** Every later random byte of this process comes from getrandom() (see the file comment). */
function useKernelRandom(): void {
  if (!existsSync(RAND_ENGINE)) throw new Error(`${RAND_ENGINE} is missing from the image`);
  crypto.setEngine(RAND_ENGINE, crypto.constants.ENGINE_METHOD_RAND);
}

/**
 * The reseed helper, started before any snapshot can be taken: after a restore it only
 * reads a line (a process started then would fork all of Node.js: ~170 ms emulated).
 */
let reseeder: ChildProcessWithoutNullStreams | null = null;
const reseedAnswers: Array<(line: string) => void> = [];

function startReseeder(): void {
  const child = spawn(RESEED, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      reseedAnswers.shift()?.(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  child.on('error', () => {});
  child.on('exit', () => {
    reseeder = null;
    for (const answer of reseedAnswers.splice(0)) answer('err the reseed helper exited');
  });
  reseeder = child;
}

function askReseeder(line: string): Promise<string> {
  return new Promise<string>((resolve) => {
    if (!reseeder) {
      resolve('err no reseed helper');
      return;
    }
    reseedAnswers.push(resolve);
    reseeder.stdin.write(line);
  });
}

/** After a restore: credit the host's bytes to the kernel CRNG, force a reseed, set the clock. */
async function resume(m: Extract<HostMessage, { t: 'resume' }>): Promise<unknown> {
  const t0 = performance.now();
  const bytes = Buffer.from(String(m.entropy), 'base64');
  const answer = await askReseeder(`${Math.round(Number(m.nowMs))} ${bytes.toString('hex')}\n`);
  bytes.fill(0);
  const ok = answer === 'ok';
  return send({ t: 'ready', uptimeMs: Math.round(process.uptime() * 1000), fresh: ok,
    reseedMs: Math.round(performance.now() - t0), ...(ok ? {} : { error: answer.slice(0, 200) }) });
}

async function main(): Promise<void> {
  const device = process.argv[2];
  if (!device) throw new Error('usage: agent.js <device>');
  port = await open(device, 'r+');
  useKernelRandom();
  startReseeder();
  await send({ t: 'ready', uptimeMs: Math.round(process.uptime() * 1000) });
  const reader = new FrameReader(MAX_VM_FRAME_BYTES);
  const buf = Buffer.alloc(64 * 1024);
  let started = false;
  for (;;) {
    const { bytesRead } = await port.read(buf, 0, buf.length, null);
    if (bytesRead === 0) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    for (const frame of reader.push(Buffer.from(buf.subarray(0, bytesRead)))) {
      const m = frame as HostMessage;
      if (m.t === 'run') {
        if (started) continue; // one action per VM
        started = true;
        void runAction(m).then(finish);
      } else if (m.t === 'resume') {
        if (!started) await resume(m);
      } else if (m.t === 'load') {
        // An import that fails here fails again, with its reason, when the action runs.
        if (!started) load(m.module).catch(() => {});
      } else {
        onEgress(m);
      }
    }
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`gw-agent: ${describe(err).message}\n`);
  if (port) await finish({ ok: false, error: describe(err) });
  process.exit(70);
});
