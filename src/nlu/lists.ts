/** The `lists:` section of an intent file: its schema and its compiled slot lists. */
import { z } from 'zod';
import { MAX_WORDS } from './matcher.js';
import type { ListValue, SlotList } from './model.js';
import { MAX_SPOKEN_NUMBER } from './numbers.js';
import { MAX_WORDED_AMOUNT } from './quantity-words.js';
import { WORD_RE } from './template.js';
import type { FileContext } from './yaml-context.js';

/** A typed-only form: what the normaliser can produce for a word (letters, digits). */
const WRITTEN_RE = /^[a-z0-9][a-z0-9']*$/;

const spoken = z.string().min(1);
const bound = z.number().min(0).max(MAX_WORDED_AMOUNT);
const valueSchema = z.union([
  spoken,
  z.strictObject({
    in: spoken,
    out: z.union([spoken, z.int()]),
    written: z.array(spoken).min(1).optional(),
  }),
]);

export const listSchema = z.union([
  z.strictObject({ values: z.array(valueSchema).min(1) }),
  z.strictObject({
    range: z.strictObject({
      from: z.int().min(0).max(MAX_SPOKEN_NUMBER),
      to: z.int().min(0).max(MAX_SPOKEN_NUMBER),
    }),
  }),
  z.strictObject({
    number: z.strictObject({ min: bound, max: bound, decimals: z.boolean().optional() }),
  }),
  z.strictObject({
    currency: z.strictObject({
      min: bound,
      max: bound,
      currencies: z.array(z.enum(['USD', 'GBP', 'EUR'])).min(1),
    }),
  }),
  z.strictObject({
    ordinal: z.strictObject({ from: z.int().min(1).max(999), to: z.int().min(1).max(999) }),
  }),
  z.strictObject({
    free_text: z.strictObject({
      max_words: z.int().min(1).max(MAX_WORDS),
      offline: z.array(spoken).min(1),
    }),
  }),
]);
export type ListDef = z.infer<typeof listSchema>;

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

function spokenWords(ctx: FileContext, path: readonly PropertyKey[], phrase: string): string[] {
  const ws = words(phrase);
  const bad = ws.find((w) => !WORD_RE.test(w));
  if (bad !== undefined) ctx.fail(path, `"${bad}" is not a lower-case word`);
  return ws;
}

function valueForms(
  ctx: FileContext,
  path: readonly PropertyKey[],
  v: z.infer<typeof valueSchema>,
): ListValue[] {
  if (typeof v === 'string') return [{ words: spokenWords(ctx, path, v), out: v, spoken: true }];
  const forms: ListValue[] = [{ words: spokenWords(ctx, path, v.in), out: v.out, spoken: true }];
  for (const [i, phrase] of (v.written ?? []).entries()) {
    const ws = words(phrase);
    const bad = ws.find((w) => !WRITTEN_RE.test(w));
    if (bad !== undefined) {
      ctx.fail([...path, 'written', i], `"${bad}" is not lower-case letters and digits`);
    }
    forms.push({ words: ws, out: v.out, spoken: false });
  }
  return forms;
}

function checkOrder(ctx: FileContext, path: readonly PropertyKey[], lo: number, hi: number,
  names: string): void {
  if (lo > hi) ctx.fail(path, `${names} is reversed: the first bound is above the second`);
}

/** One list definition compiled; `id` names its grammar rule. */
export function compileList(
  ctx: FileContext,
  name: string,
  id: string,
  def: ListDef,
): SlotList {
  const path = ['lists', name];
  if ('range' in def) {
    checkOrder(ctx, [...path, 'range'], def.range.from, def.range.to, 'range from..to');
    return { kind: 'range', id, from: def.range.from, to: def.range.to };
  }
  if ('number' in def) {
    const { min, max, decimals = false } = def.number;
    checkOrder(ctx, [...path, 'number'], min, max, 'number min..max');
    return { kind: 'number', id, min, max, decimals };
  }
  if ('currency' in def) {
    const { min, max, currencies } = def.currency;
    checkOrder(ctx, [...path, 'currency'], min, max, 'currency min..max');
    return { kind: 'currency', id, min, max, currencies: [...new Set(currencies)] };
  }
  if ('ordinal' in def) {
    checkOrder(ctx, [...path, 'ordinal'], def.ordinal.from, def.ordinal.to, 'ordinal from..to');
    return { kind: 'ordinal', id, from: def.ordinal.from, to: def.ordinal.to };
  }
  if ('free_text' in def) {
    const offline = def.free_text.offline.map((phrase, i) => {
      const ws = spokenWords(ctx, [...path, 'free_text', 'offline', i], phrase);
      if (ws.length > def.free_text.max_words) {
        ctx.fail([...path, 'free_text', 'offline', i], 'offline phrase is over max_words');
      }
      return ws;
    });
    return { kind: 'free_text', id, maxWords: def.free_text.max_words, offline };
  }
  const values = def.values.flatMap((v, i) => valueForms(ctx, [...path, 'values', i], v));
  return { kind: 'values', id, values };
}
