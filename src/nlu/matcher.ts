import type { CompiledIntent, CompiledSet, SlotList } from './model.js';
import { negatedRests } from './negation.js';
import { normalise } from './normalise.js';
import { matchSlot, type State } from './slot-match.js';
import type { TemplateNode } from './template.js';
import type {
  FreeTextSource, IntentMatch, RangeDetail, SlotValue, Understanding,
} from './types.js';

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
 * - `negated`: a command said after "don't", "do not", "never" or "never mind";
 * - `multiple_commands`: two commands joined by "and" or "then": refused, never half done.
 */
export type NotUnderstoodReason =
  | 'empty' | 'too_long' | 'no_match' | 'out_of_range' | 'ambiguous' | 'negated'
  | 'multiple_commands';

/** Words that join two commands in one sentence ("... and then ..."). */
const JOINERS: ReadonlySet<string> = new Set(['and', 'then']);

/** True when the words are a command, even one that could not run as said. */
function isCommand(u: Understanding): boolean {
  return u.kind === 'intent' || u.reason === 'out_of_range' || u.reason === 'ambiguous';
}

/**
 * The words split at a joiner ("and", "then", "and then") into two parts, each matched on
 * its own, for the first split where at least one part is a command; null when none is.
 * Both commands: the sentence is refused. One: it stays unmatched, but the dialogue still
 * finds an emergency stop in it ("stop the robot and get out of the way").
 */
function splitCommands(set: CompiledSet, toks: readonly string[]): Understanding[] | null {
  let found: Understanding[] | null = null;
  for (let i = 1; i < toks.length - 1; i += 1) {
    if (!JOINERS.has(toks[i] ?? '')) continue;
    const rest = toks[i] === 'and' && toks[i + 1] === 'then' ? i + 2 : i + 1;
    const parts = [matchTokens(set, toks.slice(0, i)), matchTokens(set, toks.slice(rest))];
    if (parts.every(isCommand)) return parts;
    if (found === null && parts.some(isCommand)) found = parts;
  }
  return found;
}

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

function toMatch(intent: CompiledIntent, slots: State['slots']): IntentMatch {
  const freeText = freeTextOf(intent, slots);
  return {
    kind: 'intent',
    intent: intent.name,
    action: intent.action,
    slots,
    ...(freeText === null ? {} : { freeText }),
  };
}

/** Words of the free-text slots of a reading. */
function freeTextWords(r: { intent: CompiledIntent; slots: State['slots'] }): number {
  let n = 0;
  for (const [slot, listName] of r.intent.slots) {
    const value = r.slots[slot];
    if (r.intent.lists.get(listName)?.kind === 'free_text' && typeof value === 'string') {
      n += value.split(' ').length;
    }
  }
  return n;
}

/**
 * Among readings of one intent, free text takes as few words as it can: in "saying I'm on
 * my way", "saying" is the template's word, not the message's.
 */
function shortestFreeText<T extends { intent: CompiledIntent; slots: State['slots'] }>(
  found: T[],
): T[] {
  const [first] = found;
  if (first === undefined || found.some((f) => f.intent !== first.intent)) return found;
  const least = Math.min(...found.map(freeTextWords));
  return found.filter((f) => freeTextWords(f) === least);
}

/**
 * Readings of one intent that differ in the value of exactly one slot ("message sam":
 * Sam Taylor or Sam Patel) become a choice the dialogue can ask about; anything else
 * ambiguous stays plainly ambiguous.
 */
function ambiguity(found: readonly { intent: CompiledIntent; slots: State['slots'] }[]):
Understanding {
  const [first] = found;
  const plain: Understanding = { kind: 'not_understood', reason: 'ambiguous' };
  if (first === undefined || found.some((f) => f.intent !== first.intent)) return plain;
  const names = Object.keys(first.slots).sort();
  const same = (f: typeof first): boolean => {
    const keys = Object.keys(f.slots).sort();
    return keys.length === names.length && keys.every((k, i) => k === names[i]);
  };
  if (!found.every(same)) return plain;
  const differing = names.filter((k) => found.some((f) => key({ v: f.slots[k] ?? '' })
    !== key({ v: first.slots[k] ?? '' })));
  const [slot] = differing;
  if (slot === undefined || differing.length > 1) return plain;
  return { ...plain, choice: { slot, options: found.map((f) => toMatch(f.intent, f.slots)) } };
}

