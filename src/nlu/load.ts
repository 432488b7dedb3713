import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import { compileList, listSchema } from './lists.js';
import type { CompiledIntent, CompiledSet, SlotList } from './model.js';
import { optionalPartProblem } from './render.js';
import {
  NAME_RE, TemplateSyntaxError, parseTemplate, resolveRefs, slotsOf, type TemplateNode,
} from './template.js';
import { readYamlFile, type FileContext } from './yaml-context.js';

const INTENT_NAME_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ACTION_RE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const PLACEHOLDER_RE = /\{([^{}]*)\}/g;
/** Bound on files read from one directory, so a wrong path cannot make us parse a tree. */
export const MAX_INTENT_FILES = 64;

const askSchema = z.strictObject({
  question: z.string().min(1),
  /** What an answer may sound like; `{slot}` alone when not given. */
  answers: z.array(z.string().min(1)).min(1).optional(),
});
const intentSchema = z.strictObject({
  action: z.string().regex(ACTION_RE, 'action must look like connector.action').nullish(),
  /**
   * Sentences heard only as the answer to a question the dialogue asks itself (a spoken
   * PIN): never matched as a command. Matched with matchAnswer(name, 'answer', text).
   */
  answer_only: z.boolean().optional(),
  /** Slots a sentence may leave out, asked for when missing (multi-turn). */
  ask: z.record(z.string().regex(NAME_RE, 'slot names are lower_snake_case'), askSchema)
    .optional(),
  readback: z.string().min(1).nullish(),
  response: z.string().min(1).nullish(),
  sentences: z.array(z.string().min(1)).min(1),
});
const fileSchema = z.strictObject({
  language: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'language must be like "en"'),
  lists: z.record(z.string().regex(NAME_RE, 'list names are lower_snake_case'), listSchema)
    .optional(),
  expansions: z.record(z.string().regex(NAME_RE, 'expansion names are lower_snake_case'),
    z.string().min(1)).optional(),
  intents: z.record(z.string().regex(INTENT_NAME_RE, 'intent names look like domain.name'),
    intentSchema),
});
type IntentFile = z.infer<typeof fileSchema>;

function compileLists(ctx: FileContext, stem: string, data: IntentFile): Map<string, SlotList> {
  const lists = new Map<string, SlotList>();
  for (const [name, def] of Object.entries(data.lists ?? {})) {
    lists.set(name, compileList(ctx, name, `${stem}_${name}`, def));
  }
  return lists;
}

function parseAt(ctx: FileContext, path: readonly PropertyKey[], src: string): TemplateNode {
  try {
    return parseTemplate(src);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) {
      ctx.fail(path, `template "${src}": ${err.message} at column ${err.column}`);
    }
    throw err;
  }
}

function compileExpansions(ctx: FileContext, data: IntentFile): Map<string, TemplateNode> {
  const raw = new Map<string, TemplateNode>();
  for (const [name, src] of Object.entries(data.expansions ?? {})) {
    raw.set(name, parseAt(ctx, ['expansions', name], src));
  }
  const resolved = new Map<string, TemplateNode>();
  for (const [name, node] of raw) {
    try {
      resolved.set(name, resolveRefs(node, raw, [name]));
    } catch (err) {
      if (err instanceof TemplateSyntaxError) ctx.fail(['expansions', name], err.message);
      throw err;
    }
  }
  return resolved;
}

function checkPlaceholders(
  ctx: FileContext,
  path: readonly PropertyKey[],
  template: string,
  allowed: ReadonlySet<string>,
): void {
  const brackets = optionalPartProblem(template);
  if (brackets !== null) ctx.fail(path, brackets);
  for (const m of template.matchAll(PLACEHOLDER_RE)) {
    const name = (m[1] ?? '').trim();
    if (!allowed.has(name)) ctx.fail(path, `placeholder {${name}} is not a slot of this intent`);
  }
}

/** A template with its `<expansions>` substituted; a problem names the file and line. */
function parseResolved(
  ctx: FileContext,
  path: readonly PropertyKey[],
  src: string,
  expansions: ReadonlyMap<string, TemplateNode>,
): TemplateNode {
  try {
    return resolveRefs(parseAt(ctx, path, src), expansions);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) ctx.fail(path, err.message);
    throw err;
  }
}

/** Binds every `{slot}` of an answer to the list the intent's sentences use for it. */
function bindAnswer(
  ctx: FileContext,
  path: readonly PropertyKey[],
  node: TemplateNode,
  slots: ReadonlyMap<string, string>,
): TemplateNode {
  const bind = (n: TemplateNode): TemplateNode => {
    switch (n.t) {
      case 'slot': {
        const list = slots.get(n.name);
        if (list === undefined) ctx.fail(path, `{${n.name}} is not a slot of this intent`);
        return { ...n, list };
      }
      case 'seq': return { ...n, items: n.items.map(bind) };
      case 'alt': return { ...n, options: n.options.map(bind) };
      case 'opt': return { ...n, node: bind(n.node) };
      default: return n;
    }
  };
  return bind(node);
}

/** True when one spoken form of a values list stands for two canonical values. */
function hasAmbiguousWords(list: SlotList | undefined): boolean {
  if (list?.kind !== 'values') return false;
  const seen = new Map<string, string | number>();
  for (const v of list.values) {
    const k = v.words.join(' ');
    const before = seen.get(k);
    if (before !== undefined && before !== v.out) return true;
    seen.set(k, v.out);
  }
  return false;
}

