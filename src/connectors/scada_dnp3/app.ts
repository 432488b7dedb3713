import { failed, parsed, type Parsed } from './fault.js';
import { parseObjects, type ObjectBlock } from './objects.js';

/** Application layer function codes used here (IEEE 1815 clause 4.2.2.5). */
export const Fn = {
  CONFIRM: 0x00,
  READ: 0x01,
  WRITE: 0x02,
  SELECT: 0x03,
  OPERATE: 0x04,
  DIRECT_OPERATE: 0x05,
  RESPONSE: 0x81,
  UNSOLICITED_RESPONSE: 0x82,
} as const;

export interface AppControl {
  readonly fir: boolean;
  readonly fin: boolean;
  /** CON: the sender wants an application confirmation of this fragment. */
  readonly con: boolean;
  /** UNS: the fragment is (or confirms) an unsolicited response. */
  readonly uns: boolean;
  readonly seq: number;
}

export function encodeControl(c: AppControl): number {
  return (c.fir ? 0x80 : 0) | (c.fin ? 0x40 : 0) | (c.con ? 0x20 : 0) | (c.uns ? 0x10 : 0)
    | (c.seq & 0x0f);
}

export function decodeControl(octet: number): AppControl {
  return {
    fir: (octet & 0x80) !== 0,
    fin: (octet & 0x40) !== 0,
    con: (octet & 0x20) !== 0,
    uns: (octet & 0x10) !== 0,
    seq: octet & 0x0f,
  };
}

/** A request fragment: one octet of control, the function code, then object headers. */
export function encodeRequest(fn: number, seq: number, objects: Uint8Array = new Uint8Array(0),
  uns = false): Uint8Array {
  const out = new Uint8Array(2 + objects.length);
  out[0] = encodeControl({ fir: true, fin: true, con: false, uns, seq });
  out[1] = fn;
  out.set(objects, 2);
  return out;
}

/** Internal indications: IIN1 in the low octet, IIN2 in the high octet. */
export const IIN_BITS = [
  'broadcast', 'class_1_events', 'class_2_events', 'class_3_events',
  'need_time', 'local_control', 'device_trouble', 'device_restart',
  'no_function_support', 'object_unknown', 'parameter_error', 'event_buffer_overflow',
  'already_executing', 'config_corrupt', 'reserved_2', 'reserved_1',
] as const;
export type IinBit = (typeof IIN_BITS)[number];

/** The bits that say the outstation did not carry out the request as asked. */
export const IIN_REQUEST_ERRORS: readonly IinBit[] = [
  'no_function_support', 'object_unknown', 'parameter_error', 'already_executing',
];

export function iinNames(iin: number): IinBit[] {
  return IIN_BITS.filter((_, i) => (iin & (1 << i)) !== 0);
}

export interface Response {
  readonly control: AppControl;
  readonly fn: number;
  /** IIN1 | IIN2 << 8 */
  readonly iin: number;
  /** The object octets as received, for echo checks. */
  readonly objectBytes: Uint8Array;
  readonly objects: readonly ObjectBlock[];
  /** Set when the object headers could not all be parsed; `objects` holds those before. */
  readonly objectFault: string | null;
}

/** Parses a response or unsolicited response fragment. Never throws. */
export function parseResponse(fragment: Uint8Array): Parsed<Response> {
  if (fragment.length < 4) {
    return failed('app_truncated', `response of ${fragment.length} octets, below 4`);
  }
  const fn = fragment[1] ?? 0;
  if (fn !== Fn.RESPONSE && fn !== Fn.UNSOLICITED_RESPONSE) {
    return failed('app_function', `function code 0x${fn.toString(16)} in a response`);
  }
  const objectBytes = fragment.subarray(4);
  const objects = parseObjects(objectBytes);
  return parsed({
    control: decodeControl(fragment[0] ?? 0),
    fn,
    iin: (fragment[2] ?? 0) | ((fragment[3] ?? 0) << 8),
    objectBytes,
    objects: objects.blocks,
    objectFault: objects.fault === null ? null : `${objects.fault.kind}: ${objects.fault.detail}`,
  });
}
