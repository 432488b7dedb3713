export type Currency = 'USD' | 'GBP' | 'EUR';

/** A money slot's value: `{ amount: 10000, currency: 'USD' }` ("ten thousand dollars"). */
export interface MoneyValue {
  /** Major units (dollars, pounds, euros), at most two decimal places. */
  readonly amount: number;
  readonly currency: Currency;
}

/**
 * A slot's value: a canonical list value or free text (string), a number (ranges, amounts,
 * ordinals: JS numbers), or money. JSON-serialisable.
 */
export type SlotValue = string | number | MoneyValue;

/**
 * Where a free-text slot's words came from: one of the slot's offline phrases (the only
 * text the offline grammar can hear), or dictation that only a cloud recogniser or typing
 * can produce.
 */
export type FreeTextSource = 'offline_phrase' | 'dictation';

/** The bounds of a slot whose value fell outside them, so that the reply can say them. */
export interface RangeDetail {
  readonly slot: string;
  readonly min: number;
  readonly max: number;
}

/** A slot value its list cannot hold: out of its range, or no value of its list at all. */
export type SlotOutside =
  | { readonly kind: 'range'; readonly detail: RangeDetail }
  | { readonly kind: 'unknown_value'; readonly slot: string };

export interface IntentMatch {
  readonly kind: 'intent';
  /** Intent name, e.g. `calendar.agenda`, `scada.breaker_operate`, `system.confirm`. */
  readonly intent: string;
  /** The connector action it maps to (`connector.action`), or null for system intents. */
  readonly action: string | null;
  /** Canonical slot values; numbers are JS numbers. */
  readonly slots: Readonly<Record<string, SlotValue>>;
  /** For each free-text slot filled: whether the words are one of its offline phrases. */
  readonly freeText?: Readonly<Record<string, FreeTextSource>>;
}

export interface NotUnderstood {
  readonly kind: 'not_understood';
  /** Stable reason code, e.g. `no_match`, `empty`. */
  readonly reason: string;
  /** With `out_of_range`: the slot and the bounds it has (inclusive). */
  readonly detail?: RangeDetail;
  /**
   * With `multiple_commands` (or `no_match` when only one part of a joined sentence is a
   * command): what each part was understood as. None is run, except an emergency stop.
   */
  readonly parts?: readonly Understanding[];
  /**
   * With `ambiguous`, when the readings are one intent differing in one slot: the slot and
   * each reading, so that the dialogue can ask which.
   */
  readonly choice?: { readonly slot: string; readonly options: readonly IntentMatch[] };
}

export type Understanding = IntentMatch | NotUnderstood;

export interface IntentInfo {
  readonly name: string;
  readonly action: string | null;
  /** Sentence spoken back before a confirmation, with `{slot}` placeholders. */
  readonly readback: string | null;
  /**
   * Sentence spoken as the answer, with `{slot}` placeholders (`{result}` for connector
   * output).
   */
  readonly response: string | null;
  /**
   * Free-text slots of the intent, each with its offline phrases (what the offline grammar
   * can hear in place of dictation). Absent when the intent has none.
   */
  readonly freeText?: Readonly<Record<string, readonly string[]>>;
  /** Questions for slots its sentences may leave out, in the order they are asked. */
  readonly ask?: Readonly<Record<string, string>>;
}

export interface JsgfOptions {
  /** Words the recogniser may hear before the command (e.g. the tail of the wake phrase). */
  readonly optionalPrefix?: string;
}

export interface IntentSet {
  readonly language: string;
  readonly intents: readonly IntentInfo[];
  match(text: string): Understanding;
  /**
   * The first slot whose value its intent's lists could not hold (a number outside a
   * range, a value not in a list): for proposals that did not come from a template.
   */
  slotOutside(intent: string, slots: Readonly<Record<string, SlotValue>>):
  SlotOutside | null;
  /** Matches an answer to the question for `slot` of `intent` (see IntentInfo.ask). */
  matchAnswer(intent: string, slot: string, text: string): Understanding;
  /** A JSGF grammar whose public rule accepts every sentence the templates accept. */
  jsgf(options?: JsgfOptions): string;
  /** Every word the grammar uses (to check against the pronouncing dictionary). */
  vocabulary(): readonly string[];
  /**
   * Fills `{slot}` placeholders, numbers, money and ordinals spoken as words; a `[...]` part
   * is left out when a placeholder inside it has no value.
   */
  render(template: string, slots: Readonly<Record<string, SlotValue>>): string;
}
