import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { GatewayError } from '../errors.js';

/** Reports a problem at a YAML path, naming the file and the line (GW_INTENTS_INVALID). */
export class FileContext {
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

/**
 * Reads a YAML file and checks it against `schema`; any problem throws GW_INTENTS_INVALID
 * with `file:line:`. `label` is how the file is named in messages (default: its base name).
 */
export async function readYamlFile<S extends z.ZodType>(
  path: string,
  schema: S,
  label: string = basename(path),
): Promise<{ ctx: FileContext; data: z.infer<S> }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GatewayError('GW_INTENTS_INVALID', `${label}: cannot read the file`, { cause: err });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0].line ?? 1;
    const problem = first.message.split('\n')[0] ?? first.code;
    throw new GatewayError('GW_INTENTS_INVALID', `${label}:${line}: ${problem}`);
  }
  const ctx = new FileContext(label, doc, lines);
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path ?? [];
    // An unknown key is reported on its parent; point at the key itself.
    const key = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    ctx.fail(key === undefined ? at : [...at, key], issue?.message ?? 'invalid file');
  }
  return { ctx, data: parsed.data as z.infer<S> };
}
