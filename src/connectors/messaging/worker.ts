/**
 * The messaging connector as it runs inside the dangerous-tier sandbox: it sends one text
 * message through the WhatsApp Cloud API over a connection the host's broker opens. It
 * writes nothing to any log: the body is personal data and the token a secret, and the
 * errors it throws name neither (see api.ts).
 *
 * The sandbox can read dist/ but not node_modules, so this module and everything it imports
 * use Node.js built-ins only; the host validates input and output against the manifest's
 * zod schemas, and the checks here are the worker's own, hand-written, second line.
 */
import { GatewayError } from '../../errors.js';
import type { ActionResult, SandboxContext, SandboxedConnector } from '../types.js';
import { apiError, E164, messageIdOf, textMessage } from './api.js';
import { postJson } from './http.js';

/** The manifest's bound on a body; WhatsApp itself takes up to 4096 characters. */
const MAX_BODY = 1_000;
const MAX_CONTACT = 100;

interface Settings {
  readonly base: string;
  readonly version: string;
  readonly phoneNumberId: string;
  readonly contacts: Readonly<Record<string, unknown>>;
}

function configError(message: string): GatewayError {
  return new GatewayError('GW_CONNECTOR_CONFIG', message);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The settings messagingPlan (plan.ts) hands over; names the keys that are wrong. */
function settingsOf(ctx: SandboxContext): Settings {
  const s = ctx.settings;
  const bad: string[] = [];
  if (!isHttpUrl(s.base_url)) bad.push('base_url');
  if (typeof s.api_version !== 'string' || !/^v\d+\.\d+$/.test(s.api_version)) {
    bad.push('api_version');
  }
  if (typeof s.phone_number_id !== 'string' || !/^\d{1,32}$/.test(s.phone_number_id)) {
    bad.push('phone_number_id');
  }
  const contacts = s.contacts;
  if (typeof contacts !== 'object' || contacts === null || Array.isArray(contacts)) {
    bad.push('contacts');
  }
  if (bad.length > 0) {
    throw configError('Messaging is not set up, so the message was not sent; check ' +
      `connectors.messaging (${bad.join(', ')})`);
  }
  return {
    base: s.base_url as string, version: s.api_version as string,
    phoneNumberId: s.phone_number_id as string,
    contacts: contacts as Readonly<Record<string, unknown>>,
  };
}

function tokenOf(ctx: SandboxContext): string {
  const token = ctx.secrets.whatsapp_token;
  if (!token) {
    throw configError('The WhatsApp access token is not set up, so the message was not ' +
      'sent; set WHATSAPP_TOKEN or connectors.messaging.token_file');
  }
  // One printable token: anything else could split the Authorization header.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw configError('The WhatsApp access token is malformed, so the message was not sent');
  }
  return token;
}

function inputOf(input: unknown): { contact: string; body: string } {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const { contact, body } = i;
  const extra = Object.keys(i).filter((k) => k !== 'contact' && k !== 'body');
  if (typeof contact !== 'string' || contact.length === 0 || contact.length > MAX_CONTACT
    || typeof body !== 'string' || body.length === 0 || body.length > MAX_BODY
    || extra.length > 0) {
    throw new GatewayError('GW_ACTION_INPUT_INVALID',
      `the message needs a contact and a body of 1 to ${MAX_BODY} characters`);
  }
  return { contact, body };
}

/** {base}/{version}/{phone_number_id}/messages, keeping any path prefix of the base URL. */
export function messagesUrl(base: string, version: string, phoneNumberId: string): URL {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}/${version}/${phoneNumberId}/messages`;
  url.search = '';
  url.hash = '';
  return url;
}

async function send(input: unknown, ctx: SandboxContext): Promise<ActionResult> {
  const { contact, body } = inputOf(input);
  const settings = settingsOf(ctx);
  const token = tokenOf(ctx);
  const to = Object.hasOwn(settings.contacts, contact) ? settings.contacts[contact] : undefined;
  if (typeof to !== 'string' || !E164.test(to)) {
    throw new GatewayError('GW_CONTACT_UNKNOWN', 'The message was not sent: that contact has ' +
      'no number in connectors.messaging.contacts');
  }
  const url = messagesUrl(settings.base, settings.version, settings.phoneNumberId);
  const reply = await postJson((host, port) => ctx.connect(host, port), url,
    { Authorization: `Bearer ${token}` }, textMessage(to, body), ctx.signal);
  if (reply.status < 200 || reply.status >= 300) throw apiError(reply.status, reply.json);
  const messageId = messageIdOf(reply.json);
  if (messageId === null) {
    // A 2xx without a message id: WhatsApp may or may not have taken the message.
    throw new GatewayError('GW_CONNECTOR_FAILED', 'WhatsApp answered without a message id, ' +
      'so I cannot tell whether the message went out');
  }
  // `data` must match the manifest's output schema (messaging/schemas.ts, sendOutput).
  return { speech: `I sent the message to ${contact.replace(/_/g, ' ')}.`,
    data: { message_id: messageId } };
}

export const connector: SandboxedConnector = {
  name: 'messaging',
  async run(action: string, input: unknown, ctx: SandboxContext): Promise<ActionResult> {
    if (action !== 'send') {
      throw new GatewayError('GW_CONNECTOR_UNAVAILABLE', `messaging has no action ${action}`);
    }
    return send(input, ctx);
  },
};
