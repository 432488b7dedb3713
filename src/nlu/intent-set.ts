import { grammarWords, toJsgf } from './jsgf.js';
import { compileIntentDir } from './load.js';
import { matchAnswer, matchText } from './matcher.js';
import type { CompiledIntent, CompiledSet, SlotList } from './model.js';
import { renderTemplate } from './render.js';
import type { IntentInfo, IntentSet, JsgfOptions, SlotValue, Understanding } from './types.js';

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
