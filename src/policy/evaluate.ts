/**
 * Policy per principal, evaluated before any confirmation is asked: a request that the
 * policy refuses is never read back, so "confirm" can never push it through.
 *
 * evaluatePolicy is pure apart from reading the spend ledger: the same request, clock and
 * ledger give the same answer. Checks run from the coarsest to the finest (who, what, when,
 * to whom, how much) and the first refusal wins, so the reply names one rule.
 */
import type { Tier } from '../connectors/types.js';
import type { ErrorCode } from '../errors.js';
import { moneyToWords } from '../nlu/quantity-words.js';
import type { Currency, MoneyValue } from '../nlu/types.js';
import type { SpendLedger } from './ledger.js';
import type { CapConfig, PolicyConfig, PrincipalPolicy } from './schema.js';
import { actionPhrase, clockWords, currencyName, refusedBecause, words } from './speech.js';
import { localClock } from './time.js';

/** Stable rule ids: named in the refusal, the log and the turn report. */
export const POLICY_RULES = [
  'policy.principal.unknown',
  'policy.action.denied',
  'policy.action.not_allowed',
  'policy.hours.critical',
  'policy.allowlist.payee',
  'policy.allowlist.contact',
  'policy.allowlist.asset',
  'policy.amount_cap.per_action',
  'policy.amount_cap.per_day',
  'policy.amount_cap.currency',
  'policy.amount_cap.unpriced',
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

export interface PolicyRequest {
  readonly principal: string;
  readonly connector: string;
  readonly action: string;
  /** The resolved tier (after critical_connectors), not the manifest's. */
  readonly tier: Tier;
  /** The action's slots as the matcher yields them. */
  readonly input: unknown;
  /** Emergency stops are never refused for the hour (a robot must stop at night too). */
  readonly emergencyStop?: boolean;
}

export interface PolicyContext {
  readonly policy: PolicyConfig;
  /** The principal of microphone and CLI turns: allowed everything when no policy is set. */
  readonly localPrincipal: string;
  readonly now: Date;
  /** IANA zone of the dialogue; empty means the host's. */
  readonly timeZone: string;
  readonly ledger: SpendLedger;
}

export interface PolicyRefusal {
  readonly allowed: false;
  readonly rule: PolicyRule;
  readonly code: ErrorCode;
  /** For the log and the turn report: rule and configured limits, no slot values. */
  readonly message: string;
  /** Said to the person; may name slot values, so it is personal data. */
  readonly speech: string;
}

export type PolicyDecision = { readonly allowed: true } | PolicyRefusal;

const ALLOWED: PolicyDecision = Object.freeze({ allowed: true });

/** Which slot each allowlist checks. */
const ALLOWLISTS = [
  { slot: 'payee', key: 'payees', rule: 'policy.allowlist.payee', noun: 'payees' },
  { slot: 'contact', key: 'contacts', rule: 'policy.allowlist.contact', noun: 'contacts' },
  { slot: 'asset', key: 'assets', rule: 'policy.allowlist.asset', noun: 'assets' },
] as const;

/** With no principal configured, the local principal keeps every permission it had. */
const UNRESTRICTED: PrincipalPolicy = {
  allow: ['*'], deny: [], caps: {}, critical_refused_hours: [],
};

function refuse(rule: PolicyRule, message: string, reason: string): PolicyRefusal {
  return {
    allowed: false, rule, code: 'GW_POLICY_REFUSED', message: `${rule}: ${message}`,
    speech: refusedBecause(reason),
  };
}

/** `*` matches any run of characters; a bare connector name matches all its actions. */
export function patternMatches(pattern: string, connector: string, action: string): boolean {
  const full = pattern.includes('.') || pattern === '*' ? pattern : `${pattern}.*`;
  const source = full.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(`${connector}.${action}`);
}

function isMoney(value: unknown): value is MoneyValue {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.amount === 'number' && typeof v.currency === 'string';
}

function slotsOf(input: unknown): Record<string, unknown> {
  return typeof input === 'object' && input !== null ? input as Record<string, unknown> : {};
}

/** Money compared in cents, so that 0.1 + 0.2 does not exceed a cap of 0.3. */
const cents = (amount: number): number => Math.round(amount * 100);

function principalPolicyOf(req: PolicyRequest, ctx: PolicyContext): PrincipalPolicy | null {
  const principals = ctx.policy.principals;
  if (Object.keys(principals).length === 0) {
    return req.principal === ctx.localPrincipal ? UNRESTRICTED : null;
  }
  return Object.hasOwn(principals, req.principal) ? principals[req.principal] ?? null : null;
}

function checkAction(req: PolicyRequest, p: PrincipalPolicy): PolicyRefusal | null {
  const key = `${req.connector}.${req.action}`;
  const phrase = actionPhrase(req.connector, req.action);
  const denied = p.deny.find((pat) => patternMatches(pat, req.connector, req.action));
  if (denied !== undefined) {
    return refuse('policy.action.denied', `${key} matches deny pattern "${denied}"`,
      `your policy forbids you to ${phrase}`);
  }
  if (!p.allow.some((pat) => patternMatches(pat, req.connector, req.action))) {
    return refuse('policy.action.not_allowed', `${key} matches no allow pattern`,
      `your policy does not allow you to ${phrase}`);
  }
  return null;
}

function checkHours(req: PolicyRequest, p: PrincipalPolicy, ctx: PolicyContext)
  : PolicyRefusal | null {
  if (req.tier !== 'critical' || req.emergencyStop) return null;
  const { minute } = localClock(ctx.now, ctx.timeZone);
  for (const w of p.critical_refused_hours) {
    const from = toMinutes(w.from);
    const to = toMinutes(w.to);
    const inside = from < to ? minute >= from && minute < to : minute >= from || minute < to;
    if (inside) {
      return refuse('policy.hours.critical', `critical actions refused ${w.from}-${w.to}`,
        `critical actions are refused between ${clockWords(w.from)} and ${clockWords(w.to)}`);
    }
  }
  return null;
}

function toMinutes(hhmm: string): number {
  const [h = 0, m = 0] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function checkAllowlists(req: PolicyRequest, p: PrincipalPolicy): PolicyRefusal | null {
  const slots = slotsOf(req.input);
  for (const list of ALLOWLISTS) {
    const allowed = p[list.key];
    const value = slots[list.slot];
    if (allowed === undefined || value === undefined) continue;
    const wanted = String(value).toLowerCase();
    if (allowed.some((v) => v === '*' || v.toLowerCase() === wanted)) continue;
    return refuse(list.rule, `the ${list.slot} is not on the principal's ${list.noun} allowlist`,
      `${words(String(value))} is not on your list of ${list.noun}`);
  }
  return null;
}

function checkCaps(req: PolicyRequest, p: PrincipalPolicy, ctx: PolicyContext)
  : PolicyRefusal | null {
  const caps = Object.entries(p.caps)
    .filter(([pat]) => patternMatches(pat, req.connector, req.action));
  if (caps.length === 0) return null;
  const noun = words(req.action);
  const monies = Object.values(slotsOf(req.input)).filter(isMoney);
  if (monies.length === 0) {
    // An order given as a quantity has no price here: a money cap cannot bound it.
    const [pat] = caps[0] ?? [''];
    return refuse('policy.amount_cap.unpriced', `cap "${pat}" is in money; request has none`,
      `your cap for each ${noun} is in money, and this ${noun} names no amount of money`);
  }
  for (const money of monies) {
    for (const [pat, cap] of caps) {
      const refusal = checkOneCap(req, ctx, money, pat, cap, noun);
      if (refusal) return refusal;
    }
  }
  return null;
}

function checkOneCap(
  req: PolicyRequest, ctx: PolicyContext, money: MoneyValue, pat: string, cap: CapConfig,
  noun: string,
): PolicyRefusal | null {
  const currency = money.currency;
  for (const limits of [cap.per_action, cap.per_day]) {
    if (limits !== undefined && limits[currency] === undefined) {
      return refuse('policy.amount_cap.currency', `cap "${pat}" has no limit in ${currency}`,
        `your cap for each ${noun} allows nothing in ${currencyName(currency)}`);
    }
  }
  const perAction = cap.per_action?.[currency];
  if (perAction !== undefined && cents(money.amount) > cents(perAction)) {
    const said = moneyToWords({ amount: perAction, currency });
    return refuse('policy.amount_cap.per_action',
      `cap "${pat}" per action is ${perAction} ${currency}`,
      `the ${noun} is above your cap of ${said} per ${noun}`);
  }
  const perDay = cap.per_day?.[currency];
  if (perDay !== undefined) {
    const spent = spentToday(req, ctx, currency, pat);
    if (cents(spent) + cents(money.amount) > cents(perDay)) {
      const said = moneyToWords({ amount: perDay, currency });
      const left = Math.max(0, cents(perDay) - cents(spent)) / 100;
      const leftSaid = left > 0 ? moneyToWords({ amount: left, currency }) : 'nothing';
      return refuse('policy.amount_cap.per_day', `cap "${pat}" per day is ${perDay} ${currency}`,
        `the ${noun} would go over your cap of ${said} a day; ${leftSaid} of it is left today`);
    }
  }
  return null;
}

function spentToday(req: PolicyRequest, ctx: PolicyContext, currency: Currency, pat: string)
  : number {
  const { day } = localClock(ctx.now, ctx.timeZone);
  let sum = 0;
  for (const [key, amount] of ctx.ledger.spent(req.principal, day, currency)) {
    const dot = key.indexOf('.');
    if (patternMatches(pat, key.slice(0, dot), key.slice(dot + 1))) sum += amount;
  }
  return sum;
}

/** Decides whether the principal may make this request now. */
export function evaluatePolicy(req: PolicyRequest, ctx: PolicyContext): PolicyDecision {
  const p = principalPolicyOf(req, ctx);
  if (!p) {
    return refuse('policy.principal.unknown', `no policy for principal "${req.principal}"`,
      'there is no policy for you, so I may not act for you');
  }
  return checkAction(req, p) ?? checkHours(req, p, ctx) ?? checkAllowlists(req, p)
    ?? checkCaps(req, p, ctx) ?? ALLOWED;
}

/**
 * Counts a request's money against the daily caps. Call it once the action has run, and
 * also when its outcome is indeterminate: money that may have moved counts as spent.
 */
export function recordSpend(req: PolicyRequest, ctx: PolicyContext): void {
  const { day } = localClock(ctx.now, ctx.timeZone);
  for (const money of Object.values(slotsOf(req.input)).filter(isMoney)) {
    ctx.ledger.record({
      principal: req.principal, action: `${req.connector}.${req.action}`, day,
      currency: money.currency, amount: money.amount,
    });
  }
}
