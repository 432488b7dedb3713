import type { TemplateNode } from './template.js';
import type { SlotValue } from './types.js';

/** One spoken form of a list value and the canonical value it stands for. */
export interface ListValue {
  readonly words: readonly string[];
  readonly out: SlotValue;
}

export type SlotList =
  | {
    readonly kind: 'values';
    /** Unique across the whole set: `<file stem>_<list name>`; used as the JSGF rule name. */
    readonly id: string;
    readonly values: readonly ListValue[];
  }
  | { readonly kind: 'range'; readonly id: string; readonly from: number; readonly to: number };

export interface CompiledIntent {
  readonly name: string;
  readonly action: string | null;
  readonly readback: string | null;
  readonly response: string | null;
  /** Parsed sentences with every `<expansion>` already substituted. */
  readonly sentences: readonly TemplateNode[];
  /** The lists this intent's sentences refer to, by list name. */
  readonly lists: ReadonlyMap<string, SlotList>;
  /** Slot name to list name, over all sentences. */
  readonly slots: ReadonlyMap<string, string>;
  /** Where the intent is defined, for error messages: `calendar.yaml:14`. */
  readonly source: string;
}

export interface CompiledSet {
  readonly language: string;
  readonly intents: readonly CompiledIntent[];
}
