/**
 * What can go wrong on a DNP3 association, as data. Parsers return faults instead of
 * throwing, so that a hostile byte stream can never unwind the master; the session turns
 * the faults that end a request into a Dnp3Error.
 */
export type FaultKind =
  // link layer
  | 'link_sync' | 'link_header_crc' | 'link_length' | 'link_data_crc'
  // transport layer
  | 'transport_empty' | 'transport_sequence' | 'transport_no_first' | 'fragment_too_large'
  // application layer
  | 'app_truncated' | 'app_function' | 'app_sequence' | 'app_qualifier' | 'app_object_unknown'
  | 'app_range'
  // session
  | 'connect' | 'closed' | 'timeout' | 'aborted' | 'iin_error' | 'echo_mismatch'
  | 'crob_status' | 'point_missing';

export interface Fault {
  readonly kind: FaultKind;
  readonly detail: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly fault: Fault };

export function fault(kind: FaultKind, detail: string): Fault {
  return { kind, detail };
}

export function failed<T>(kind: FaultKind, detail: string): Parsed<T> {
  return { ok: false, fault: { kind, detail } };
}

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** A request that could not be completed; `kind` says at which step and why. */
export class Dnp3Error extends Error {
  readonly kind: FaultKind;

  constructor(kind: FaultKind, detail: string, options?: { cause?: unknown }) {
    super(`${kind}: ${detail}`, options);
    this.name = 'Dnp3Error';
    this.kind = kind;
  }
}
