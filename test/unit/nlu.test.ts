import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { isGatewayError } from '../../src/errors.js';
import { loadIntents, type IntentSet } from '../../src/nlu/index.js';

const INTENTS_DIR = join(import.meta.dirname, '../../intents/en');
let set: IntentSet;

beforeAll(async () => {
  set = await loadIntents(INTENTS_DIR);
});

describe('matching the shipped intents', () => {
  it('turns a breaker command into the operate action with typed slots', () => {
    expect(set.match('close breaker seven at substation twelve')).toEqual({
      kind: 'intent',
      intent: 'scada.breaker_operate',
      action: 'scada_dnp3.operate',
      slots: { operation: 'close', breaker: 7, substation: 12 },
    });
  });

  it('accepts digits, compound number words, punctuation and capitals alike', () => {
    const want = { operation: 'open', breaker: 21, substation: 99 };
    for (const text of ['Open breaker 21 at substation 99.', 'open breaker twenty one at '
      + 'substation ninety nine', 'OPEN breaker twenty-one, at substation ninety-nine!']) {
      expect(set.match(text), text).toMatchObject({ kind: 'intent', slots: want });
    }
  });

  it('maps a list synonym to its canonical value', () => {
    expect(set.match('trip breaker 3 at substation 4'))
      .toMatchObject({ slots: { operation: 'open', breaker: 3, substation: 4 } });
  });

  it('rejects numbers outside the slot range with out_of_range and names the bounds', () => {
    const breaker = { slot: 'breaker', min: 1, max: 99 };
    expect(set.match('close breaker one hundred at substation twelve'))
      .toEqual({ kind: 'not_understood', reason: 'out_of_range', detail: breaker });
    expect(set.match('close breaker 0 at substation 12'))
      .toEqual({ kind: 'not_understood', reason: 'out_of_range', detail: breaker });
  });

  it('reads the calendar day, with both spellings of "what is"', () => {
    for (const [text, day] of [
      ["what's on my calendar tomorrow", 'tomorrow'],
      ['What is on my calendar today?', 'today'],
      ['what do i have the day after tomorrow', 'day_after_tomorrow'],
      ['whats on agenda for tomorrow', null],
      ["what’s on agenda tomorrow", 'tomorrow'],
    ] as const) {
      const got = set.match(text);
      if (day === null) expect(got, text).toMatchObject({ kind: 'not_understood' });
      else expect(got, text).toEqual({ kind: 'intent', intent: 'calendar.agenda',
        action: 'calendar.agenda', slots: { day } });
    }
  });

  it('recognises the next meeting and breaker status questions', () => {
    expect(set.match('when is my next meeting')).toMatchObject({
      intent: 'calendar.next', action: 'calendar.next_meeting', slots: {} });
    expect(set.match('what is the status of breaker 4 at substation 2')).toMatchObject({
      intent: 'scada.breaker_status', action: 'scada_dnp3.status',
      slots: { breaker: 4, substation: 2 } });
    expect(set.match('is breaker seven at substation twelve open'))
      .toMatchObject({ intent: 'scada.breaker_status', slots: { breaker: 7, substation: 12 } });
  });

  it('recognises confirm, deny and help as system intents with no action', () => {
    const cases = [['confirm', 'system.confirm'], ['yes confirm', 'system.confirm'],
      ['Confirmed.', 'system.confirm'], ['no', 'system.deny'], ['cancel', 'system.deny'],
      ['never mind', 'system.deny'], ["don't", 'system.deny'], ['help', 'system.help'],
      ['what can you do?', 'system.help']] as const;
    for (const [text, intent] of cases) {
      expect(set.match(text), text).toEqual({ kind: 'intent', intent, action: null, slots: {} });
    }
  });

  it('does not treat "stop" as a denial', () => {
    expect(set.match('stop')).toMatchObject({ kind: 'intent', intent: 'system.stop' });
  });

  it('matches whole sentences only', () => {
    expect(set.match('close breaker seven at substation twelve now'))
      .toEqual({ kind: 'not_understood', reason: 'no_match' });
    expect(set.match('please confirm the order'))
      .toEqual({ kind: 'not_understood', reason: 'no_match' });
  });

  it('reports empty and over-long input with their own reasons', () => {
    expect(set.match('')).toEqual({ kind: 'not_understood', reason: 'empty' });
    expect(set.match('  ?! ')).toEqual({ kind: 'not_understood', reason: 'empty' });
    expect(set.match('help '.repeat(50))).toEqual({ kind: 'not_understood', reason: 'too_long' });
  });
});

