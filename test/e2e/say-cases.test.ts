import { execFile } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { TurnReport } from '../../src/dialogue/report.js';
import { ROOT } from './harness.js';

// Every case of issue 3's "What to build", through the CLI as a user runs it:
// `gateway say --json` with several texts as one conversation.
const run = promisify(execFile);
const OUT = mkdtempSync(path.join(tmpdir(), 'gw-say-cases-'));

async function say(...texts: string[]): Promise<TurnReport[]> {
  const { stdout } = await run(process.execPath,
    [path.join(ROOT, 'bin/gateway.js'), 'say', '--json', '--out', OUT, ...texts],
    { cwd: ROOT, env: { ...process.env, TZ: 'Europe/London' }, maxBuffer: 8 << 20 });
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as TurnReport);
}

type Case = readonly [string, readonly string[], readonly Partial<Record<string, unknown>>[]];
const BREAKER = { operation: 'close', breaker: 7, substation: 12 };

const CASES: readonly Case[] = [
  ['numbers as words and digits give the same slots',
    ['close breaker seven at substation twelve', 'no', 'close breaker 7 at substation 12'],
    [{ decision: 'confirmation_requested', slots: BREAKER }, { decision: 'cancelled' },
      { slots: BREAKER }]],
  ['money in words, "10k" and "$10,000" is the same amount',
    ['buy ten thousand dollars of bitcoin', 'no', 'buy 10k dollars of btc', 'no',
      'buy $10,000 of bitcoin'],
    [{ slots: { side: 'buy', asset: 'BTC', amount: { amount: 10000, currency: 'USD' } } }, {},
      { slots: { side: 'buy', asset: 'BTC', amount: { amount: 10000, currency: 'USD' } } }, {},
      { slots: { side: 'buy', asset: 'BTC', amount: { amount: 10000, currency: 'USD' } } }]],
  ['a negated command is never the action',
    ["don't close breaker seven at substation twelve"],
    [{ decision: 'not_understood', reason: 'negated', action: null }]],
  ['a ramble is not understood', ['um so I was wondering about the weather and stuff'],
    [{ decision: 'not_understood', reason: 'no_match' }]],
  ['two commands in one sentence are refused',
    ['close breaker seven at substation twelve and open breaker three at substation four'],
    [{ decision: 'refused', reason: 'multiple_commands' }]],
  ['a value outside its range is refused with the range said',
    ['close breaker one hundred at substation twelve'],
    [{ decision: 'refused', reason: 'out_of_range',
      reply: 'Breaker must be from one to ninety nine.' }]],
  ['an ambiguous target asks which', ["tell sam i'm on my way", 'sam patel'],
    [{ decision: 'clarification_requested', reason: 'ambiguous' },
      { decision: 'confirmation_requested', slots: { contact: 'sam_patel', body: "i'm on my way" } }]],
  ['a missing slot is asked for', ['pay alice', 'fifty pounds'],
    [{ decision: 'clarification_requested', reason: 'missing_slot' },
      { decision: 'confirmation_requested',
        slots: { payee: 'alice', amount: { amount: 50, currency: 'GBP' } } }]],
  ['confirm and deny mean nothing with nothing pending', ['confirm', 'no'],
    [{ decision: 'not_understood', reason: 'nothing_pending' },
      { decision: 'not_understood', reason: 'nothing_pending' }]],
  ['"no", or a new command, cancels a pending confirmation',
    ['close breaker seven at substation twelve', 'no', 'close breaker seven at substation twelve',
      "what's on my calendar tomorrow"],
    [{ decision: 'confirmation_requested' }, { decision: 'cancelled', reason: 'denied' }, {},
      { decision: 'cancelled', reason: 'new_command' }]],
  ['a bare "stop" stops the gateway\'s speech; "stop the robot" never waits for confirm',
    ['stop', 'stop the robot'],
    [{ decision: 'answered', reason: 'stopped_speaking', action: null },
      { action: 'ros2_dangerous_actions.stop', tier: 'elevated' }]],
  ['dangerous actions read every slot back and wait for "confirm"',
    ['send a message to the night shift saying I will be late'],
    [{ decision: 'confirmation_requested', tier: 'dangerous',
      reply: 'Send the night shift the message: I will be late. Say confirm to proceed.' }]],
];

describe('gateway say --json, case by case', () => {
  it('writes reply audio readable by its owner only (it can read a message back)', async () => {
    const [r] = await say('send a message to the night shift saying I will be late');
    expect(statSync(r?.reply?.audio ?? '').mode & 0o777).toBe(0o600);
  });

  for (const [name, texts, want] of CASES) {
    it(name, async () => {
      const got = await say(...texts);
      expect(got).toHaveLength(texts.length);
      want.forEach((w, i) => {
        const r = got[i];
        const { slots, reply, ...rest } = w;
        expect(r, `${texts[i] ?? ''}`).toMatchObject(rest);
        if (slots !== undefined) expect(r?.intent?.slots, texts[i]).toEqual(slots);
        if (reply !== undefined) expect(r?.reply?.text, texts[i]).toBe(reply);
      });
      // An emergency stop is never held: the stop turn never asks for confirmation.
      for (const r of got) {
        if (r.action === 'ros2_dangerous_actions.stop') {
          expect(r.decision).not.toBe('confirmation_requested');
        }
      }
    });
  }
});
