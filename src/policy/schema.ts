import { z } from 'zod';

/**
 * The `[policy]` table of config/gateway.toml: what each principal may do. Evaluated
 * before any confirmation is asked (src/policy/evaluate.ts).
 *
 * With no principal configured (the default), the dialogue's local principal may use every
 * action and every other principal is refused: that is the behaviour from before policy
 * existed. As soon as one principal is listed, only listed principals may act.
 */

/**
 * An action pattern: `connector.action`, with `*` standing for any run of characters
 * (`banking_plaid.*`, `*.send`, `*`). A bare connector name means all its actions.
 */
export const actionPattern = z.string().regex(/^(\*|[a-z0-9_*]+(\.[a-z0-9_*]+)?)$/,
  'expected "connector.action", "connector.*", "connector" or "*" (lower case, _ and *)');

const currency = z.enum(['USD', 'GBP', 'EUR']);

/** Amounts per currency; a currency that is not listed has no allowance at all. */
const perCurrency = z.partialRecord(currency, z.number().nonnegative());

/**
 * Caps on money that matching actions move. `per_action` bounds one action; `per_day`
 * bounds the sum of all matching actions of one calendar day in the dialogue's time zone.
 * A request in a currency the cap does not list is refused (fail closed).
 */
const cap = z.strictObject({
  per_action: perCurrency.optional(),
  per_day: perCurrency.optional(),
});

/** "HH:MM" on a 24-hour clock; "24:00" only as the end of a window. */
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/,
  'expected a time of day "HH:MM" (24-hour clock)');

/**
 * A window of the day in the dialogue's time zone, from `from` (included) to `to`
 * (excluded). `from` later than `to` runs across midnight ("22:00" to "06:00").
 */
export const hoursWindow = z.strictObject({ from: clock, to: clock })
  .refine((w) => w.from !== w.to && w.from !== '24:00',
    'a window needs different "from" and "to" times, and cannot start at 24:00');

/** Canonical list values (`night_shift`, `landlord`, `BTC`) or `*` for any. */
const allowlist = z.array(z.string().min(1).max(100));

export const principalPolicy = z.strictObject({
  /** Action patterns this principal may use. Nothing by default. */
  allow: z.array(actionPattern).default([]),
  /** Action patterns this principal may never use; a deny beats any allow. */
  deny: z.array(actionPattern).default([]),
  /** Keyed by action pattern; every matching cap applies. */
  caps: z.record(actionPattern, cap).default({}),
  /** Allowlists: when a list is present, only its values pass; absent means any. */
  payees: allowlist.optional(),
  contacts: allowlist.optional(),
  assets: allowlist.optional(),
  /** Windows in which critical actions are refused (emergency stops excepted). */
  critical_refused_hours: z.array(hoursWindow).default([]),
});

export const policySchema = z.strictObject({
  /** Principal name -> what it may do. Empty: the local principal may do everything. */
  principals: z.record(z.string().min(1).max(100), principalPolicy).default({}),
});

export type PolicyConfig = z.infer<typeof policySchema>;
export type PrincipalPolicy = z.infer<typeof principalPolicy>;
export type HoursWindow = z.infer<typeof hoursWindow>;
export type CapConfig = z.infer<typeof cap>;