describe('numbers that must not read as positive ones', () => {
  it('never takes a typed negative number as the positive one', () => {
    // Guards against "-7" losing its sign as punctuation and operating breaker 7.
    for (const text of ['close breaker -7 at substation 12',
      'close breaker \u22127 at substation 12',
      'close breaker (-7) at substation 12', 'close breaker 7 at substation -12',
      'close breaker -0 at substation 12']) {
      expect(set.match(text), text)
        .toMatchObject({ kind: 'not_understood', reason: 'out_of_range' });
    }
    for (const text of ['close breaker -seven at substation twelve',
      'close breaker --7 at substation 12']) {
      expect(set.match(text), text).toMatchObject({ kind: 'not_understood' });
    }
  });

  it('takes only ASCII digits as digits, not superscript, full-width or other scripts', () => {
    // Guards against NFKC folding "⁷" or "７" into 7 and operating that breaker.
    for (const text of ['close breaker \u2077 at substation 12',
      'close breaker \uff17 at substation 12', 'close breaker 1\u2077 at substation 12',
      'close breaker \u0667 at substation 12', 'close breaker 1\u0667 at substation 12',
      'close breaker \u2466 at substation 12', 'close breaker 7 at substation \uff11\uff12']) {
      expect(set.match(text), text).toEqual({ kind: 'not_understood', reason: 'no_match' });
    }
  });

  it('still reads hyphenated number words, full-width letters and underscores as before', () => {
    // Guards against the sign and digit rules breaking ordinary typing.
    expect(set.match('close breaker twenty-one at substation ninety-nine'))
      .toMatchObject({ slots: { breaker: 21, substation: 99 } });
    expect(set.match('\uff43\uff4c\uff4f\uff53\uff45 breaker 7 at substation 12'))
      .toMatchObject({ slots: { operation: 'close', breaker: 7, substation: 12 } });
    expect(set.match('close breaker 7 - at substation 12'))
      .toMatchObject({ slots: { breaker: 7, substation: 12 } });
    expect(set.match('close_breaker 7 at substation 12'))
      .toMatchObject({ slots: { breaker: 7 } });
  });
});

describe('negated commands', () => {
  it('never maps a command after "don\'t", "do not", "never" or "never mind" to an action', () => {
    // Guards against "don't close breaker seven" being acted on (a safety failure).
    const commands = ['close breaker seven at substation twelve', 'open breaker 3 at substation 4',
      "what's on my calendar tomorrow", 'confirm', 'close breaker one hundred at substation 1'];
    for (const prefix of ["don't", 'do not', 'never', 'never mind', 'Don\u2019t', 'DO NOT']) {
      for (const command of commands) {
        const text = `${prefix} ${command}`;
        expect(set.match(text), text).toEqual({ kind: 'not_understood', reason: 'negated' });
      }
    }
  });

  it('keeps "don\'t", "do not" and "never mind" alone as answers that deny', () => {
    // Guards against the negation rule swallowing the plain denials of a confirmation.
    for (const text of ["don't", 'do not', 'never mind']) {
      expect(set.match(text), text).toMatchObject({ kind: 'intent', intent: 'system.deny' });
    }
  });

  it('leaves a negation before words that are no command as no_match', () => {
    // Guards against reporting "negated" for sentences the gateway never understood.
    expect(set.match("don't worry")).toEqual({ kind: 'not_understood', reason: 'no_match' });
    expect(set.match('never again')).toEqual({ kind: 'not_understood', reason: 'no_match' });
  });
});

describe('render', () => {
  it('speaks the operate read-back with numbers as words and a capital first letter', () => {
    const m = set.match('close breaker 7 at substation 12');
    const info = set.intents.find((i) => i.name === 'scada.breaker_operate');
    expect(m.kind).toBe('intent');
    if (m.kind !== 'intent' || !info?.readback) throw new Error('fixture intent missing');
    expect(set.render(info.readback, m.slots)).toBe('Close breaker seven at substation twelve.');
  });

  it('speaks canonical list values in their spoken form', () => {
    expect(set.render('{day} then', { day: 'day_after_tomorrow' }))
      .toBe('The day after tomorrow then');
    expect(set.render('breaker {breaker}', { breaker: 21 })).toBe('Breaker twenty one');
  });

  it('refuses a template whose placeholder has no value', () => {
    expect(() => set.render('breaker {breaker}', {})).toThrow(
      expect.objectContaining({ code: 'GW_INTENTS_INVALID' }));
  });
});

