/**
 * One short rosbridge v2 session through roslib: connect, publish or call a service, close.
 * roslib gets its WebSocket from a transport factory of ours: a `ws` client whose TCP
 * connection comes from a `Connect` function (the host's broker inside the microVM, through
 * an http.Agent; a direct connection in process). roslib and ws are imported when a link
 * opens, so that this module loads where they are absent and says so in one clear error.
 * Every wait has the configured deadline; roslib's own calls have none.
 */
import type { ClientRequestArgs } from 'node:http';
import { GatewayError } from '../../errors.js';
import { brokeredAgent, type Connect } from '../egress/agent.js';
import { farText } from './messages.js';

export interface RosLink {
  /** Advertises (once) and publishes one message; rosbridge does not acknowledge it. */
  publish(topic: string, messageType: string, msg: object): void;
  /** Calls a service and returns its response values; a failed call throws. */
  call(service: string, args: object): Promise<unknown>;
  /** Closes the WebSocket after everything sent has been written, and waits for it. */
  close(): Promise<void>;
}

export interface LinkOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Where TCP connections come from; absent: ws connects directly (in process). */
  readonly connect?: Connect;
}

function unreachable(why: string): GatewayError {
  return new GatewayError('GW_REMOTE_UNAVAILABLE', `The robot's rosbridge server cannot be ` +
    `reached (${why}), so nothing was sent`);
}

/**
 * The part of roslib 2 used here. Its own type declarations re-export without a file
 * extension, which TypeScript's NodeNext resolution cannot follow, so they are stated here.
 */
interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}
interface Roslib {
  AbstractTransport: new () => Emitter & {
    emit(event: string, ...args: unknown[]): boolean;
    handleRawMessage(data: unknown): void;
  };
  Ros: new (options: { transportFactory: (url: string) => Promise<object> }) => Emitter & {
    connect(url: string): Promise<void>;
    close(): void;
  };
  Topic: new (options: { ros: object; name: string; messageType: string;
    reconnect_on_close: boolean }) => { publish(msg: object): void };
  Service: new (options: { ros: object; name: string; serviceType: string }) => {
    callService(args: object, ok: (values: unknown) => void, fail: (error: unknown) => void):
    void;
  };
}

async function loadLibraries(): Promise<{ roslib: Roslib; ws: typeof import('ws') }> {
  try {
    return { roslib: (await import('roslib')) as unknown as Roslib, ws: await import('ws') };
  } catch {
    throw new GatewayError('GW_CONNECTOR_UNAVAILABLE', 'roslib cannot be loaded here (a ' +
      'microVM image without its guest packages?), so the robot was not moved');
  }
}

/** Waits for `ok`, failing on the deadline or the caller's abort. */
function deadline<T>(what: string, ok: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const limit = new Promise<never>((_, reject) => {
    const fail = (): void => reject(new GatewayError('GW_ACTION_TIMEOUT',
      `${what} did not finish within ${ms} ms`));
    timer = setTimeout(fail, ms);
    onAbort = fail;
    if (signal.aborted) fail();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([ok, limit]).finally(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  });
}

export async function openLink(opts: LinkOptions): Promise<RosLink> {
  const { roslib, ws } = await loadLibraries();
  const WebSocket = ws.WebSocket;
  // Set by the transport factory; a holder, because TypeScript cannot see that assignment.
  const held: { socket: InstanceType<typeof WebSocket> | null } = { socket: null };

  /** roslib's transport over one ws client (roslib's own needs a URL it dials itself). */
  class Transport extends roslib.AbstractTransport {
    constructor(private readonly s: InstanceType<typeof WebSocket>) {
      super();
      s.on('open', (e: unknown) => this.emit('open', e));
      s.on('close', (e: unknown) => this.emit('close', e));
      s.on('error', (e: unknown) => this.emit('error', e));
      s.on('message', (data: Buffer, binary: boolean) => {
        this.handleRawMessage(binary ? data : data.toString('utf8'));
      });
    }

    send(message: object): void {
      this.s.send(JSON.stringify(message));
    }

    close(): void {
      this.s.close();
    }

    isConnecting(): boolean { return this.s.readyState === WebSocket.CONNECTING; }
    isOpen(): boolean { return this.s.readyState === WebSocket.OPEN; }
    isClosing(): boolean { return this.s.readyState === WebSocket.CLOSING; }
    isClosed(): boolean { return this.s.readyState === WebSocket.CLOSED; }
  }

  const factory = (url: string): Promise<Transport> => {
    // No handshakeTimeout: ws would set a request timeout, which calls setTimeout on the
    // socket, and a brokered stream is a plain Duplex without one. deadline() covers it.
    const options: ClientRequestArgs = {};
    if (opts.connect) {
      const agent = brokeredAgent(opts.connect, url.replace(/^ws/, 'http'));
      // ws hands wss:// to https.request, which wants an agent speaking "https:"; the
      // brokered agent does the TLS itself.
      if (url.startsWith('wss:')) Object.assign(agent, { protocol: 'https:' });
      options.agent = agent;
    }
    const socket = new WebSocket(url, { ...options, perMessageDeflate: false });
    held.socket = socket;
    return Promise.resolve(new Transport(socket));
  };
  const ros = new roslib.Ros({ transportFactory: factory });
  const opened = new Promise<void>((resolve, reject) => {
    ros.once('connection', () => resolve());
    ros.once('error', (e: unknown) => reject(unreachable(describe(e))));
    ros.once('close', () => reject(unreachable('the connection closed')));
  });
  opened.catch(() => {});
  await ros.connect(opts.url);
  try {
    await deadline('connecting to rosbridge', opened, opts.timeoutMs, opts.signal);
  } catch (err) {
    held.socket?.terminate();
    throw err;
  }
  const closed = new Promise<void>((resolve) => {
    const socket = held.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) resolve();
    else socket.once('close', () => resolve());
  });
  const errors = new Promise<never>((_, reject) => {
    ros.on('close', () => reject(unreachable('the connection closed during the call')));
  });
  errors.catch(() => {});
  const topics = new Map<string, InstanceType<Roslib['Topic']>>();
  return {
    publish(topic, messageType, msg) {
      let t = topics.get(topic);
      if (!t) {
        t = new roslib.Topic({ ros, name: topic, messageType, reconnect_on_close: false });
        topics.set(topic, t);
      }
      t.publish(msg);
    },
    call(service, args) {
      const s = new roslib.Service({ ros, name: service, serviceType: '' });
      const answer = new Promise<unknown>((resolve, reject) => {
        s.callService(args, resolve, (error: unknown) => {
          reject(new GatewayError('GW_REMOTE_UNAVAILABLE', `The robot's service ${service} ` +
            `failed${farText(error) ? `: ${farText(error)}` : ''}`));
        });
      });
      return deadline(`the call of ${service}`, Promise.race([answer, errors]), opts.timeoutMs,
        opts.signal);
    },
    async close() {
      ros.close();
      await deadline('closing the rosbridge connection', closed, opts.timeoutMs, opts.signal)
        .catch(() => held.socket?.terminate());
    },
  };
}

function describe(e: unknown): string {
  const err = (e as { error?: unknown } | null)?.error ?? e;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  return err instanceof Error ? farText(err.message) || 'an error' : 'an error';
}
