/**
 * Plaid through its own SDK (`plaid`), its base path taken from configuration so that a test
 * server on loopback can stand in. Credentials travel in the JSON body (client_id, secret),
 * as Plaid documents its requests, not in the SDK's default headers.
 */
import { createHash } from 'node:crypto';
import { Configuration, PlaidApi, type AccountBase } from 'plaid';
import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { PlaidConfig } from './config.js';

export const SECRET_ENV = 'PLAID_SECRET';
export const ACCESS_TOKEN_ENV = 'PLAID_ACCESS_TOKEN';

export interface PlaidCredentials {
  readonly client_id: string;
  readonly secret: string;
  readonly access_token: string;
}

/** The three credentials, read now (per call); GW_CONNECTOR_CONFIG when one is missing. */
export function plaidCredentials(config: PlaidConfig, baseDir: string): PlaidCredentials {
  const secret = readSecret(SECRET_ENV, config.secret_file, baseDir);
  const token = readSecret(ACCESS_TOKEN_ENV, config.access_token_file, baseDir);
  const missing = [!config.client_id && 'connectors.banking_plaid.client_id',
    !secret && `${SECRET_ENV} or secret_file`, !token && `${ACCESS_TOKEN_ENV} or access_token_file`]
    .filter(Boolean);
  if (missing.length > 0 || !secret || !token) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      `Banking is not set up: set ${missing.join(', ')}`);
  }
  return { client_id: config.client_id, secret, access_token: token };
}

export function plaidApi(config: PlaidConfig): PlaidApi {
  return new PlaidApi(new Configuration({ basePath: config.base_url.replace(/\/+$/, '') }));
}

/**
 * Plaid's idempotency key for one operation of one gateway action: the same action key
 * always gives the same Plaid key (at most 50 characters), and the key itself stays private.
 */
export function plaidIdempotencyKey(actionKey: string, operation: string): string {
  if (actionKey.length === 0) throw new RangeError('a money movement needs an idempotency key');
  const digest = createHash('sha256').update(`plaid:${operation}:${actionKey}`).digest('hex');
  return `gw-${digest.slice(0, 40)}`;
}

interface PlaidErrorBody {
  error_type?: unknown; error_code?: unknown; error_message?: unknown; display_message?: unknown;
}

/**
 * Plaid's error object as a spoken, secret-free GatewayError. The display message, meant for
 * the account holder, is preferred; the developer message otherwise.
 */
export function plaidError(err: unknown, what: string): GatewayError {
  const res = (err as { response?: { status?: number; data?: unknown } }).response;
  if (!res || typeof res.status !== 'number') {
    // Not the SDK's error itself as the cause: it carries the request, secret included.
    const reason = (err as { code?: unknown }).code;
    return new GatewayError('GW_REMOTE_UNAVAILABLE', `Plaid could not be reached for the ${what}`,
      { cause: new Error(typeof reason === 'string' ? reason : 'no answer') });
  }
  const body = (res.data ?? {}) as PlaidErrorBody;
  const code = typeof body.error_code === 'string' ? body.error_code : '';
  const said = [body.display_message, body.error_message]
    .find((m): m is string => typeof m === 'string' && m.length > 0)?.slice(0, 200) ?? '';
  const detail = said ? `: ${said.replace(/[.\s]+$/, '')}` : '';
  if (['INVALID_API_KEYS', 'INVALID_ACCESS_TOKEN', 'ITEM_LOGIN_REQUIRED'].includes(code)
    || res.status === 401) {
    return new GatewayError('GW_REMOTE_AUTH', `Plaid did not accept the credentials${detail}`);
  }
  if (res.status === 429 || body.error_type === 'RATE_LIMIT_EXCEEDED') {
    return new GatewayError('GW_REMOTE_RATE_LIMITED', 'Plaid asks to slow down; try later');
  }
  if (res.status >= 400 && res.status < 500) {
    return new GatewayError('GW_REMOTE_REJECTED', `Plaid refused the ${what}${detail}`);
  }
  return new GatewayError('GW_REMOTE_UNAVAILABLE', `Plaid failed to answer the ${what}`
    + ` (HTTP ${res.status})`);
}

/** Which Plaid account a spoken name means: configured ids first, then the account subtype. */
export function findAccount(accounts: readonly AccountBase[], spoken: string,
  config: PlaidConfig): AccountBase | null {
  const id = config.accounts[spoken];
  if (id !== undefined) return accounts.find((a) => a.account_id === id) ?? null;
  const subtype = spoken === 'current' ? 'checking' : spoken;
  return accounts.find((a) => a.subtype === subtype) ?? null;
}
