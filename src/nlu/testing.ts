/**
 * Sentence tests for intent templates: YAML files (intents/en/tests/*.yaml) pairing written
 * sentences with the intent and slots they must give, or the reason they must be refused.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { NotUnderstoodReason } from './matcher.js';
import type { FreeTextSource, IntentSet, SlotValue, Understanding } from './types.js';
import { readYamlFile } from './yaml-context.js';

/** Bound on test files read from one directory. */
export const MAX_TEST_FILES = 64;

const REASONS = [
  'empty', 'too_long', 'no_match', 'out_of_range', 'ambiguous', 'negated', 'multiple_commands',
] as const satisfies readonly NotUnderstoodReason[];

const money = z.strictObject({ amount: z.number(), currency: z.enum(['USD', 'GBP', 'EUR']) });
const caseSchema = z.strictObject({
  // An empty sentence is a test too (reason `empty`).
  sentences: z.array(z.string()).min(1),
  intent: z.string().min(1).optional(),
  slots: z.record(z.string(), z.union([z.string(), z.number(), money])).optional(),
  free_text: z.record(z.string(), z.enum(['offline_phrase', 'dictation'])).optional(),
  reason: z.enum(REASONS).optional(),
  /** `intent#slot`: the sentences answer that question (matched with matchAnswer). */
  answer_to: z.string().regex(/^[a-z][a-z0-9_.]*#[a-z][a-z0-9_]*$/, 'expected intent#slot')
    .optional(),
});
const testFileSchema = z.strictObject({ tests: z.array(caseSchema).min(1) });

/** What one sentence must give. */
export type Expectation =
  | {
    readonly kind: 'intent';
    readonly intent: string;
    /** Checked exactly when given. */
    readonly slots?: Readonly<Record<string, SlotValue>>;
    readonly freeText?: Readonly<Record<string, FreeTextSource>>;
  }
  | { readonly kind: 'not_understood'; readonly reason: NotUnderstoodReason };

export interface SentenceCase {
  /** `file:line` of the sentence. */
  readonly where: string;
  readonly sentence: string;
  readonly expected: Expectation;
  /** Set when the sentence answers a question: matched as an answer to it. */
  readonly answerTo?: { readonly intent: string; readonly slot: string };
}

export interface SentenceResult extends SentenceCase {
  readonly got: Understanding;
  readonly pass: boolean;
}

export interface IntentTestReport {
  readonly passed: number;
  readonly failed: number;
  /** Every sentence, in file order, with its outcome. */
  readonly results: readonly SentenceResult[];
}

/** The test files of a directory (`*.yaml`, `*.yml`), sorted. */
export async function testFilesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    throw new GatewayError('GW_INTENTS_INVALID', `cannot read test directory ${dir}`,
      { cause: err });
  }
  if (names.length > MAX_TEST_FILES) {
    throw new GatewayError('GW_INTENTS_INVALID',
      `${dir} holds ${names.length} test files; the limit is ${MAX_TEST_FILES}`);
  }
  return names.map((n) => join(dir, n));
}

/**
 * Reads one test file and checks it against the intent set: every case names an intent of
 * the set, or a reason, not both. Problems throw GW_INTENTS_INVALID with `file:line:`.
 */
export async function loadTestFile(path: string, set: IntentSet): Promise<SentenceCase[]> {
  const rel = relative(process.cwd(), path);
  const label = rel === '' || rel.startsWith('..') ? path : rel;
  const { ctx, data } = await readYamlFile(path, testFileSchema, label);
  const known = new Set(set.intents.map((i) => i.name));
  return data.tests.flatMap((c, i) => {
    const at = ['tests', i];
    const [askedOf = '', slot = ''] = c.answer_to?.split('#') ?? [];
    const answerTo = c.answer_to === undefined ? undefined : { intent: askedOf, slot };
    // `x#answer` names an answer_only intent, which is no command and so not in `known`.
    if (answerTo !== undefined && !known.has(askedOf) && slot !== 'answer') {
      ctx.fail([...at, 'answer_to'], `no intent named ${askedOf}`);
    }
    const intent = c.intent ?? (c.answer_to !== undefined && c.reason === undefined
      ? c.answer_to : undefined);
    if ((intent === undefined) === (c.reason === undefined)) {
      ctx.fail(at, 'a test names either an intent or a reason');
    }
    if (c.intent !== undefined && answerTo !== undefined) {
      ctx.fail([...at, 'intent'], 'an answer test names answer_to, not an intent');
    }
    if (c.intent !== undefined && !known.has(c.intent)) {
      ctx.fail([...at, 'intent'], `no intent named ${c.intent}`);
    }
    if (c.reason !== undefined && (c.slots !== undefined || c.free_text !== undefined)) {
      ctx.fail(at, 'slots and free_text go with an intent, not with a reason');
    }
    const expected: Expectation = intent !== undefined
      ? {
        kind: 'intent',
        intent,
        ...(c.slots === undefined ? {} : { slots: c.slots }),
        ...(c.free_text === undefined ? {} : { freeText: c.free_text }),
      }
      : { kind: 'not_understood', reason: c.reason ?? 'no_match' };
    return c.sentences.map((sentence, j) => ({
      where: `${label}:${ctx.lineOf([...at, 'sentences', j])}`,
      sentence,
      expected,
      ...(answerTo === undefined ? {} : { answerTo }),
    }));
  });
}

/** Whether `got` is what `expected` asks for. */
export function meets(expected: Expectation, got: Understanding): boolean {
  if (expected.kind === 'not_understood') {
    return got.kind === 'not_understood' && got.reason === expected.reason;
  }
  if (got.kind !== 'intent' || got.intent !== expected.intent) return false;
  if (expected.slots !== undefined && !isDeepStrictEqual({ ...got.slots }, expected.slots)) {
    return false;
  }
  return expected.freeText === undefined
    || isDeepStrictEqual({ ...got.freeText }, expected.freeText);
}

/** Runs every sentence of `files` through `set.match`. */
export async function runIntentTests(
  set: IntentSet,
  files: readonly string[],
): Promise<IntentTestReport> {
  const results: SentenceResult[] = [];
  for (const file of files) {
    for (const c of await loadTestFile(file, set)) {
      const got = c.answerTo === undefined
        ? set.match(c.sentence)
        : set.matchAnswer(c.answerTo.intent, c.answerTo.slot, c.sentence);
      results.push({ ...c, got, pass: meets(c.expected, got) });
    }
  }
  const passed = results.filter((r) => r.pass).length;
  return { passed, failed: results.length - passed, results };
}

/** One line: `scada.breaker_operate {"breaker":7}` or `not_understood (no_match)`. */
export function describeOutcome(u: Expectation | Understanding): string {
  if (u.kind === 'not_understood') return `not_understood (${u.reason})`;
  const slots = 'slots' in u && u.slots !== undefined ? ` ${JSON.stringify(u.slots)}` : '';
  const free = 'freeText' in u && u.freeText !== undefined
    ? ` free_text ${JSON.stringify(u.freeText)}`
    : '';
  return `${u.intent}${slots}${free}`;
}