function matchTokens(
  set: CompiledSet,
  toks: readonly string[],
  only: CompiledIntent | null = null,
): Understanding {
  const accepted = new Map<string, { intent: CompiledIntent; slots: State['slots'] }>();
  let outOfRange: RangeDetail | null = null;
  let tooLong = false;
  for (const intent of only === null ? set.intents : [only]) {
    // Answers to a question count only while it is asked (matchAnswer).
    if (only === null && intent.answerFor) continue;
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
  const found = shortestFreeText([...accepted.values()]);
  const [one] = found;
  if (found.length > 1) return ambiguity(found);
  if (one !== undefined) return toMatch(one.intent, one.slots);
  if (outOfRange !== null) {
    return { kind: 'not_understood', reason: 'out_of_range', detail: outOfRange };
  }
  return { kind: 'not_understood', reason: tooLong ? 'too_long' : 'no_match' };
}

/**
 * Matches an answer to the question for `slot` of `intent` ("at which substation?"):
 * only that question's answer sentences. The match names the answer intent
 * (`<intent>#<slot>`) and carries the slots the answer filled. Negated answers and
 * anything else are `no_match` (or `negated`), out-of-range numbers `out_of_range`.
 */
export function matchAnswer(
  set: CompiledSet,
  intent: string,
  slot: string,
  text: string,
): Understanding {
  const answers = set.intents.find((i) => i.name === `${intent}#${slot}`);
  if (answers === undefined || text.length > MAX_TEXT_CHARS) {
    return { kind: 'not_understood', reason: 'no_match' };
  }
  const toks = normalise(text);
  if (toks.length === 0) return { kind: 'not_understood', reason: 'empty' };
  if (toks.length > MAX_WORDS) return { kind: 'not_understood', reason: 'too_long' };
  for (const rest of negatedRests(toks)) {
    if (matchTokens(set, rest, answers).kind === 'intent') {
      return { kind: 'not_understood', reason: 'negated' };
    }
  }
  return withTypedFreeText(matchTokens(set, toks, answers), text);
}

/**
 * The words of `text` as typed (case, punctuation) whose normalised form is `value`: the
 * last such run, since a free-text slot ends its sentence. Null when there is none.
 */
function typedSpan(text: string, value: string): string | null {
  const want = value.split(' ');
  const words = [...text.matchAll(/\S+/g)];
  for (let i = words.length - 1; i >= 0; i -= 1) {
    const start = words[i]?.index ?? 0;
    for (let j = i; j < words.length; j += 1) {
      const w = words[j];
      if (w === undefined) break;
      const span = text.slice(start, w.index + w[0].length);
      const toks = normalise(span);
      if (toks.length > want.length) break;
      if (toks.length === want.length && toks.every((t, k) => t === want[k])) return span;
    }
  }
  return null;
}

/** Free text keeps the words as they were typed ("I'll be late."), not their match form. */
function withTypedFreeText(u: Understanding, text: string): Understanding {
  if (u.kind !== 'intent' || u.freeText === undefined) return u;
  const slots = { ...u.slots };
  for (const slot of Object.keys(u.freeText)) {
    const value = slots[slot];
    const typed = typeof value === 'string' ? typedSpan(text, value) : null;
    if (typed !== null) slots[slot] = typed.trim();
  }
  return { ...u, slots };
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
  const u = withTypedFreeText(matchTokens(set, toks), text);
  const parts = u.kind === 'not_understood' && u.reason === 'no_match'
    ? splitCommands(set, toks) : null;
  if (parts === null) return u;
  const reason = parts.every(isCommand) ? 'multiple_commands' : 'no_match';
  return { kind: 'not_understood', reason, parts };
}
