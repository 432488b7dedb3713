export type SlotValue = string | number;

export interface IntentMatch {
  readonly kind: 'intent';
  /** Intent name, e.g. `calendar.agenda`, `scada.breaker_operate`, `system.confirm`. */
  readonly intent: string;
  /** The connector action it maps to (`connector.action`), or null for system intents. */
  readonly action: string | null;
  /** Canonical slot values; numbers are JS numbers. */
  readonly slots: Readonly<Record<string, SlotValue>>;
}

export interface NotUnderstood {
  readonly kind: 'not_understood';
  /** Stable reason code, e.g. `no_match`, `empty`. */
  readonly reason: string;
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
}

export interface JsgfOptions {
  /** Words the recogniser may hear before the command (e.g. the tail of the wake phrase). */
  readonly optionalPrefix?: string;
}

export interface IntentSet {
  readonly language: string;
  readonly intents: readonly IntentInfo[];
  match(text: string): Understanding;
  /** A JSGF grammar whose public rule accepts every sentence the templates accept. */
  jsgf(options?: JsgfOptions): string;
  /** Every word the grammar uses (to check against the pronouncing dictionary). */
  vocabulary(): readonly string[];
  /** Fills `{slot}` placeholders, numbers spoken as words. */
  render(template: string, slots: Readonly<Record<string, SlotValue>>): string;
}
