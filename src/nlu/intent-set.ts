import { GatewayError } from '../errors.js';
import { grammarWords, toJsgf } from './jsgf.js';
import { compileIntentDir } from './load.js';
import { matchText } from './matcher.js';
import type { CompiledSet, SlotList } from './model.js';
import { MAX_SPOKEN_NUMBER, numberToWords } from './numbers.js';
import type { IntentInfo, IntentSet, JsgfOptions, SlotValue, Understanding } from './types.js';

function spokenNumber(n: number): string {
  return Number.isInteger(n) && n >= 0 && n <= MAX_SPOKEN_NUMBER ? numberToWords(n) : String(n);
}

class CompiledIntentSet implements IntentSet {
  readonly language: string;
  readonly intents: readonly IntentInfo[];
  /** Slot name to the list that first defines it, to speak canonical values back. */
  private readonly slotLists = new Map<string, SlotList>();

  constructor(private readonly set: CompiledSet) {
    this.language = set.language;
    this.intents = Object.freeze(set.intents.map((i) => Object.freeze({
      name: i.name, action: i.action, readback: i.readback, response: i.response,
    })));
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

  jsgf(options?: JsgfOptions): string {
    return toJsgf(this.set, options);
  }

  vocabulary(): readonly string[] {
    return grammarWords(toJsgf(this.set));
  }

  render(template: string, slots: Readonly<Record<string, SlotValue>>): string {
    const text = template.replace(/\{([^{}]*)\}/g, (_m, raw: string) => {
      const name = raw.trim();
      const value = slots[name];
      if (value === undefined) {
        throw new GatewayError('GW_INTENTS_INVALID',
          `template placeholder {${name}} has no value to fill it`);
      }
      return typeof value === 'number' ? spokenNumber(value) : this.spokenValue(name, value);
    });
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  private spokenValue(slot: string, value: string): string {
    const list = this.slotLists.get(slot);
    if (list?.kind === 'values') {
      const hit = list.values.find((v) => v.out === value);
      if (hit !== undefined) return hit.words.join(' ');
    }
    return slot === 'result' ? value : value.replace(/_/g, ' ');
  }
}

/**
 * Compiles every intent file in `dir` into a matcher, a JSGF grammar and a renderer.
 * Throws GatewayError GW_INTENTS_INVALID naming the file, the line and the problem.
 */
export async function loadIntents(dir: string): Promise<IntentSet> {
  return new CompiledIntentSet(await compileIntentDir(dir));
}
