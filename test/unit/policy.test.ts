import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import {
  evaluatePolicy, InMemorySpendLedger, localClock, policySchema, recordSpend,
  type PolicyContext, type PolicyDecision, type PolicyRequest,
} from '../../src/policy/index.js';

/** Monday 7 December 2026, noon in London (UTC in winter). */
const NOON = new Date('2026-12-07T12:00:00Z');

function ctxFor(policy: unknown, over: Partial<PolicyContext> = {}): PolicyContext {
  return {
    policy: policySchema.parse(policy), localPrincipal: 'local', now: NOON,
    timeZone: 'Europe/London', ledger: new InMemorySpendLedger(), ...over,
  };
}

const pay = (amount: number, currency = 'USD', payee = 'alice'): PolicyRequest => ({
  principal: 'ops', connector: 'banking_plaid', action: 'payment', tier: 'critical',
  input: { payee, amount: { amount, currency } },
});
const message = (contact: string, principal = 'ops'): PolicyRequest => ({
  principal, connector: 'messaging', action: 'send', tier: 'dangerous',
  input: { contact, body: 'I will be late' },
});

function refused(d: PolicyDecision): Exclude<PolicyDecision, { allowed: true }> {
  if (d.allowed) throw new Error('expected a refusal');
  expect(d.code).toBe('GW_POLICY_REFUSED');
  expect(d.message.startsWith(d.rule)).toBe(true);
  expect(d.speech.startsWith('I did not do it: ')).toBe(true);
  return d;
}

describe('policy: principals and actions', () => {
  it('lets the local principal do everything when no policy is configured', () => {
    const ctx = ctxFor({});
    const local = { ...pay(1_000_000), principal: 'local' };
    expect(evaluatePolicy(local, ctx)).toEqual({ allowed: true });
    expect(evaluatePolicy(message('anyone', 'local'), ctx).allowed).toBe(true);
  });

  it('keeps that default through the whole configuration schema', () => {
    const config = validateConfig({}, 'test');
    expect(config.policy).toEqual({ principals: {} });
    const ctx = ctxFor(config.policy, { localPrincipal: config.dialogue.local_principal });
    expect(evaluatePolicy(message('bob', 'local'), ctx).allowed).toBe(true);
  });

  it('refuses an unknown principal, with or without a policy', () => {
    expect(refused(evaluatePolicy(message('bob', 'stranger'), ctxFor({}))).rule)
      .toBe('policy.principal.unknown');
    const ctx = ctxFor({ principals: { ops: { allow: ['*'] } } });
    const d = refused(evaluatePolicy(message('bob', 'local'), ctx));
    expect(d.rule).toBe('policy.principal.unknown');
    expect(d.speech).toContain('no policy for you');
  });

  it('does not take inherited object keys for principals', () => {
    const ctx = ctxFor({ principals: { ops: { allow: ['*'] } } });
    expect(evaluatePolicy(message('bob', 'constructor'), ctx).allowed).toBe(false);
    expect(evaluatePolicy(message('bob', '__proto__'), ctx).allowed).toBe(false);
  });

  it('allows nothing that no allow pattern names', () => {
    const ctx = ctxFor({ principals: { ops: {} } });
    const d = refused(evaluatePolicy(message('bob'), ctx));
    expect(d.rule).toBe('policy.action.not_allowed');
    expect(d.speech).toBe(
      'I did not do it: your policy does not allow you to send a message to a contact.');
  });

  it.each([
    ['*', true],
    ['messaging.*', true],
    ['messaging', true],
    ['messaging.send', true],
    ['*.send', true],
    ['mess*', true],
    ['messaging.read', false],
    ['banking_plaid.*', false],
    ['messagingx', false],
  ])('matches allow pattern %s: %s', (pattern, ok) => {
    const ctx = ctxFor({ principals: { ops: { allow: [pattern] } } });
    expect(evaluatePolicy(message('bob'), ctx).allowed).toBe(ok);
  });

  it('treats a dot in a pattern literally', () => {
    const ctx = ctxFor({ principals: { ops: { allow: ['messaging.send'] } } });
    const odd = { ...message('bob'), connector: 'messagingXsend', action: '' };
    expect(evaluatePolicy(odd, ctx).allowed).toBe(false);
  });

  it('lets a deny win over any allow, however specific the allow', () => {
    const ctx = ctxFor({
      principals: { ops: { allow: ['*', 'messaging.send'], deny: ['messaging.*'] } },
    });
    const d = refused(evaluatePolicy(message('bob'), ctx));
    expect(d.rule).toBe('policy.action.denied');
    expect(d.speech).toBe('I did not do it: your policy forbids you to send a message to a contact.');
    expect(d.message).toContain('messaging.*');
    expect(evaluatePolicy(pay(10), ctx).allowed).toBe(true);
  });

  it('rejects malformed patterns and windows in the configuration', () => {
    expect(policySchema.safeParse({ principals: { a: { allow: ['Bank.*'] } } }).success)
      .toBe(false);
    expect(policySchema.safeParse({ principals: { a: { allow: ['a.b.c'] } } }).success)
      .toBe(false);
    const bad = { critical_refused_hours: [{ from: '22:00', to: '22:00' }] };
    expect(policySchema.safeParse({ principals: { a: bad } }).success).toBe(false);
    const late = { critical_refused_hours: [{ from: '25:00', to: '06:00' }] };
    expect(policySchema.safeParse({ principals: { a: late } }).success).toBe(false);
    expect(policySchema.safeParse({ principals: { a: { typo: 1 } } }).success).toBe(false);
  });
});

