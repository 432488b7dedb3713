import { z } from 'zod';
import { E164 } from './api.js';

const e164 = z.string().regex(E164, 'expected a phone number in E.164 form, e.g. "+447700900123"');

/**
 * `[connectors.messaging]` of config/gateway.toml. Only the token is secret: it comes from
 * WHATSAPP_TOKEN or token_file, never from this table, and reaches the worker through the
 * executor's secret pipe.
 */
export const messagingConfigSchema = z.strictObject({
  /** The Graph API origin; a test server on loopback in tests. */
  base_url: z.url({ protocol: /^https?$/ }).default('https://graph.facebook.com'),
  /** Graph API version in the path, e.g. "v21.0". */
  api_version: z.string().regex(/^v\d+\.\d+$/, 'expected a Graph API version such as "v21.0"')
    .default('v21.0'),
  /** The WhatsApp Business phone number id messages are sent from; empty: not set up. */
  phone_number_id: z.string().regex(/^\d*$/, 'expected the numeric phone number id')
    .max(32).default(''),
  /** File holding the access token; the environment variable WHATSAPP_TOKEN wins. */
  token_file: z.string().default(''),
  /** Canonical contact names of the intents (`night_shift`) -> E.164 phone number. */
  contacts: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), e164).default({}),
});

export type MessagingConfig = z.infer<typeof messagingConfigSchema>;
