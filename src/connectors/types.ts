import type { z } from 'zod';
import type { Duplex } from 'node:stream';
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
  /** The action's structured result, validated before it is spoken or returned. */
  readonly output?: z.ZodType;
  /** An emergency stop is never held for confirmation; it still runs in its tier. */
  readonly emergencyStop?: boolean;
}

/** A network endpoint a connector may reach, and only through the host's broker. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface ConnectorManifest {
  readonly name: string;
  readonly description: string;
  readonly actions: Readonly<Record<string, ActionSpec>>;
  /** The only endpoints the connector may reach (brokered by the host). None by default. */
  readonly egress?: readonly Endpoint[];
  /** Names of the secrets the connector needs, handed over per call, never in its env. */
  readonly secrets?: readonly string[];
}

export interface ActionContext {
  readonly now: Date;
  readonly timeZone: string;
  readonly principal: string;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /**
   * The action's idempotency key (its audit record id) for actions that change the world;
   * connectors pass it to the far side wherever the protocol has one. Absent for reads.
   */
  readonly idempotencyKey?: string;
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

/**
 * What a connector sees when it runs inside the dangerous-tier sandbox: no network of its
 * own, no environment secrets. Everything it may use arrives here, for this call only.
 */
export interface SandboxContext {
  readonly now: Date;
  readonly timeZone: string;
  readonly principal: string;
  readonly signal: AbortSignal;
  /** The secrets the manifest names, handed over through a pipe for this call. */
  readonly secrets: Readonly<Record<string, string>>;
  /** The connector's non-secret settings from configuration (JSON values). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The action's idempotency key (see ActionContext), or null when it has none. */
  readonly idempotencyKey: string | null;
  /** A TCP stream to one of the manifest's endpoints, opened by the host's broker. */
  connect(host: string, port: number): Promise<Duplex>;
}

/**
 * What the executor needs from configuration to run one sandboxed call: the endpoints the
 * broker may open for it (derived from configured URLs, so a test server on loopback can
 * stand in for the real one), its non-secret settings, and its secrets by manifest name.
 */
export interface SandboxPlan {
  readonly endpoints: readonly Endpoint[];
  readonly settings: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, string>>;
}

/** A connector module that runs in the sandbox: `src/connectors/<name>/worker.ts`. */
export interface SandboxedConnector {
  readonly name: string;
  run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult>;
}
