import type { CompiledIntent, CompiledSet, SlotList } from './model.js';
import { negatedRests } from './negation.js';
import { normalise } from './normalise.js';
import { matchSlot, type State } from './slot-match.js';
import type { TemplateNode } from './template.js';
import type { FreeTextSource, RangeDetail, SlotValue, Understanding } from './types.js';

/** Longest input accepted, in characters, before any work is done. */
export const MAX_TEXT_CHARS = 500;
/** Longest input accepted, in words: commands are short, and matching backtracks. */
export const MAX_WORDS = 40;
/**
 * Stable reasons for `not_understood`:
 * - `empty`: nothing but spaces and punctuation;
 * - `too_long`: over MAX_TEXT_CHARS characters or MAX_WORDS words;
 * - `no_match`: no template accepts the whole sentence;
 * - `out_of_range`: a template accepts it only with a number outside its slot's range;
 * - `ambiguous`: two different intents, or two readings of one, accept it equally;
 * - `negated`: a command said after "don't", "do not", "never" or "never mind".
 */
export type NotUnderstoodReason =
  | 'empty' | 'too_long' | 'no_match' | 'out_of_range' | 'ambiguous' | 'negated';

function* matchNode(
  node: TemplateNode,
  intent: CompiledIntent,
  toks: readonly string[],
  st: State,
): Generator<State> {
  switch (node.t) {
    case 'word':
      if (toks[st.pos] === node.word) yield { ...st, pos: st.pos + 1 };
      return;
    case 'opt':
      yield* matchNode(node.node, intent, toks, st);
      yield st;
      return;
    case 'alt':
      for (const option of node.options) yield* matchNode(option, intent, toks, st);
      return;
    case 'seq':
      yield* matchSeq(node.items, 0, intent, toks, st);
      return;
    case 'slot': {
      const list = intent.lists.get(node.list);
      if (list !== undefined) yield* matchSlot(list, node.name, toks, st);
      return;
    }
    case 'ref':
      return;
  }
}

function* matchSeq(
  items: readonly TemplateNode[],
  i: number,
  intent: CompiledIntent,
  toks: readonly string[],
  st: State,
): Generator<State> {
  const item = items[i];
  if (item === undefined) {
    yield st;
    return;
  }
  for (const next of matchNode(item, intent, toks, st)) {
    yield* matchSeq(items, i + 1, intent, toks, next);
  }
}

function key(slots: Readonly<Record<string, SlotValue>>): string {
  return JSON.stringify(Object.entries(slots).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function freeTextOf(
  intent: CompiledIntent,
  slots: Readonly<Record<string, SlotValue>>,
): Record<string, FreeTextSource> | null {
  let out: Record<string, FreeTextSource> | null = null;
  for (const [slot, listName] of intent.slots) {
    const list: SlotList | undefined = intent.lists.get(listName);
    const value = slots[slot];
    if (list?.kind !== 'free_text' || typeof value !== 'string') continue;
    const said = list.offline.some((ws) => ws.join(' ') === value);
    out = { ...(out ?? {}), [slot]: said ? 'offline_phrase' : 'dictation' };
  }
  return out;
}

function matchTokens(set: CompiledSet, toks: readonly string[]): Understanding {
  const accepted = new Map<string, { intent: CompiledIntent; slots: State['slots'] }>();
  let outOfRange: RangeDetail | null = null;
  let tooLong = false;
  for (const intent of set.intents) {
    for (const sentence of intent.sentences) {
      const start: State = { pos: 0, slots: {}, outside: [], tooLong: false };
      for (const end of matchNode(sentence, intent, toks, start)) {
        if (end.pos !== toks.length) continue;
        const outside = end.outside[0];
        if (outside !== undefined) {
          outOfRange ??= outside;
          continue;
        }
        if (end.tooLong) {
          tooLong = true;
          continue;
        }
        accepted.set(`${intent.name} ${key(end.slots)}`, { intent, slots: end.slots });
      }
    }
  }
  const found = [...accepted.values()];
  const only = found[0];
  if (found.length > 1) return { kind: 'not_understood', reason: 'ambiguous' };
  if (only !== undefined) {
    const freeText = freeTextOf(only.intent, only.slots);
    return {
      kind: 'intent',
      intent: only.intent.name,
      action: only.intent.action,
      slots: only.slots,
      ...(freeText === null ? {} : { freeText }),
    };
  }
  if (outOfRange !== null) {
    return { kind: 'not_understood', reason: 'out_of_range', detail: outOfRange };
  }
  return { kind: 'not_understood', reason: tooLong ? 'too_long' : 'no_match' };
}

/**
 * Full-sentence, deterministic matching over every intent of the set. A command after a
 * negation ("don't close breaker seven ...") is never an intent: it is `negated`.
 */
export function matchText(set: CompiledSet, text: string): Understanding {
  if (text.length > MAX_TEXT_CHARS) return { kind: 'not_understood', reason: 'too_long' };
  const toks = normalise(text);
  if (toks.length === 0) return { kind: 'not_understood', reason: 'empty' };
  if (toks.length > MAX_WORDS) return { kind: 'not_understood', reason: 'too_long' };
  for (const rest of negatedRests(toks)) {
    const inner = matchTokens(set, rest);
    if (inner.kind === 'intent' || inner.reason !== 'no_match') {
      return { kind: 'not_understood', reason: 'negated' };
    }
  }
  return matchTokens(set, toks);
}