describe('policy: allowlists', () => {
  const ctx = ctxFor({
    principals: {
      ops: { allow: ['*'], contacts: ['night_shift', 'mum'], payees: ['landlord'],
        assets: ['BTC'] },
    },
  });

  it('refuses a message to a contact outside the allowlist, naming the list', () => {
    expect(evaluatePolicy(message('night_shift'), ctx).allowed).toBe(true);
    const d = refused(evaluatePolicy(message('bob'), ctx));
    expect(d.rule).toBe('policy.allowlist.contact');
    expect(d.speech).toBe('I did not do it: bob is not on your list of contacts.');
    // The log message carries no slot value (contact names are personal data).
    expect(d.message).not.toContain('bob');
  });

  it('refuses a payee outside the allowlist', () => {
    expect(evaluatePolicy(pay(10, 'USD', 'landlord'), ctx).allowed).toBe(true);
    expect(refused(evaluatePolicy(pay(10, 'USD', 'alice'), ctx)).rule)
      .toBe('policy.allowlist.payee');
  });

  it('refuses an asset outside the allowlist, whatever its case', () => {
    const order = (asset: string): PolicyRequest => ({
      principal: 'ops', connector: 'binance', action: 'order', tier: 'critical',
      input: { side: 'buy', asset, amount: { amount: 10, currency: 'USD' } },
    });
    expect(evaluatePolicy(order('btc'), ctx).allowed).toBe(true);
    const d = refused(evaluatePolicy(order('ETH'), ctx));
    expect(d.rule).toBe('policy.allowlist.asset');
    expect(d.speech).toContain('ETH is not on your list of assets');
  });

  it('passes any value when the list is absent, and none when it is empty', () => {
    const open = ctxFor({ principals: { ops: { allow: ['*'] } } });
    expect(evaluatePolicy(message('anyone'), open).allowed).toBe(true);
    const closed = ctxFor({ principals: { ops: { allow: ['*'], contacts: [] } } });
    expect(refused(evaluatePolicy(message('mum'), closed)).rule).toBe('policy.allowlist.contact');
    const star = ctxFor({ principals: { ops: { allow: ['*'], contacts: ['*'] } } });
    expect(evaluatePolicy(message('anyone'), star).allowed).toBe(true);
  });
});

