/**
 * scada_modbus_write as it runs inside the critical tier's microVM: one write of a
 * configured point (FC 5 for a coil, FC 6 for a holding register) over the Modbus TCP
 * connection the host's broker opens, then one read of the same point (FC 1 or FC 3) to
 * check that the device holds what was written.
 *
 * At most once: the write request is put on the wire once and never again, whatever
 * happens. An answer that never comes after the write left is GW_ACTION_TIMEOUT (the
 * outcome is unknown), never a retry. The far side's exception codes, an echo for another
 * address and a read-back that differs are failures with stable codes that the reply says.
 *
 * It imports modbus-serial (carried by the image in /opt/gw/node_modules) and Node.js
 * built-ins; it writes nothing to any log.
 */
import modbusSerial from 'modbus-serial';
import { GatewayError } from '../../errors.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { StreamPort } from './port.js';
import {
  DEFAULT_RESPONSE_TIMEOUT_MS, POINT_NAME, type WriteInput, type WriteOutput,
} from './schemas.js';

// A CommonJS package: its exports object is the client class, and also its `default`.
const ModbusRTU = modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;


function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** The host validated the input against the manifest; this is the worker's own check. */
export function inputOf(input: unknown): WriteInput {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const keys = ['point', 'host', 'port', 'unit_id', 'kind', 'address', 'value', 'state'];
  const ok = typeof i.point === 'string' && POINT_NAME.test(i.point) && i.point.length <= 100
    && typeof i.host === 'string' && i.host.length > 0 && i.host.length <= 253
    && isInt(i.port, 1, 65_535) && isInt(i.unit_id, 0, 255)
    && (i.kind === 'coil' || i.kind === 'holding_register') && isInt(i.address, 0, 65_535)
    && isInt(i.value, 0, i.kind === 'coil' ? 1 : 65_535)
    && (i.state === 'closed' || i.state === 'open')
    && Object.keys(i).every((k) => keys.includes(k));
  if (!ok) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'the Modbus write is not a resolved point');
  }
  return i as unknown as WriteInput;
}

function timeoutOf(ctx: SandboxContext): number {
  const t = ctx.settings.response_timeout_ms;
  return isInt(t, 100, 120_000) ? t : DEFAULT_RESPONSE_TIMEOUT_MS;
}

/** modbus-serial's errors: a Modbus exception carries `modbusCode`; others an errno. */
function exceptionOf(err: unknown): { code: number; text: string } | null {
  const e = err as { modbusCode?: unknown; message?: unknown } | null;
  if (e && typeof e.modbusCode === 'number') {
    const text = typeof e.message === 'string'
      ? e.message.replace(/^Modbus exception \d+: /, '').replace(/ \(.*\)$/, '') : '';
    return { code: e.modbusCode, text: text.toLowerCase() };
  }
  return null;
}

function describe(err: unknown): string {
  const e = err as { message?: unknown } | null;
  return e && typeof e.message === 'string' && e.message ? e.message : 'no answer';
}

