import { grammarWords, toJsgf } from './jsgf.js';
import { compileIntentDir } from './load.js';
import { matchAnswer, matchText } from './matcher.js';
import type { CompiledIntent, CompiledSet, SlotList } from './model.js';
import { renderTemplate } from './render.js';
import type {
  IntentInfo, IntentSet, JsgfOptions, SlotOutside, SlotValue, Understanding,
} from './types.js';

/** How a value does not fit its slot's list; null when it fits. */
function outsideList(list: SlotList, slot: string, value: SlotValue): SlotOutside | null {
  const amount = typeof value === 'object' ? value.amount : value;
  const range = (min: number, max: number): SlotOutside =>
    ({ kind: 'range', detail: { slot, min, max } });
  switch (list.kind) {
    case 'range':
    case 'ordinal':
      return typeof amount === 'number' && Number.isInteger(amount)
        && amount >= list.from && amount <= list.to ? null : range(list.from, list.to);
    case 'number':
    case 'currency':
      return typeof amount === 'number' && amount >= list.min && amount <= list.max
        && (list.kind === 'currency' || list.decimals || Number.isInteger(amount))
        ? null : range(list.min, list.max);
    case 'values':
      return list.values.some((v) => v.out === value) ? null : { kind: 'unknown_value', slot };
    case 'free_text':
      return null;
  }
}

function freeTextSlots(intent: CompiledIntent): Record<string, readonly string[]> | null {
  let out: Record<string, readonly string[]> | null = null;
  for (const [slot, listName] of intent.slots) {
    const list = intent.lists.get(listName);
    if (list?.kind === 'free_text') {
      out = { ...(out ?? {}), [slot]: Object.freeze(list.offline.map((ws) => ws.join(' '))) };
    }
  }
  return out;
}

class CompiledIntentSet implements IntentSet {
  readonly language: string;
  readonly intents: readonly IntentInfo[];
  /** Slot name to the list that first defines it, to speak canonical values back. */
  private readonly slotLists = new Map<string, SlotList>();

  constructor(private readonly set: CompiledSet) {
    this.language = set.language;
    this.intents = Object.freeze(set.intents.filter((i) => !i.answerFor).map((i) => {
      const freeText = freeTextSlots(i);
      return Object.freeze({
        name: i.name, action: i.action, readback: i.readback, response: i.response,
        ...(freeText === null ? {} : { freeText }),
        ...(i.ask.size === 0 ? {} : { ask: Object.freeze(Object.fromEntries(i.ask)) }),
      });
    }));
    for (const intent of set.intents) {
      for (const [slot, listName] of intent.slots) {
        const list = intent.lists.get(listName);
        if (list !== undefined && !this.slotLists.has(slot)) this.slotLists.set(slot, list);
      }
    }
  }

  match(text: string): Understanding {
    return matchText(this.set, text);
  }

  slotOutside(intent: string, slots: Readonly<Record<string, SlotValue>>): SlotOutside | null {
    const compiled = this.set.intents.find((i) => i.name === intent && !i.answerFor);
    if (compiled === undefined) return null;
    for (const [slot, value] of Object.entries(slots)) {
      const list = compiled.lists.get(compiled.slots.get(slot) ?? '');
      const detail = list === undefined ? null : outsideList(list, slot, value);
      if (detail !== null) return detail;
    }
    return null;
  }

  matchAnswer(intent: string, slot: string, text: string): Understanding {
    return matchAnswer(this.set, intent, slot, text);
  }

  jsgf(options?: JsgfOptions): string {
    return toJsgf(this.set, options);
  }

  vocabulary(): readonly string[] {
    return grammarWords(toJsgf(this.set));
  }

  render(template: string, slots: Readonly<Record<string, SlotValue>>): string {
    return renderTemplate(template, slots, (slot) => this.slotLists.get(slot));
  }
}

/**
 * Compiles every intent file in `dir` into a matcher, a JSGF grammar and a renderer.
 * Throws GatewayError GW_INTENTS_INVALID naming the file, the line and the problem.
 */
export async function loadIntents(dir: string): Promise<IntentSet> {
  return new CompiledIntentSet(await compileIntentDir(dir));
}