describe('policy: amount caps', () => {
  const capped = {
    principals: {
      ops: {
        allow: ['*'],
        caps: { 'banking_plaid.payment': { per_action: { USD: 500 }, per_day: { USD: 1000 } } },
      },
    },
  };

  it('allows a payment exactly at the cap and refuses one cent above, naming the cap', () => {
    const ctx = ctxFor(capped);
    expect(evaluatePolicy(pay(500), ctx).allowed).toBe(true);
    const d = refused(evaluatePolicy(pay(500.01), ctx));
    expect(d.rule).toBe('policy.amount_cap.per_action');
    expect(d.speech).toBe(
      'I did not do it: the payment is above your cap of five hundred dollars per payment.');
    expect(d.message).toContain('500 USD');
  });

  it('adds up a day across calls, up to the cap exactly', () => {
    const ctx = ctxFor(capped);
    for (const amount of [400, 400]) {
      expect(evaluatePolicy(pay(amount), ctx).allowed).toBe(true);
      recordSpend(pay(amount), ctx);
    }
    expect(evaluatePolicy(pay(200), ctx).allowed).toBe(true);
    const d = refused(evaluatePolicy(pay(200.01), ctx));
    expect(d.rule).toBe('policy.amount_cap.per_day');
    expect(d.speech).toBe('I did not do it: the payment would go over your cap of one thousand ' +
      'dollars a day; two hundred dollars of it is left today.');
  });

  it('counts decimals in cents, so sums of fractions do not spill over the cap', () => {
    const ctx = ctxFor({
      principals: { ops: { allow: ['*'], caps: { '*': { per_day: { USD: 0.3 } } } } },
    });
    recordSpend(pay(0.1), ctx);
    recordSpend(pay(0.1), ctx);
    expect(evaluatePolicy(pay(0.1), ctx).allowed).toBe(true);
  });

  it('starts a new day at local midnight, not at UTC midnight', () => {
    const ledger = new InMemorySpendLedger();
    // 23:30 on 7 December in New York is already 8 December in UTC.
    const evening = ctxFor(capped, { ledger, timeZone: 'America/New_York',
      now: new Date('2026-12-08T04:30:00Z') });
    recordSpend(pay(1000), evening);
    const later = { ...evening, now: new Date('2026-12-08T04:59:00Z') };
    expect(refused(evaluatePolicy(pay(1), later)).rule).toBe('policy.amount_cap.per_day');
    expect(refused(evaluatePolicy(pay(1), later)).speech).toContain('nothing of it is left');
    const nextDay = { ...evening, now: new Date('2026-12-08T05:00:00Z') };
    expect(evaluatePolicy(pay(1), nextDay).allowed).toBe(true);
  });

  it('keeps spending apart per principal and per currency', () => {
    const ctx = ctxFor({
      principals: {
        ops: { allow: ['*'], caps: { '*': { per_day: { USD: 100, GBP: 100 } } } },
        other: { allow: ['*'] },
      },
    });
    recordSpend(pay(100), ctx);
    recordSpend({ ...pay(5000), principal: 'other' }, ctx);
    expect(evaluatePolicy(pay(1), ctx).allowed).toBe(false);
    expect(evaluatePolicy(pay(100, 'GBP'), ctx).allowed).toBe(true);
  });

  it('sums every action a wildcard cap names', () => {
    const ctx = ctxFor({
      principals: { ops: { allow: ['*'], caps: { 'banking_plaid.*': { per_day: { EUR: 300 } } } } },
    });
    const transfer: PolicyRequest = {
      principal: 'ops', connector: 'banking_plaid', action: 'transfer', tier: 'critical',
      input: { account: 'savings', amount: { amount: 200, currency: 'EUR' } },
    };
    recordSpend(transfer, ctx);
    const d = refused(evaluatePolicy(pay(150, 'EUR'), ctx));
    expect(d.rule).toBe('policy.amount_cap.per_day');
    expect(d.speech).toContain('three hundred euros a day');
  });

  it('refuses a currency the cap does not list (fail closed)', () => {
    const d = refused(evaluatePolicy(pay(1, 'GBP'), ctxFor(capped)));
    expect(d.rule).toBe('policy.amount_cap.currency');
    expect(d.speech).toContain('allows nothing in pounds');
  });

  it('refuses an order given as a quantity when a money cap applies to it', () => {
    const ctx = ctxFor({
      principals: { ops: { allow: ['*'], caps: { 'binance.order': { per_action: { USD: 50 } } } } },
    });
    const byQuantity: PolicyRequest = {
      principal: 'ops', connector: 'binance', action: 'order', tier: 'critical',
      input: { side: 'buy', asset: 'BTC', quantity: 2 },
    };
    expect(refused(evaluatePolicy(byQuantity, ctx)).rule).toBe('policy.amount_cap.unpriced');
    expect(evaluatePolicy(message('bob'), ctx).allowed).toBe(true);
  });
});

