/**
 * A local rosbridge v2 protocol server for tests, written with `ws`: it takes the JSON ops a
 * client sends (advertise, publish, subscribe, call_service, service_response and the rest),
 * records every one, and answers call_service the way rosbridge does (a service_response with
 * the call's id, `result` and `values`; result false with an error string for an unknown
 * service). It stands in for the robot too: the navigation service takes one goal per
 * request_id and answers a repeat with duplicate = true, and the stop service is a
 * std_srvs/srv/Trigger. Answers can be scripted (refuse, fail, never answer).
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RecordedOp {
  readonly op: string;
  readonly id?: string;
  readonly topic?: string;
  readonly service?: string;
  readonly type?: string;
  readonly msg?: unknown;
  readonly args?: unknown;
  readonly [key: string]: unknown;
}

/** What a service answers: rosbridge's `result` and `values`, or no answer at all. */
export type ServiceAnswer = { readonly result: boolean; readonly values: unknown } | 'hang';

export interface Goal {
  readonly requestId: string;
  readonly goal: unknown;
}

export const NAVIGATE_SERVICE = '/gateway/navigate_to_pose';
export const STOP_SERVICE = '/robot/stop';

export class RosbridgeServer {
  /** Every op every client sent, in order (malformed JSON is recorded as op "invalid"). */
  readonly ops: RecordedOp[] = [];
  /** Goals the robot took: one per request_id. */
  readonly goals: Goal[] = [];
  /** Navigation requests whose request_id had been taken already. */
  readonly duplicates: string[] = [];
  connections = 0;
  private readonly scripted = new Map<string, ServiceAnswer[]>();

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (socket) => {
      this.connections++;
      socket.on('message', (data, binary) => this.onMessage(socket, data.toString(), binary));
    });
  }

  static async start(): Promise<RosbridgeServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new RosbridgeServer(wss);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** The ops of one kind, e.g. every publish. */
  of(op: string): RecordedOp[] {
    return this.ops.filter((o) => o.op === op);
  }

  /** The next call of `service` gets this answer instead of the robot's own. */
  answerNext(service: string, answer: ServiceAnswer): void {
    this.scripted.set(service, [...(this.scripted.get(service) ?? []), answer]);
  }

  reset(): void {
    this.ops.length = 0;
    this.goals.length = 0;
    this.duplicates.length = 0;
    this.scripted.clear();
    this.connections = 0;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onMessage(socket: WebSocket, text: string, binary: boolean): void {
    let op: RecordedOp;
    try {
      const parsed: unknown = JSON.parse(text);
      if (binary || typeof parsed !== 'object' || parsed === null
        || typeof (parsed as { op?: unknown }).op !== 'string') throw new Error('not an op');
      op = parsed as RecordedOp;
    } catch {
      this.ops.push({ op: 'invalid', raw: text });
      return;
    }
    this.ops.push(op);
    if (op.op === 'call_service') this.callService(socket, op);
  }

  private callService(socket: WebSocket, op: RecordedOp): void {
    const service = String(op.service);
    const queue = this.scripted.get(service);
    const answer = queue?.shift() ?? this.robot(service, op.args);
    if (answer === 'hang') return;
    socket.send(JSON.stringify({ op: 'service_response', id: op.id, service,
      result: answer.result, values: answer.values }));
  }

  /** The robot's own services. */
  private robot(service: string, args: unknown): ServiceAnswer {
    if (service === NAVIGATE_SERVICE) {
      const a = (args ?? {}) as { request_id?: unknown; goal?: unknown };
      if (typeof a.request_id !== 'string' || a.request_id === '' || !a.goal) {
        return { result: true, values: { success: false, duplicate: false,
          message: 'request_id and goal are required' } };
      }
      if (this.goals.some((g) => g.requestId === a.request_id)) {
        this.duplicates.push(a.request_id);
        return { result: true, values: { success: true, duplicate: true,
          message: 'goal already accepted' } };
      }
      this.goals.push({ requestId: a.request_id, goal: a.goal });
      return { result: true, values: { success: true, duplicate: false, message: 'accepted' } };
    }
    if (service === STOP_SERVICE) {
      return { result: true, values: { success: true, message: 'stopped' } };
    }
    return { result: false, values: `Service ${service} does not exist` };
  }
}