async function loadOne(yaml: string, name = 'bad.yaml'): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'nlu-test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, name), yaml);
  try {
    await loadIntents(dir);
  } catch (err) {
    return err;
  }
  throw new Error('loadIntents accepted an invalid file');
}

function expectInvalidAt(err: unknown, location: string): void {
  expect(isGatewayError(err) && err.code).toBe('GW_INTENTS_INVALID');
  expect((err as Error).message).toMatch(new RegExp(`^${location}: `));
}

describe('loading intent files', () => {
  const head = 'language: en\nintents:\n  demo.one:\n    sentences:\n';

  it('names the file and line of a YAML error', async () => {
    const duplicate = `${head}      - "hello"\n  demo.one:\n    sentences: ["hi"]\n`;
    expectInvalidAt(await loadOne(duplicate), 'bad.yaml:6');
    expectInvalidAt(await loadOne(`${head}      - "hello"\n     bad: [\n`), 'bad.yaml:6');
  });

  it('names the line of an unclosed group in a template', async () => {
    expectInvalidAt(await loadOne(`${head}      - "hello"\n      - "open [door"\n`), 'bad.yaml:6');
  });

  it('names the line of a slot whose list does not exist', async () => {
    expectInvalidAt(await loadOne(`${head}      - "open {door}"\n`), 'bad.yaml:5');
  });

  it('names the line of an unknown key', async () => {
    expectInvalidAt(await loadOne(`${head}      - "hello"\n    colour: red\n`), 'bad.yaml:6');
  });

  it('refuses digits and punctuation inside templates', async () => {
    expectInvalidAt(await loadOne(`${head}      - "open door 7"\n`), 'bad.yaml:5');
    expectInvalidAt(await loadOne(`${head}      - "open door?"\n`), 'bad.yaml:5');
  });

  it('refuses a read-back placeholder that is not a slot', async () => {
    const yaml = `${head}      - "hello"\n    readback: "Open {door}."\n`;
    expectInvalidAt(await loadOne(yaml), 'bad.yaml:6');
  });

  it('refuses a self-referencing expansion', async () => {
    const yaml = 'language: en\nexpansions:\n  a: "x <a>"\n'
      + 'intents:\n  demo.one:\n    sentences: ["<a>"]\n';
    expectInvalidAt(await loadOne(yaml), 'bad.yaml:3');
  });

  it('names both places of an intent defined in two files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nlu-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const yaml = `${head}      - "hello"\n`;
    await writeFile(join(dir, 'a.yaml'), yaml);
    await writeFile(join(dir, 'b.yaml'), `# second copy\n${yaml}`);
    const err: unknown = await loadIntents(dir).catch((e: unknown) => e);
    expectInvalidAt(err, 'b.yaml:4');
    expect((err as Error).message).toContain('a.yaml:3');
  });

  it('refuses a directory without intent files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nlu-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await expect(loadIntents(dir)).rejects.toMatchObject({ code: 'GW_INTENTS_INVALID' });
  });
});

describe('ambiguity', () => {
  it('returns ambiguous when two intents accept the same sentence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nlu-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'a.yaml'), 'language: en\nintents:\n'
      + '  lights.on:\n    sentences: ["turn [the] lights on"]\n'
      + '  lamp.on:\n    sentences: ["turn the (lights | lamp) on"]\n');
    const two = await loadIntents(dir);
    expect(two.match('turn the lights on'))
      .toEqual({ kind: 'not_understood', reason: 'ambiguous' });
    expect(two.match('turn lights on')).toMatchObject({ kind: 'intent', intent: 'lights.on' });
  });
});

describe('decimals without a leading digit', () => {
  it.each(['pay alice $.50', 'sell -.5 btc', 'buy .5 bitcoin', 'close breaker −.7 at substation 12',
    'pay alice $,5', 'buy 1.2.3 bitcoin'])('never reads %s as another number', (text) => {
    // Guards against ".5" being split at its point and read as 5 (and "-.5" as 5).
    expect(set.match(text).kind).toBe('not_understood');
  });
});
