import type { z } from 'zod';
import type { Logger } from '../log.js';

export const TIERS = ['safe', 'elevated', 'dangerous', 'critical'] as const;
export type Tier = (typeof TIERS)[number];

export function tierRank(tier: Tier): number {
  return TIERS.indexOf(tier);
}

export interface ActionSpec {
  readonly tier: Tier;
  readonly description: string;
  /** Input slots, validated before the action runs. */
  readonly input: z.ZodType;
  /** An emergency stop is never held for confirmation; it still runs in its tier. */
  readonly emergencyStop?: boolean;
}

export interface ConnectorManifest {
  readonly name: string;
  readonly description: string;
  readonly actions: Readonly<Record<string, ActionSpec>>;
}

export interface ActionContext {
  readonly now: Date;
  readonly timeZone: string;
  readonly principal: string;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

export interface ActionResult {
  /** The sentence spoken back to the user. */
  readonly speech: string;
  /** Structured result for JSON reports (personal data: never logged). */
  readonly data?: unknown;
}

export interface Connector {
  readonly manifest: ConnectorManifest;
  run(action: string, input: unknown, ctx: ActionContext): Promise<ActionResult>;
}

/** A connector known by its manifest whose implementation may not exist yet. */
export interface RegisteredConnector {
  readonly manifest: ConnectorManifest;
  readonly implementation: Connector | null;
}
