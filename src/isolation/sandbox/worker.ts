/**
 * The worker runtime: the program Node.js runs inside the sandbox.
 *
 *   node worker.js <connector module> <broker socket>
 *
 * It loads the connector module, says it is ready, reads ONE request frame from stdin (the
 * only way secrets ever reach it), runs the action with a SandboxContext whose connect() goes
 * through the host's broker, writes ONE response frame to stdout and exits. It imports
 * nothing but Node.js built-ins and the frame codec, so the sandbox needs no node_modules.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { SandboxContext, SandboxedConnector } from '../../connectors/types.js';
import { encodeFrame, readOneFrame } from './frame.js';

/** Longest reply line the broker sends (`OK`, `DENIED`, `FAILED`). */
const MAX_REPLY_BYTES = 64;

export interface WorkerRequest {
  readonly action: string;
  readonly input: unknown;
  readonly settings: Record<string, unknown>;
  readonly secrets: Record<string, string>;
  readonly now: string;
  readonly timeZone: string;
  readonly principal: string;
  /** The action's idempotency key, when it changes the world (see ActionContext). */
  readonly idempotencyKey?: string | null;
}

export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly code: string | null;
  readonly syscall: string | null;
}

export type WorkerResponse =
  | { readonly ok: true; readonly speech: string; readonly data?: unknown }
  | { readonly ok: false; readonly error: WorkerError };

class EgressError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'EgressError';
  }
}

/** Opens a stream to host:port through the broker socket. */
export function brokerConnect(socketPath: string, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path: socketPath, allowHalfOpen: true });
    let reply: Buffer = Buffer.alloc(0);
    const fail = (err: Error): void => {
      sock.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      reply = Buffer.concat([reply, chunk]);
      const nl = reply.indexOf(0x0a);
      if (nl < 0) {
        if (reply.length > MAX_REPLY_BYTES) fail(new EgressError('EGRESS_BROKEN', 'bad reply'));
        return;
      }
      sock.off('data', onData);
      sock.off('error', fail);
      const word = reply.subarray(0, nl).toString('latin1');
      const rest = reply.subarray(nl + 1);
      if (word === 'OK') {
        // Held while the connector attaches its listeners (its continuation and their
        // nextTicks run before setImmediate), so that no byte after "OK" is lost; then it
        // flows. Left paused, a socket that is neither read nor written keeps nothing alive,
        // and the worker would exit before the reply came (node:http never resumes it).
        sock.pause();
        if (rest.length) sock.unshift(rest);
        resolve(sock);
        setImmediate(() => sock.resume());
      } else if (word === 'DENIED') {
        fail(new EgressError('EGRESS_DENIED', `the broker refused ${host}:${port}`));
      } else {
        fail(new EgressError('EGRESS_FAILED', `the broker could not reach ${host}:${port}`));
      }
    };
    sock.on('data', onData);
    sock.on('error', fail);
    sock.once('connect', () => {
      const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      sock.write(`CONNECT ${target}\n`);
    });
  });
}

function describe(err: unknown): WorkerError {
  if (err instanceof Error) {
    const e = err as NodeJS.ErrnoException;
    return {
      name: e.name,
      message: e.message,
      code: typeof e.code === 'string' ? e.code : null,
      syscall: typeof e.syscall === 'string' ? e.syscall : null,
    };
  }
  return { name: 'Error', message: String(err), code: null, syscall: null };
}

function send(response: WorkerResponse | { readonly ready: true }): Promise<void> {
  let frame: Buffer;
  try {
    frame = encodeFrame(response);
  } catch (err) {
    frame = encodeFrame({ ok: false, error: describe(err) });
  }
  return new Promise((resolve) => process.stdout.write(frame, () => resolve()));
}

/**
 * Node's fetch classes (Request, Response, Headers) load undici, which at once starts
 * instantiating its WebAssembly HTTP parser; under the sandbox's address-space limit that
 * reservation fails, and the rejection would end the worker. The parser is never used here:
 * every connection is brokered, over node:http (src/connectors/egress/fetch.ts).
 */
process.on('unhandledRejection', (err: unknown) => {
  if (err instanceof RangeError && (err.stack ?? '').includes('lazyllhttp')) return;
  throw err;
});

async function main(): Promise<void> {
  const [modulePath, brokerPath] = process.argv.slice(2);
  if (!modulePath || !brokerPath) throw new Error('usage: worker.js <module> <broker socket>');
  const mod = (await import(pathToFileURL(modulePath).href)) as { connector?: SandboxedConnector };
  const connector = mod.connector;
  if (!connector || typeof connector.run !== 'function') {
    throw new Error(`${modulePath} exports no connector`);
  }
  await send({ ready: true });
  const request = (await readOneFrame(process.stdin)) as WorkerRequest;
  process.stdin.destroy();
  const controller = new AbortController();
  const ctx: SandboxContext = {
    now: new Date(request.now),
    timeZone: request.timeZone,
    principal: request.principal,
    signal: controller.signal,
    secrets: Object.freeze({ ...request.secrets }),
    settings: Object.freeze({ ...request.settings }),
    idempotencyKey: typeof request.idempotencyKey === 'string' ? request.idempotencyKey : null,
    connect: (host, port) => brokerConnect(brokerPath, host, port),
  };
  try {
    const result = await connector.run(request.action, request.input, ctx);
    await send({ ok: true, speech: String(result.speech), data: result.data });
  } catch (err) {
    await send({ ok: false, error: describe(err) });
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    await send({ ok: false, error: describe(err) });
    process.exit(70);
  },
);