function capitalised(s: string): string {
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}`;
}

/** How a value read from the point is said: a coil as closed or open, a register as is. */
function said(i: WriteInput, v: number): string {
  return i.kind === 'coil' ? (v === 1 ? 'closed' : 'open') : `value ${v}`;
}

class Session {
  private readonly port: StreamPort;
  private readonly client: Client;
  private readonly closed: Promise<never>;

  constructor(stream: import('node:stream').Duplex, unitId: number, timeoutMs: number) {
    this.port = new StreamPort(stream);
    this.client = new ModbusRTU(this.port);
    // ModbusRTU re-emits port errors; the request in flight fails through `closed`.
    this.client.on('error', () => {});
    this.closed = new Promise<never>((_, reject) => {
      this.port.once('close', () => reject(new Error('the device closed the connection')));
    });
    this.closed.catch(() => {});
    this.client.setID(unitId);
    this.client.setTimeout(timeoutMs);
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.client.open((err: unknown) => (err ? reject(err as Error) : resolve()));
    });
  }

  /** One request, failed early when the connection goes away. */
  request<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    return Promise.race([fn(this.client), this.closed]);
  }

  get sent(): number {
    return this.port.sent;
  }

  close(): void {
    this.port.destroy();
  }
}

async function writePoint(i: WriteInput, ctx: SandboxContext): Promise<ActionResult> {
  let stream: import('node:stream').Duplex;
  try {
    stream = await ctx.connect(i.host, i.port);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EGRESS_DENIED') throw err; // the broker's refusal, said as such by the host
    throw new GatewayError('GW_REMOTE_UNAVAILABLE',
      `the Modbus device of ${i.point} cannot be reached (${describe(err)}); nothing was written`);
  }
  const session = new Session(stream, i.unit_id, timeoutOf(ctx));
  const onAbort = (): void => session.close();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await session.open();
    await write(session, i);
    const readBack = await read(session, i);
    if (readBack !== i.value) {
      throw new GatewayError('GW_READBACK_MISMATCH', i.kind === 'coil'
        ? `${i.point} reads ${said(i, readBack)} after it was told to be ${i.state}`
        : `${i.point} reads ${readBack}, not ${i.value}, after the write`);
    }
    const data: WriteOutput = {
      point: i.point, kind: i.kind, unit_id: i.unit_id, address: i.address, written: i.value,
      read_back: readBack, state: i.state,
    };
    return { speech: `${capitalised(i.point)} is ${i.state}.`, data };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    session.close();
  }
}

/** FC 5 or FC 6, sent once. The echo must name the same address. */
async function write(session: Session, i: WriteInput): Promise<void> {
  let echo: { address: number };
  try {
    echo = await session.request(async (c) => {
      if (i.kind === 'coil') {
        return { address: (await c.writeCoil(i.address, i.value === 1)).address };
      }
      return { address: (await c.writeRegister(i.address, i.value)).address };
    });
  } catch (err) {
    const ex = exceptionOf(err);
    if (ex) {
      throw new GatewayError('GW_REMOTE_REJECTED', `the device refused to set ${i.point}: ` +
        `${ex.text || 'an error'} (Modbus exception ${ex.code})`);
    }
    if (session.sent === 0) {
      throw new GatewayError('GW_REMOTE_UNAVAILABLE',
        `the Modbus device of ${i.point} closed the connection; nothing was written`);
    }
    // The request left: the device may have acted. Never sent again.
    throw new GatewayError('GW_ACTION_TIMEOUT', `the device did not answer the write of ` +
      `${i.point} (${describe(err)}), so whether it is ${i.state} is unknown`);
  }
  // An echo of another value (some devices echo what they now hold) is left to the
  // read-back, which decides; an echo of another address is not an answer to this write.
  if (echo.address !== i.address) {
    throw new GatewayError('GW_REMOTE_REJECTED', `the device answered the write of ${i.point} ` +
      `for another address (${echo.address})`);
  }
}

/** FC 1 or FC 3 of the one point just written. */
async function read(session: Session, i: WriteInput): Promise<number> {
  try {
    return await session.request(async (c) => {
      if (i.kind === 'coil') return (await c.readCoils(i.address, 1)).data[0] === true ? 1 : 0;
      const v = (await c.readHoldingRegisters(i.address, 1)).data[0];
      if (typeof v !== 'number') throw new Error('no register in the answer');
      return v;
    });
  } catch (err) {
    const ex = exceptionOf(err);
    const why = ex ? `${ex.text} (Modbus exception ${ex.code})` : describe(err);
    throw new GatewayError('GW_REMOTE_UNAVAILABLE', `the device took the write of ${i.point} ` +
      `but its read-back failed (${why}), so whether it is ${i.state} is unknown`);
  }
}

export const connector: SandboxedConnector = {
  name: 'scada_modbus_write',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    if (action !== 'write_point') {
      throw new GatewayError('GW_CONNECTOR_UNAVAILABLE', `scada_modbus_write has no ${action}`);
    }
    return writePoint(inputOf(input), ctx);
  },
};
