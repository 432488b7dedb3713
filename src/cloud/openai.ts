import OpenAI from 'openai';
import { GatewayError } from '../errors.js';

/** How to reach an OpenAI-compatible service; shared by the cloud STT and TTS engines. */
export interface OpenAiConnectionOptions {
  /** Required; configuration supplies it (the environment is not read here). */
  readonly apiKey?: string;
  /** Any OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8000/v1`; default OpenAI's. */
  readonly baseURL?: string;
  /** Deadline per request; default 30 s. */
  readonly timeoutMs?: number;
  /** Retries the SDK makes on connection errors, 429 and 5xx; default 1. */
  readonly maxRetries?: number;
}

/**
 * An SDK client for `options`. Throws GW_CLOUD_KEY_MISSING without a key; `missingKey`
 * is that error's message, naming the engine and its configuration section.
 */
export function openAiClient(options: OpenAiConnectionOptions, missingKey: string): OpenAI {
  if (!options.apiKey) throw new GatewayError('GW_CLOUD_KEY_MISSING', missingKey);
  return new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL ?? 'https://api.openai.com/v1',
    timeout: options.timeoutMs ?? 30_000,
    maxRetries: options.maxRetries ?? 1,
  });
}

/**
 * A short, fixed description of a failed request: its HTTP status, or the kind of
 * failure. Never the SDK's message text, which can quote a header or a response body,
 * and so a key.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof OpenAI.APIError && err.status !== undefined) return `HTTP ${err.status}`;
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | null);
  const sys = typeof code?.cause?.code === 'string' ? code.cause.code
    : typeof code?.code === 'string' ? code.code : null;
  if (sys && /^[A-Z_]+$/.test(sys)) return sys;
  return err instanceof Error ? err.name : 'unknown failure';
}
