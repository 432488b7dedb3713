/**
 * The WhatsApp Cloud API's "send a text message" call: its request body, its answer, and
 * its error objects mapped to stable codes. Error messages are written to be said to the
 * person as they are ("WhatsApp did not accept ..."): they name no contact, number, body
 * or token, so they are also safe to log.
 *
 * This file runs inside the sandbox, which can read dist/ but no node_modules: it imports
 * only Node.js built-ins and dependency-free project files, so its checks are hand-written.
 */
import { GatewayError } from '../../errors.js';

/** A phone number in E.164: "+", a country code and at most 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;

export interface TextMessage {
  readonly messaging_product: 'whatsapp';
  readonly recipient_type: 'individual';
  readonly to: string;
  readonly type: 'text';
  readonly text: { readonly preview_url: false; readonly body: string };
}

export function textMessage(to: string, body: string): TextMessage {
  return {
    messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text',
    // No link previews: the gateway speaks for the user, it does not fetch pages.
    text: { preview_url: false, body },
  };
}

/** The API's id for the sent message (`wamid....`), or null when the answer has none. */
export function messageIdOf(json: unknown): string | null {
  const messages = field(json, 'messages');
  const first = Array.isArray(messages) ? field(messages[0], 'id') : undefined;
  return typeof first === 'string' && first.length > 0 && first.length <= 512 ? first : null;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key] : undefined;
}

/** The Graph API error object's `code` and `fbtrace_id`; extra fields are ignored. */
function graphErrorOf(json: unknown): { code?: number; trace?: string } {
  const error = field(json, 'error');
  const code = field(error, 'code');
  const trace = field(error, 'fbtrace_id');
  return {
    code: Number.isInteger(code) ? code as number : undefined,
    trace: typeof trace === 'string' ? trace : undefined,
  };
}

/** Graph error codes that mean the token is wrong, expired or lacks permission. */
const AUTH_CODES = new Set([0, 10, 190]);
/** Throttling: app, account, pair (one recipient) and spam rate limits. */
const RATE_CODES = new Set([4, 80007, 130429, 131048, 131056]);

/** Known refusals of a valid request, said in words. */
const REFUSALS: ReadonlyMap<number, string> = new Map([
  [131030, 'the recipient\'s number is not on the list of numbers this WhatsApp account may ' +
    'message yet'],
  [131026, 'the message could not be delivered to that number, which may not use WhatsApp'],
  [131047, 'more than a day has passed since that person last wrote, and WhatsApp then only ' +
    'allows approved template messages'],
  [131051, 'WhatsApp does not support this kind of message'],
  [100, 'WhatsApp found a parameter of the request invalid'],
  [131008, 'WhatsApp found a required parameter missing'],
  [131009, 'WhatsApp found a parameter value invalid'],
]);

/** Turns a non-2xx answer into the error the executor reports and speaks. */
export function apiError(status: number, json: unknown): GatewayError {
  const { code, trace: rawTrace } = graphErrorOf(json);
  // The trace id lets Meta's support find the call; anything but its plain characters goes.
  const cleanTrace = (rawTrace ?? '').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  const trace = cleanTrace ? `, trace ${cleanTrace}` : '';
  const tag = `HTTP ${status}${code === undefined ? '' : `, error ${code}`}${trace}`;
  if (status === 401 || (code !== undefined && AUTH_CODES.has(code))) {
    return new GatewayError('GW_REMOTE_AUTH', 'WhatsApp did not accept the gateway\'s access ' +
      `token, so the message was not sent; renew WHATSAPP_TOKEN (${tag})`);
  }
  if (status === 429 || (code !== undefined && RATE_CODES.has(code))) {
    return new GatewayError('GW_REMOTE_RATE_LIMITED', 'WhatsApp asked to slow down, so the ' +
      `message was not sent; try again in a minute (${tag})`);
  }
  if (status >= 500) {
    return new GatewayError('GW_REMOTE_UNAVAILABLE', 'WhatsApp had a problem on its side and ' +
      `did not send the message; try again later (${tag})`);
  }
  const known = code === undefined ? undefined : REFUSALS.get(code);
  const why = known ?? 'WhatsApp refused the request';
  return new GatewayError('GW_REMOTE_REJECTED', `The message was not sent: ${why} (${tag})`);
}
