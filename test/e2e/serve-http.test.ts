import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServeHarness, errorCode, post } from '../support/gateway-serve.js';

const run = promisify(execFile);
const TASK = '{"task": "Close breaker 7 at substation 12"}';

describe('gateway serve: HTTP API', () => {
  const gw = new ServeHarness('[server.limits]\nrequests_per_minute = 6\n');
  let url = '';
  const auth = (sub: string, tiers?: Parameters<ServeHarness['token']>[1]) =>
    ({ Authorization: `Bearer ${gw.token(sub, tiers)}` });

  beforeAll(async () => {
    url = await gw.start();
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
  });

  it("passes the original guide's curl check: 202 pending with the token, 401 without", async () => {
    const token = gw.token('guide');
    const withToken = await run('curl', ['-s', '-w', '\n%{http_code}', '-X', 'POST',
      `${url}/api/v1/orchestrate`, '-H', `Authorization: Bearer ${token}`, '-d', TASK]);
    const [body = '', status] = withToken.stdout.trim().split('\n');
    expect(status).toBe('202');
    const answer = JSON.parse(body) as { status: string; confirmation: Record<string, string> };
    expect(answer.status).toBe('confirmation_requested');
    expect(answer.confirmation.readback).toMatch(/breaker seven at substation twelve/i);
    expect(answer.confirmation.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(answer.confirmation.expires_at ?? '')).toBeGreaterThan(Date.now());
    const without = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X',
      'POST', `${url}/api/v1/orchestrate`, '-d', TASK]);
    expect(without.stdout).toBe('401');
  });

  it('refuses bad tokens with their codes', async () => {
    expect(errorCode(await post(`${url}/api/v1/orchestrate`, TASK))).toBe('GW_TOKEN_MISSING');
    const bad = await post(`${url}/api/v1/orchestrate`, TASK, { Authorization: 'Bearer x.y.z' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const other = new ServeHarness();
    const foreign = await post(`${url}/api/v1/orchestrate`, TASK,
      { Authorization: `Bearer ${other.token('mallory')}` });
    await other.dispose();
    expect(errorCode(foreign)).toBe('GW_TOKEN_SIGNATURE');
  });

  it('confirms for the same principal only, once', async () => {
    const asked = await post(`${url}/api/v1/orchestrate`, TASK, auth('alice'));
    expect(asked.status).toBe(202);
    const id = (asked.body.confirmation as { id: string }).id;
    const stranger = await post(`${url}/api/v1/confirmations/${id}`,
      '{"decision":"confirm"}', auth('bob'));
    expect(stranger.status).toBe(404);
    expect(errorCode(stranger)).toBe('GW_CONFIRMATION_UNKNOWN');
    const done = await post(`${url}/api/v1/confirmations/${id}`,
      '{"decision":"confirm"}', auth('alice'));
    expect(done.status).toBe(200);
    // The microVM tier is not built: confirmed, then refused by the executor, fail closed.
    expect(done.body).toMatchObject({ action: 'scada_dnp3.operate', outcome: 'refused' });
    expect((done.body.error as { code: string }).code).toBe('GW_TIER_UNAVAILABLE');
    const again = await post(`${url}/api/v1/confirmations/${id}`,
      '{"decision":"confirm"}', auth('alice'));
    expect(errorCode(again)).toBe('GW_CONFIRMATION_UNKNOWN');
    const recent = await (await fetch(`${url}/api/v1/actions`, { headers: auth('alice') }))
      .json() as { actions: { action: string; decision: string; outcome: string | null }[] };
    expect(recent.actions.slice(0, 2)).toMatchObject([
      { action: 'scada_dnp3.operate', decision: 'refused', outcome: 'refused' },
      { action: 'scada_dnp3.operate', decision: 'confirmation_requested', outcome: null },
    ]);
  });

  it('cancels, and a newer task replaces an open confirmation', async () => {
    const first = await post(`${url}/api/v1/orchestrate`, TASK, auth('carol'));
    const second = await post(`${url}/api/v1/orchestrate`,
      '{"task":"open breaker 3 at substation 4"}', auth('carol'));
    expect(second.status).toBe(202);
    const old = (first.body.confirmation as { id: string }).id;
    const stale = await post(`${url}/api/v1/confirmations/${old}`, '{"decision":"confirm"}',
      auth('carol'));
    expect(errorCode(stale)).toBe('GW_CONFIRMATION_UNKNOWN');
    const id = (second.body.confirmation as { id: string }).id;
    const cancelled = await post(`${url}/api/v1/confirmations/${id}`, '{"decision":"cancel"}',
      auth('carol'));
    expect(cancelled.body).toMatchObject({ status: 'cancelled', outcome: null });
  });

  it("limits actions to the token's tiers", async () => {
    const safeOnly = auth('dave', ['safe']);
    const refused = await post(`${url}/api/v1/orchestrate`, TASK, safeOnly);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('GW_TIER_NOT_GRANTED');
    const calendar = await post(`${url}/api/v1/orchestrate`,
      '{"task":"what is on my calendar tomorrow"}', safeOnly);
    expect(calendar.body).toMatchObject({ status: 'answered', tier: 'safe', outcome: 'succeeded' });
  });

  it('answers malformed bodies with 400 and a code', async () => {
    const h = auth('erin');
    const cases: [string, string][] = [
      ['{"task": "x"', 'GW_HTTP_INVALID_JSON'],
      ['["close breaker 7 at substation 12"]', 'GW_HTTP_INVALID_JSON'],
      ['{"task": "x", "admin": true}', 'GW_HTTP_UNKNOWN_FIELD'],
      ['{"task": 7}', 'GW_HTTP_INVALID_REQUEST'],
      [`{"task": "${'a'.repeat(20_000)}"}`, 'GW_HTTP_BODY_TOO_LARGE'],
    ];
    for (const [body, code] of cases) {
      const a = await post(`${url}/api/v1/orchestrate`, body, h);
      expect([a.status, errorCode(a)]).toEqual([400, code]);
    }
    const nothing = await post(`${url}/api/v1/nothing`, '{}', h);
    expect([nothing.status, errorCode(nothing)]).toEqual([404, 'GW_HTTP_NOT_FOUND']);
  });

  it('limits requests per principal per minute with 429 and Retry-After', async () => {
    const h = auth('frank');
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof post>> | null = null;
    for (let i = 0; i < 8; i++) {
      last = await post(`${url}/api/v1/orchestrate`, '{"task":"what time is it"}', h);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 6).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(6)).toEqual([429, 429]);
    expect(last && errorCode(last)).toBe('GW_RATE_LIMITED');
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another principal is not affected.
    expect((await post(`${url}/api/v1/orchestrate`, '{"task":"what time is it"}',
      auth('grace'))).status).toBe(200);
  });

  it('serves health, metrics and the web page', async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_turn_duration_seconds_count\{channel="http"\} [1-9]/m);
    expect(metrics).toMatch(/^gateway_actions_total\{tier="critical",outcome="refused"\} \d+/m);
    expect(metrics).toMatch(/^gateway_microvm_boots_total 0$/m);
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('app.js');
    expect((await fetch(`${url}/../../etc/passwd`)).status).toBe(404);
  });

  it('keeps tokens, tasks and replies out of the log', () => {
    expect(gw.stderr).toContain('"route":"orchestrate"');
    expect(gw.stderr).not.toMatch(/breaker seven|Close breaker|eyJ/);
  });
});

