import { Fn, IIN_REQUEST_ERRORS, iinNames, type IinBit } from './app.js';
import { Dnp3Error } from './fault.js';
import {
  allObjects, crobObject, rangeHeader, type Crob, type ObjectBlock,
} from './objects.js';
import { Dnp3Session, type Answer, type SessionOptions } from './session.js';

/** What a breaker is told: TRIP opens it, CLOSE closes it. */
export type BreakerCommand = 'trip' | 'close';

/** CROB control codes: trip-close code in bits 6..7, op type PULSE_ON (1) in bits 0..3. */
export const CROB_CODE: Readonly<Record<BreakerCommand, number>> = { close: 0x41, trip: 0x81 };

/** CROB status codes (the standard's control status table): 0 is success, others refuse. */
const CROB_STATUS: Readonly<Record<number, string>> = {
  0: 'success', 1: 'select timed out', 2: 'operate without a select', 3: 'format error',
  4: 'control not supported', 5: 'already active', 6: 'hardware error', 7: 'in local control',
  8: 'too many objects', 9: 'not authorized', 10: 'automation inhibit', 11: 'processing limited',
  12: 'out of range', 126: 'non-participating', 127: 'undefined',
};

export function crobStatusText(status: number): string {
  return CROB_STATUS[status] ?? `status ${status}`;
}

export function breakerCrob(command: BreakerCommand, pulseMs: number): Crob {
  return { code: CROB_CODE[command], count: 1, onTimeMs: pulseMs, offTimeMs: 0, status: 0 };
}

export interface BinaryReading {
  readonly index: number;
  readonly state: boolean;
  /** Quality flags (bit 0 ONLINE) when the outstation sent them; null for packed values. */
  readonly flags: number | null;
  readonly iin: readonly IinBit[];
}

export interface PollResult {
  readonly iin: readonly IinBit[];
  /** Static binary inputs (group 1) by index. */
  readonly binaryInputs: ReadonlyMap<number, { state: boolean; flags: number | null }>;
  /** Every object block of the response, events included. */
  readonly blocks: readonly ObjectBlock[];
  /** Where parsing of a fragment's objects stopped early, if it did. */
  readonly objectFaults: readonly string[];
}

export interface CrobResult {
  readonly status: number;
  readonly iin: readonly IinBit[];
}

/** The flag an outstation sets on a point whose value it vouches for. */
export const ONLINE = 0x01;

function blocksOf(a: Answer): ObjectBlock[] {
  return a.fragments.flatMap((f) => f.objects);
}

/** Refuses an answer whose IIN says the request was not carried out as asked. */
function checkIin(a: Answer, what: string): IinBit[] {
  const names = iinNames(a.iin);
  const errors = names.filter((n) => IIN_REQUEST_ERRORS.includes(n));
  if (errors.length > 0) {
    throw new Dnp3Error('iin_error', `the outstation answered ${what} with ${errors.join(', ')}`);
  }
  return names;
}

/** A DNP3 master's requests over one session. */
export class Dnp3Master {
  private constructor(readonly session: Dnp3Session) {}

  static async open(o: SessionOptions): Promise<Dnp3Master> {
    return new Dnp3Master(await Dnp3Session.connect(o));
  }

  close(): void {
    this.session.close();
  }

  /** Integrity poll: class 1, 2 and 3 events, then class 0 (all static data). */
  async integrityPoll(): Promise<PollResult> {
    const req = new Uint8Array([
      ...allObjects(60, 2), ...allObjects(60, 3), ...allObjects(60, 4), ...allObjects(60, 1),
    ]);
    const answer = await this.session.request(Fn.READ, req);
    const iin = checkIin(answer, 'the integrity poll');
    const binaryInputs = new Map<number, { state: boolean; flags: number | null }>();
    const blocks = blocksOf(answer);
    for (const b of blocks) {
      if (b.group !== 1) continue;
      for (const p of b.points) {
        if (p.value.kind === 'binary') {
          binaryInputs.set(p.index, { state: p.value.state, flags: p.value.flags });
        }
      }
    }
    const objectFaults = answer.fragments.flatMap((f) => (f.objectFault ? [f.objectFault] : []));
    return { iin, binaryInputs, blocks, objectFaults };
  }

  /** Reads one binary input (group 1, any variation the outstation prefers). */
  async readBinaryInput(index: number): Promise<BinaryReading> {
    const answer = await this.session.request(Fn.READ, rangeHeader(1, 0, index, index));
    const iin = checkIin(answer, `the read of binary input ${index}`);
    for (const b of blocksOf(answer)) {
      if (b.group !== 1) continue;
      const p = b.points.find((x) => x.index === index);
      if (p?.value.kind === 'binary') {
        return { index, state: p.value.state, flags: p.value.flags, iin };
      }
    }
    const why = answer.fragments.map((f) => f.objectFault).find((f) => f !== null);
    throw new Dnp3Error('point_missing',
      `the response carries no binary input ${index}${why ? ` (${why})` : ''}`);
  }

  /**
   * Writes 0 to IIN1.7 (DEVICE_RESTART, group 80 index 7), as a master does after it has
   * seen an outstation restart.
   */
  async clearRestart(): Promise<readonly IinBit[]> {
    const answer = await this.session.request(Fn.WRITE, Uint8Array.of(80, 1, 0x00, 7, 7, 0));
    return checkIin(answer, 'the restart flag clear');
  }

  /** SELECT then OPERATE with identical objects in the next sequence number. */
  async selectBeforeOperate(index: number, crob: Crob): Promise<CrobResult> {
    await this.control(Fn.SELECT, index, crob);
    return this.control(Fn.OPERATE, index, crob);
  }

  async directOperate(index: number, crob: Crob): Promise<CrobResult> {
    return this.control(Fn.DIRECT_OPERATE, index, crob);
  }

  /**
   * One control request; the outstation must echo the object exactly, bar the status
   * octet, and that status must be success.
   */
  async control(fn: number, index: number, crob: Crob): Promise<CrobResult> {
    const request = crobObject(index, { ...crob, status: 0 });
    const what = fn === Fn.SELECT ? 'SELECT' : fn === Fn.OPERATE ? 'OPERATE' : 'DIRECT_OPERATE';
    const answer = await this.session.request(fn, request);
    const iin = checkIin(answer, what);
    const echo = answer.fragments[0]?.objectBytes ?? new Uint8Array(0);
    const statusAt = request.length - 1;
    const same = echo.length === request.length
      && request.every((byte, i) => i === statusAt || echo[i] === byte);
    if (!same) {
      throw new Dnp3Error('echo_mismatch', `the ${what} echo differs from the request`);
    }
    const status = echo[statusAt] ?? 0;
    if (status !== 0) {
      throw new Dnp3Error('crob_status', `${what} refused: ${crobStatusText(status)}`);
    }
    return { status, iin };
  }
}
