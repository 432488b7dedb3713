import type { Outcome } from '../isolation/executor.js';
import type { Tier } from '../connectors/types.js';
import type { SlotValue } from '../nlu/types.js';

export type Decision =
  | 'answered'
  | 'executed'
  | 'confirmation_requested'
  | 'cancelled'
  | 'refused'
  | 'not_understood'
  | 'clarification_requested'
  | 'ignored';

/**
 * One line of `gateway replay --json` / `gateway say --json`: exactly one per
 * input file or text. The README documents every field.
 */
export interface TurnReport {
  readonly turn: number;
  readonly input: {
    readonly kind: 'audio' | 'text';
    readonly source: string;
    readonly durationMs: number | null;
  };
  readonly wake: {
    readonly engine: string;
    readonly keyword: string;
    readonly score: number;
    readonly atMs: number;
  } | null;
  readonly transcript: {
    readonly text: string;
    readonly confidence: number | null;
    readonly engine: string;
  } | null;
  readonly intent: {
    readonly name: string;
    readonly slots: Readonly<Record<string, SlotValue>>;
    /** `template`, or `llm` for a proposal of the LLM fallback. */
    readonly source: 'template' | 'llm';
  } | null;
  /**
   * The connector action the turn is about (`connector.action`), on asking and confirming
   * turns alike.
   */
  readonly action: string | null;
  readonly tier: Tier | null;
  readonly decision: Decision;
  /** Why the turn ended as it did, as a stable code (e.g. `no_wake_word`, `low_confidence`). */
  readonly reason: string | null;
  readonly outcome: Outcome | null;
  /**
   * For an action run in the sandbox: its layers (`namespaces`, `landlock`, `seccomp`,
   * `rlimits`, `broker`) and the Landlock ABI; null otherwise.
   */
  readonly isolation: { readonly layers: readonly string[]; readonly landlockAbi: number } | null;
  /**
   * For an action run in a critical-tier microVM: the backend, how the VM was started, its
   * boot (VMM start to agent ready), the conversation time it was launched at (null when it
   * was launched only at "confirm"), its start from launch to ready (verification included),
   * and how much of that was hidden behind the confirmation prompt and the answer versus the
   * wait added after "confirm", on the conversation's clock or, at real speed, the wall clock.
   */
  readonly microvm: {
    readonly backend: string;
    readonly mode: 'cold' | 'restored' | 'warm';
    readonly bootMs: number | null;
    readonly startMs: number | null;
    readonly startedAtMs: number | null;
    readonly hiddenMs: number | null;
    readonly addedWaitMs: number | null;
    readonly clock: 'conversation' | 'wall';
  } | null;
  readonly reply: {
    readonly text: string;
    readonly audio: string | null;
    readonly durationMs: number | null;
  } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly timings: Readonly<Record<string, number>>;
}
