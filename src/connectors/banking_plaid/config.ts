import { z } from 'zod';

const spokenName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a spoken name such as savings');

/**
 * `[connectors.banking_plaid]` of config/gateway.toml. The secret and the Item's access token
 * come from PLAID_SECRET / PLAID_ACCESS_TOKEN or the files named here, never from this table.
 */
export const plaidConfigSchema = z.strictObject({
  /** Plaid's API origin (production, sandbox); a test server on loopback in tests. */
  base_url: z.url({ protocol: /^https?$/ }).default('https://production.plaid.com'),
  /** The Plaid client id (not secret, but it names the account holder's application). */
  client_id: z.string().max(64).default(''),
  /** File holding the Plaid secret; the environment variable PLAID_SECRET wins. */
  secret_file: z.string().default(''),
  /** File holding the Item's access token; the environment variable PLAID_ACCESS_TOKEN wins. */
  access_token_file: z.string().default(''),
  /** Spoken account names (savings, current, joint) -> Plaid account_id. */
  accounts: z.record(spokenName, z.string().min(1).max(128)).default({}),
  /** Spoken payee names (landlord) -> the payment consent id that pays them. */
  payees: z.record(spokenName, z.string().min(1).max(128)).default({}),
  /** The account holder's legal name, which Plaid Transfer asks for. */
  legal_name: z.string().max(128).default(''),
  /** Resolve everything, send nothing: the reply says what would have been sent. */
  dry_run: z.boolean().default(false),
});

export type PlaidConfig = z.infer<typeof plaidConfigSchema>;