describe('gateway serve: Idempotency-Key across a restart', () => {
  const gw = new ServeHarness();
  afterAll(async () => {
    await gw.dispose();
  });

  it('returns the first result and never executes twice', async () => {
    let url = await gw.start();
    const h = { Authorization: `Bearer ${gw.token('ivan')}` };
    const first = await post(`${url}/api/v1/orchestrate`, TASK, { ...h, 'Idempotency-Key': 'o-1' });
    expect(first.status).toBe(202);
    const id = (first.body.confirmation as { id: string }).id;
    const decided = await post(`${url}/api/v1/confirmations/${id}`, '{"decision":"confirm"}',
      { ...h, 'Idempotency-Key': 'c-1' });
    expect(decided.status).toBe(200);
    expect(await gw.stop()).toBe(0);

    url = await gw.start();
    const replay = await post(`${url}/api/v1/orchestrate`, TASK, { ...h, 'Idempotency-Key': 'o-1' });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const again = await post(`${url}/api/v1/confirmations/${id}`, '{"decision":"confirm"}',
      { ...h, 'Idempotency-Key': 'c-1' });
    expect(again.body).toEqual(decided.body);
    const mismatch = await post(`${url}/api/v1/orchestrate`, '{"task":"what time is it"}',
      { ...h, 'Idempotency-Key': 'o-1' });
    expect([mismatch.status, errorCode(mismatch)]).toEqual([409, 'GW_IDEMPOTENCY_MISMATCH']);
    // Only one turn ran after the restart's replays: none (both answered from the store).
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).not.toMatch(/gateway_turn_duration_seconds_count\{channel="http"\}/);
  }, 120_000);
});

describe('gateway serve: the confirmation window', () => {
  const gw = new ServeHarness('[dialogue]\nconfirmation_window_ms = 0\n');
  afterAll(async () => {
    await gw.dispose();
  });

  it('refuses a confirmation after its window with 410, and nothing runs', async () => {
    const url = await gw.start();
    const h = { Authorization: `Bearer ${gw.token('late')}` };
    const asked = await post(`${url}/api/v1/orchestrate`, TASK, h);
    expect(asked.status).toBe(202);
    const id = (asked.body.confirmation as { id: string }).id;
    const late = await post(`${url}/api/v1/confirmations/${id}`, '{"decision":"confirm"}', h);
    expect([late.status, errorCode(late)]).toEqual([410, 'GW_CONFIRMATION_EXPIRED']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_actions_total\{tier="critical",outcome="cancelled"\} 1/);
    expect(metrics).not.toMatch(/outcome="refused"/);
  }, 60_000);
});
