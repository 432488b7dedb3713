import type { TemplateNode } from './template.js';
import type { Currency } from './types.js';

/** One spoken form of a list value and the canonical value it stands for. */
export interface ListValue {
  readonly words: readonly string[];
  readonly out: string | number;
  /** False for a form only typed, never said (not in the grammar): "btc". */
  readonly spoken: boolean;
}

/**
 * A slot's list. `id` is unique across the whole set (`<file stem>_<list name>`) and names
 * the list's JSGF rule.
 */
export type SlotList =
  | { readonly kind: 'values'; readonly id: string; readonly values: readonly ListValue[] }
  | { readonly kind: 'range'; readonly id: string; readonly from: number; readonly to: number }
  | {
    readonly kind: 'number';
    readonly id: string;
    readonly min: number;
    readonly max: number;
    readonly decimals: boolean;
  }
  | {
    readonly kind: 'currency';
    readonly id: string;
    readonly min: number;
    readonly max: number;
    readonly currencies: readonly Currency[];
  }
  | { readonly kind: 'ordinal'; readonly id: string; readonly from: number; readonly to: number }
  | {
    readonly kind: 'free_text';
    readonly id: string;
    readonly maxWords: number;
    /** The phrases the offline grammar holds in place of dictation, as words. */
    readonly offline: readonly (readonly string[])[];
  };

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
  /** Questions for slots a sentence may leave out, in the order they are asked. */
  readonly ask: ReadonlyMap<string, string>;
  /**
   * Set on the answer sentences of a question (`<intent>#<slot>`): they are matched only
   * while that question is pending, and are in the grammar so that they can be heard.
   */
  readonly answerFor?: { readonly intent: string; readonly slot: string };
}

export interface CompiledSet {
  readonly language: string;
  readonly intents: readonly CompiledIntent[];
}