describe('policy: hours when critical actions are refused', () => {
  const night = {
    principals: {
      ops: { allow: ['*'], critical_refused_hours: [{ from: '22:00', to: '06:00' }] },
    },
  };
  const at = (iso: string): PolicyContext => ctxFor(night, { now: new Date(iso) });

  it.each([
    ['2026-12-07T21:59:00Z', true],
    ['2026-12-07T22:00:00Z', false],
    ['2026-12-07T23:59:00Z', false],
    ['2026-12-08T00:00:00Z', false],
    ['2026-12-08T05:59:00Z', false],
    ['2026-12-08T06:00:00Z', true],
  ])('across midnight, at %s allowed=%s', (iso, ok) => {
    expect(evaluatePolicy(pay(10), at(iso)).allowed).toBe(ok);
  });

  it('names the window in the reply', () => {
    const d = refused(evaluatePolicy(pay(10), at('2026-12-07T23:00:00Z')));
    expect(d.rule).toBe('policy.hours.critical');
    expect(d.speech).toBe(
      'I did not do it: critical actions are refused between ten p m and six a m.');
  });

  it('reads the hours in the dialogue time zone', () => {
    // 23:00 UTC is 18:00 in New York: outside the window there.
    const ny = ctxFor(night, { now: new Date('2026-12-07T23:00:00Z'), timeZone: 'America/New_York' });
    expect(evaluatePolicy(pay(10), ny).allowed).toBe(true);
    expect(localClock(ny.now, ny.timeZone)).toEqual({ day: '2026-12-07', minute: 18 * 60 });
  });

  it('applies to critical actions only, and never to an emergency stop', () => {
    const ctx = at('2026-12-07T23:00:00Z');
    expect(evaluatePolicy(message('bob'), ctx).allowed).toBe(true);
    const stop: PolicyRequest = {
      principal: 'ops', connector: 'ros2_dangerous_actions', action: 'stop', tier: 'critical',
      input: {}, emergencyStop: true,
    };
    expect(evaluatePolicy(stop, ctx).allowed).toBe(true);
    expect(evaluatePolicy({ ...stop, emergencyStop: false }, ctx).allowed).toBe(false);
  });

  it('accepts a window that ends at 24:00', () => {
    const ctx = ctxFor({
      principals: { ops: { allow: ['*'], critical_refused_hours: [{ from: '18:30', to: '24:00' }] } },
    }, { now: new Date('2026-12-07T23:59:00Z') });
    const d = refused(evaluatePolicy(pay(10), ctx));
    expect(d.speech).toContain('between six thirty p m and midnight');
    expect(evaluatePolicy(pay(10), { ...ctx, now: new Date('2026-12-08T00:00:00Z') }).allowed)
      .toBe(true);
  });
});

describe('policy: the documented example in config/gateway.toml', () => {
  it('validates once uncommented, and does what its comments say', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('smol-toml');
    const text = readFileSync('config/gateway.toml', 'utf8');
    const section = text.slice(text.indexOf('\n[policy]\n'));
    const lines = section.split('\n').slice(2);
    // The example runs up to the first line that is not a comment.
    const end = lines.findIndex((line) => !line.startsWith('#'));
    const example = lines.slice(0, end).map((line) => line.replace(/^# ?/, '')).join('\n');
    const doc = parse(`[policy]\n${example}`) as Record<string, unknown>;
    const config = validateConfig(doc, 'gateway.toml example');
    const local = config.policy.principals.local;
    expect(local?.caps['banking_plaid.payment']?.per_action).toEqual({ USD: 500, GBP: 400 });
    const ctx = ctxFor(config.policy);
    const asLocal = (r: PolicyRequest): PolicyRequest => ({ ...r, principal: 'local' });
    expect(evaluatePolicy(asLocal(pay(500, 'USD', 'landlord')), ctx).allowed).toBe(true);
    expect(evaluatePolicy(asLocal(pay(501, 'USD', 'landlord')), ctx).allowed).toBe(false);
    expect(evaluatePolicy(asLocal(message('night_shift')), ctx).allowed).toBe(true);
    expect(evaluatePolicy(asLocal(message('bob')), ctx).allowed).toBe(false);
  });
});