/**
 * The answer sentences of an intent: for each slot it asks for (`ask`), and for each slot
 * whose list gives one word two meanings (so that "which one?" can be answered).
 */
function answerIntents(
  ctx: FileContext,
  intent: CompiledIntent,
  def: IntentFile['intents'][string],
  expansions: ReadonlyMap<string, TemplateNode>,
): CompiledIntent[] {
  const out: CompiledIntent[] = [];
  for (const [slot, listName] of intent.slots) {
    const asked = def.ask?.[slot];
    if (asked === undefined && !hasAmbiguousWords(intent.lists.get(listName))) continue;
    const sources = asked?.answers ?? [`[the] {${slot}} [one]`];
    const sentences = sources.map((src, i) => {
      const path = ['intents', intent.name, 'ask', slot, 'answers', i];
      return bindAnswer(ctx, path, parseResolved(ctx, path, src, expansions), intent.slots);
    });
    out.push({
      ...intent, name: `${intent.name}#${slot}`, readback: null, response: null, sentences,
      ask: new Map(), answerFor: { intent: intent.name, slot },
    });
  }
  return out;
}

function compileFile(ctx: FileContext, stem: string, data: IntentFile): CompiledIntent[] {
  const lists = compileLists(ctx, stem, data);
  const expansions = compileExpansions(ctx, data);
  return Object.entries(data.intents).flatMap(([name, def]) => {
    const sentences: TemplateNode[] = [];
    const slots = new Map<string, string>();
    const used = new Map<string, SlotList>();
    def.sentences.forEach((src, i) => {
      const path = ['intents', name, 'sentences', i];
      const node = parseResolved(ctx, path, src, expansions);
      for (const [slot, listName] of slotsOf(node)) {
        const list = lists.get(listName);
        if (list === undefined) ctx.fail(path, `slot {${slot}} uses unknown list "${listName}"`);
        const before = slots.get(slot);
        if (before !== undefined && before !== listName) {
          ctx.fail(path, `slot {${slot}} uses list "${listName}" here and "${before}" elsewhere`);
        }
        slots.set(slot, listName);
        used.set(listName, list);
      }
      sentences.push(node);
    });
    const slotNames = new Set(slots.keys());
    if (def.readback) {
      checkPlaceholders(ctx, ['intents', name, 'readback'], def.readback, slotNames);
    }
    if (def.response) {
      checkPlaceholders(ctx, ['intents', name, 'response'], def.response,
        new Set([...slotNames, 'result']));
    }
    for (const slot of Object.keys(def.ask ?? {})) {
      if (!slotNames.has(slot)) {
        ctx.fail(['intents', name, 'ask', slot], `{${slot}} is not a slot of this intent`);
      }
    }
    const intent: CompiledIntent = {
      name,
      action: def.action ?? null,
      readback: def.readback ?? null,
      response: def.response ?? null,
      sentences,
      lists: used,
      slots,
      source: `${ctx.file}:${ctx.lineOf(['intents', name])}`,
      ask: new Map(Object.entries(def.ask ?? {}).map(([slot, a]) => [slot, a.question])),
    };
    if (def.answer_only) {
      if (def.action || def.ask) {
        ctx.fail(['intents', name], 'an answer_only intent has no action or ask');
      }
      return [{ ...intent, name: `${name}#answer`, answerFor: { intent: name, slot: 'answer' } }];
    }
    return [intent, ...answerIntents(ctx, intent, def, expansions)];
  });
}

interface LoadedFile {
  readonly ctx: FileContext;
  readonly language: string;
  readonly intents: CompiledIntent[];
}

async function loadFile(path: string): Promise<LoadedFile> {
  const { ctx, data } = await readYamlFile(path, fileSchema);
  const stem = basename(path, extname(path)).replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  return { ctx, language: data.language, intents: compileFile(ctx, stem, data) };
}

/** Reads and compiles every `*.yaml` / `*.yml` file in `dir` (not recursive). */
export async function compileIntentDir(dir: string): Promise<CompiledSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    throw new GatewayError('GW_INTENTS_INVALID', `cannot read intent directory ${dir}`,
      { cause: err });
  }
  if (names.length === 0) {
    throw new GatewayError('GW_INTENTS_INVALID', `no intent files (*.yaml) in ${dir}`);
  }
  if (names.length > MAX_INTENT_FILES) {
    throw new GatewayError('GW_INTENTS_INVALID',
      `${dir} holds ${names.length} intent files; the limit is ${MAX_INTENT_FILES}`);
  }
  let language: string | null = null;
  const intents: CompiledIntent[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = await loadFile(join(dir, name));
    if (language !== null && file.language !== language) {
      file.ctx.fail(['language'], `language "${file.language}" differs from "${language}"`
        + ' in the other files');
    }
    language = file.language;
    for (const intent of file.intents) {
      const other = seen.get(intent.name);
      if (other !== undefined) {
        file.ctx.fail(['intents', intent.name],
          `intent ${intent.name} is already defined at ${other}`);
      }
      seen.set(intent.name, intent.source);
      intents.push(intent);
    }
  }
  return { language: language ?? 'en', intents };
}
