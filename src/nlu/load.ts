import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { CompiledIntent, CompiledSet, ListValue, SlotList } from './model.js';
import { MAX_SPOKEN_NUMBER } from './numbers.js';
import {
  NAME_RE, TemplateSyntaxError, WORD_RE, parseTemplate, resolveRefs, slotsOf, type TemplateNode,
} from './template.js';

const INTENT_NAME_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ACTION_RE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const PLACEHOLDER_RE = /\{([^{}]*)\}/g;
/** Bound on files read from one directory, so a wrong path cannot make us parse a tree. */
export const MAX_INTENT_FILES = 64;

const spoken = z.string().min(1);
const valueSchema = z.union([
  spoken,
  z.strictObject({ in: spoken, out: z.union([spoken, z.int()]) }),
]);
const listSchema = z.union([
  z.strictObject({ values: z.array(valueSchema).min(1) }),
  z.strictObject({
    range: z.strictObject({
      from: z.int().min(0).max(MAX_SPOKEN_NUMBER),
      to: z.int().min(0).max(MAX_SPOKEN_NUMBER),
    }),
  }),
]);
const intentSchema = z.strictObject({
  action: z.string().regex(ACTION_RE, 'action must look like connector.action').nullish(),
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

/** Reports a problem at a YAML path, naming the file and the line. */
class FileContext {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line of the key (for map entries) or of the item (for sequence entries) at `path`. */
  lineOf(path: readonly PropertyKey[]): number {
    for (let n = path.length; n > 0; n -= 1) {
      const parent: unknown = this.doc.getIn(path.slice(0, n - 1) as unknown[], true);
      const key = path[n - 1];
      let start: number | undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
        start = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
      } else if (isSeq(parent) && typeof key === 'number') {
        const item: unknown = parent.items[key];
        start = (item as { range?: [number, number, number] } | undefined)?.range?.[0];
      }
      if (start !== undefined) return this.lines.linePos(start).line;
    }
    return 1;
  }

  fail(path: readonly PropertyKey[], problem: string): never {
    const where = path.length > 0 ? ` (at ${path.map(String).join('.')})` : '';
    throw new GatewayError(
      'GW_INTENTS_INVALID',
      `${this.file}:${this.lineOf(path)}: ${problem}${where}`,
    );
  }
}

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

function compileLists(ctx: FileContext, stem: string, data: IntentFile): Map<string, SlotList> {
  const lists = new Map<string, SlotList>();
  for (const [name, def] of Object.entries(data.lists ?? {})) {
    const id = `${stem}_${name}`;
    if ('range' in def) {
      if (def.range.from > def.range.to) {
        ctx.fail(['lists', name, 'range'], 'range from is above to');
      }
      lists.set(name, { kind: 'range', id, from: def.range.from, to: def.range.to });
      continue;
    }
    const values: ListValue[] = def.values.map((v, i) => {
      const phrase = typeof v === 'string' ? v : v.in;
      const ws = words(phrase);
      const bad = ws.find((w) => !WORD_RE.test(w));
      if (bad !== undefined) {
        ctx.fail(['lists', name, 'values', i], `"${bad}" is not a lower-case word`);
      }
      return { words: ws, out: typeof v === 'string' ? v : v.out };
    });
    lists.set(name, { kind: 'values', id, values });
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
  for (const m of template.matchAll(PLACEHOLDER_RE)) {
    const name = (m[1] ?? '').trim();
    if (!allowed.has(name)) ctx.fail(path, `placeholder {${name}} is not a slot of this intent`);
  }
}

function compileFile(ctx: FileContext, stem: string, data: IntentFile): CompiledIntent[] {
  const lists = compileLists(ctx, stem, data);
  const expansions = compileExpansions(ctx, data);
  return Object.entries(data.intents).map(([name, def]) => {
    const sentences: TemplateNode[] = [];
    const slots = new Map<string, string>();
    const used = new Map<string, SlotList>();
    def.sentences.forEach((src, i) => {
      const path = ['intents', name, 'sentences', i];
      let node = parseAt(ctx, path, src);
      try {
        node = resolveRefs(node, expansions);
      } catch (err) {
        if (err instanceof TemplateSyntaxError) ctx.fail(path, err.message);
        throw err;
      }
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
    return {
      name,
      action: def.action ?? null,
      readback: def.readback ?? null,
      response: def.response ?? null,
      sentences,
      lists: used,
      slots,
      source: `${ctx.file}:${ctx.lineOf(['intents', name])}`,
    };
  });
}

interface LoadedFile {
  readonly ctx: FileContext;
  readonly language: string;
  readonly intents: CompiledIntent[];
}

async function loadFile(path: string): Promise<LoadedFile> {
  const text = await readFile(path, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const file = basename(path);
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0].line ?? 1;
    const problem = first.message.split('\n')[0] ?? first.code;
    throw new GatewayError('GW_INTENTS_INVALID', `${file}:${line}: ${problem}`);
  }
  const ctx: FileContext = new FileContext(file, doc, lines);
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    // An unknown key is reported on its parent; point at the key itself.
    const key = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    ctx.fail(key === undefined ? path : [...path, key], issue?.message ?? 'invalid intent file');
  }
  const stem = basename(path, extname(path)).replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  return { ctx, language: parsed.data.language, intents: compileFile(ctx, stem, parsed.data) };
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
