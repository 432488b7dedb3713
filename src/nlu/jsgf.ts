import type { CompiledIntent, CompiledSet, SlotList } from './model.js';
import { negationJsgf } from './negation.js';
import { TENS, UNITS } from './numbers.js';
import { numberRulesUsed, quantityBody } from './quantity-jsgf.js';
import { WORD_RE, type TemplateNode } from './template.js';
import type { JsgfOptions } from './types.js';

const DIGIT_RULE = 'digit';
/** Every command after a negation, so that the recogniser can hear "don't ..." as said. */
const NEGATED_RULE = 'negated';

function join(alts: readonly string[]): string {
  return alts.length === 1 ? (alts[0] ?? '') : `( ${alts.join(' | ')} )`;
}

function unitWords(from: number, to: number): string[] {
  const out: string[] = [];
  for (let n = from; n <= to; n += 1) out.push(UNITS[n] ?? '');
  return out;
}

/**
 * Spoken forms of every integer in lo..hi (within 0..999) as JSGF alternatives, built from
 * parts ("twenty [<digit>]", "three hundred [and] ...") rather than listed one by one.
 */
export function rangeAlternatives(lo: number, hi: number): string[] {
  const alts: string[] = [];
  if (lo <= 0 && hi >= 0) alts.push('zero');
  alts.push(...unitWords(Math.max(lo, 1), Math.min(hi, 19)));
  for (let d = 2; d <= 9; d += 1) {
    const base = d * 10;
    let a = Math.max(lo, base);
    const b = Math.min(hi, base + 9);
    if (a > b) continue;
    const tens = TENS[d] ?? '';
    if (a === base && b === base + 9) {
      alts.push(`${tens} [<${DIGIT_RULE}>]`);
      continue;
    }
    if (a === base) {
      alts.push(tens);
      a += 1;
    }
    if (a <= b) alts.push(`${tens} ${join(unitWords(a - base, b - base))}`);
  }
  for (let h = 1; h <= 9; h += 1) {
    const base = h * 100;
    let a = Math.max(lo, base);
    const b = Math.min(hi, base + 99);
    if (a > b) continue;
    const head = `${UNITS[h] ?? ''} hundred`;
    if (a === base) {
      alts.push(head);
      a += 1;
    }
    if (a <= b) alts.push(`${head} [and] ${join(rangeAlternatives(a - base, b - base))}`);
  }
  return alts;
}

function listBody(list: SlotList): string {
  switch (list.kind) {
    case 'range': return rangeAlternatives(list.from, list.to).join(' | ');
    case 'values': {
      const forms = new Set(list.values.filter((v) => v.spoken).map((v) => v.words.join(' ')));
      return [...forms].join(' | ');
    }
    case 'free_text': return list.offline.map((ws) => ws.join(' ')).join(' | ');
    default: return quantityBody(list) ?? '';
  }
}

function nodeBody(node: TemplateNode, listId: (name: string) => string): string {
  switch (node.t) {
    case 'word': return node.word;
    case 'seq': return node.items.map((n) => nodeBody(n, listId)).join(' ');
    case 'alt': return `( ${node.options.map((n) => nodeBody(n, listId)).join(' | ')} )`;
    case 'opt': return `[ ${nodeBody(node.node, listId)} ]`;
    case 'slot': return `<${listId(node.list)}>`;
    case 'ref': return '';
  }
}

/** The rule of the answers to the question for `slot` of `intent`. */
export function answerRuleName(intent: string, slot: string): string {
  return `a_${intent.replace(/\./g, '_')}__${slot}`;
}

function ruleName(i: CompiledIntent): string {
  return i.answerFor
    ? answerRuleName(i.answerFor.intent, i.answerFor.slot)
    : `i_${i.name.replace(/\./g, '_')}`;
}

/** Rule `<answers>`: every answer to every question an intent may ask. */
const ANSWERS_RULE = 'answers';

/**
 * Emits the grammar; its public rule `<command>` accepts the templates' sentences, and
 * each of them after a negation prefix (rule `<negated>`).
 */
export function toJsgf(set: CompiledSet, options: JsgfOptions = {}): string {
  const prefixWords = (options.optionalPrefix ?? '').toLowerCase().split(/\s+/)
    .filter((w) => w !== '');
  const bad = prefixWords.find((w) => !WORD_RE.test(w));
  if (bad !== undefined) throw new RangeError(`optionalPrefix word "${bad}" is not a plain word`);
  const prefix = prefixWords.length > 0 ? `[ ${prefixWords.join(' ')} ] ` : '';
  const lines = ['#JSGF V1.0;', '', 'grammar gateway;', ''];
  // Answers to a question ("twelve") are heard, but are not commands one could negate.
  const commands = set.intents.filter((i) => !i.answerFor).map((i) => `<${ruleName(i)}>`);
  const answers = set.intents.filter((i) => i.answerFor).map((i) => `<${ruleName(i)}>`);
  const top = [...commands, `<${NEGATED_RULE}>`];
  if (answers.length > 0) top.push(`<${ANSWERS_RULE}>`);
  lines.push(`public <command> = ${prefix}( ${top.join(' | ')} );`);
  lines.push(`<${NEGATED_RULE}> = ( ${negationJsgf()} ) ( ${commands.join(' | ')} );`);
  if (answers.length > 0) lines.push(`<${ANSWERS_RULE}> = ${answers.join(' | ')};`);
  lines.push('');
  const lists = new Map<string, SlotList>();
  for (const intent of set.intents) {
    const listId = (name: string): string => `l_${intent.lists.get(name)?.id ?? name}`;
    const bodies = intent.sentences.map((s) => nodeBody(s, listId));
    lines.push(`<${ruleName(intent)}> = ${bodies.map((b) => `( ${b} )`).join(' | ')};`);
    for (const list of intent.lists.values()) lists.set(list.id, list);
  }
  lines.push('');
  for (const [id, list] of [...lists].sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`<l_${id}> = ${listBody(list)};`);
  }
  lines.push(...numberRulesUsed(lines.join('\n')));
  lines.push(`<${DIGIT_RULE}> = ${unitWords(1, 9).join(' | ')};`, '');
  return lines.join('\n');
}

/** Every word a grammar uses, sorted, read back from its rule bodies. */
export function grammarWords(jsgf: string): string[] {
  const words = new Set<string>();
  for (const line of jsgf.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq === -1) continue;
    const body = line.slice(eq + 1).replace(/<[^>]*>/g, ' ').replace(/[()[\]|;]/g, ' ');
    for (const w of body.split(/\s+/)) if (w !== '') words.add(w);
  }
  return [...words].sort();
}
