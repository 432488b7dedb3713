/**
 * Parser for sentence templates: `(a | b)` alternatives, `[optional words]`,
 * `{slot}` or `{slot:list}`, `<expansion>`, and plain lower-case words.
 */

export type TemplateNode =
  | { readonly t: 'word'; readonly word: string }
  | { readonly t: 'seq'; readonly items: readonly TemplateNode[] }
  | { readonly t: 'alt'; readonly options: readonly TemplateNode[] }
  | { readonly t: 'opt'; readonly node: TemplateNode }
  | { readonly t: 'slot'; readonly name: string; readonly list: string }
  | { readonly t: 'ref'; readonly name: string };

/** A problem in one template string; `column` is 1-based within the template. */
export class TemplateSyntaxError extends Error {
  readonly column: number;
  constructor(message: string, column: number) {
    super(message);
    this.name = 'TemplateSyntaxError';
    this.column = column;
  }
}

/** Words as the recogniser's dictionary spells them: lower case letters and apostrophes. */
export const WORD_RE = /^[a-z][a-z']*$/;
export const NAME_RE = /^[a-z][a-z0-9_]*$/;

type Tok =
  | { readonly k: 'open' | 'close' | 'oopen' | 'oclose' | 'bar'; readonly at: number }
  | { readonly k: 'word'; readonly text: string; readonly at: number }
  | { readonly k: 'slot'; readonly name: string; readonly list: string; readonly at: number }
  | { readonly k: 'ref'; readonly name: string; readonly at: number };

const PUNCT: Record<string, 'open' | 'close' | 'oopen' | 'oclose' | 'bar'> = {
  '(': 'open', ')': 'close', '[': 'oopen', ']': 'oclose', '|': 'bar',
};

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) { i += 1; continue; }
    const p = PUNCT[c];
    if (p !== undefined) { toks.push({ k: p, at: i }); i += 1; continue; }
    if (c === '{' || c === '<') {
      const end = src.indexOf(c === '{' ? '}' : '>', i);
      if (end === -1) throw new TemplateSyntaxError(`unclosed "${c}"`, i + 1);
      const inner = src.slice(i + 1, end).trim();
      if (c === '<') {
        if (!NAME_RE.test(inner)) {
          throw new TemplateSyntaxError(`bad expansion name "${inner}"`, i + 1);
        }
        toks.push({ k: 'ref', name: inner, at: i });
      } else {
        const [name = '', list = name, extra] = inner.split(':').map((s) => s.trim());
        if (extra !== undefined || !NAME_RE.test(name) || !NAME_RE.test(list)) {
          throw new TemplateSyntaxError(`bad slot "{${inner}}"`, i + 1);
        }
        toks.push({ k: 'slot', name, list, at: i });
      }
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < src.length && !/[\s()[\]|{}<>]/.test(src[j] ?? '')) j += 1;
    const text = src.slice(i, j);
    if (!WORD_RE.test(text)) {
      throw new TemplateSyntaxError(
        `"${text}" is not a word (lower-case letters and apostrophes only; numbers go in ranges)`,
        i + 1,
      );
    }
    toks.push({ k: 'word', text, at: i });
    i = j;
  }
  return toks;
}

class Parser {
  private pos = 0;
  constructor(private readonly toks: readonly Tok[], private readonly length: number) {}

  parseAll(): TemplateNode {
    const node = this.expr();
    const tok = this.toks[this.pos];
    if (tok !== undefined) throw new TemplateSyntaxError(`unexpected "${show(tok)}"`, tok.at + 1);
    return node;
  }

  private expr(): TemplateNode {
    const options = [this.seq()];
    while (this.toks[this.pos]?.k === 'bar') {
      this.pos += 1;
      options.push(this.seq());
    }
    return options.length === 1 ? (options[0] as TemplateNode) : { t: 'alt', options };
  }

  private seq(): TemplateNode {
    const items: TemplateNode[] = [];
    const startAt = this.toks[this.pos]?.at ?? this.length;
    for (;;) {
      const tok = this.toks[this.pos];
      if (tok === undefined || tok.k === 'bar' || tok.k === 'close' || tok.k === 'oclose') break;
      this.pos += 1;
      if (tok.k === 'word') items.push({ t: 'word', word: tok.text });
      else if (tok.k === 'slot') items.push({ t: 'slot', name: tok.name, list: tok.list });
      else if (tok.k === 'ref') items.push({ t: 'ref', name: tok.name });
      else items.push(this.group(tok));
    }
    if (items.length === 0) {
      throw new TemplateSyntaxError('empty alternative or group', startAt + 1);
    }
    return items.length === 1 ? (items[0] as TemplateNode) : { t: 'seq', items };
  }

  private group(open: Tok): TemplateNode {
    const want = open.k === 'open' ? 'close' : 'oclose';
    if (open.k !== 'open' && open.k !== 'oopen') {
      throw new TemplateSyntaxError(`unexpected "${show(open)}"`, open.at + 1);
    }
    const inner = this.expr();
    const tok = this.toks[this.pos];
    if (tok?.k !== want) {
      throw new TemplateSyntaxError(`"${show(open)}" is not closed`, open.at + 1);
    }
    this.pos += 1;
    return want === 'close' ? inner : { t: 'opt', node: inner };
  }
}

function show(tok: Tok): string {
  switch (tok.k) {
    case 'word': return tok.text;
    case 'slot': return `{${tok.name}}`;
    case 'ref': return `<${tok.name}>`;
    default: return Object.keys(PUNCT).find((key) => PUNCT[key] === tok.k) ?? '?';
  }
}

/** Parses one template; throws TemplateSyntaxError. */
export function parseTemplate(src: string): TemplateNode {
  return new Parser(lex(src), src.length).parseAll();
}

/** Replaces `<name>` references by their parsed expansions; detects cycles. */
export function resolveRefs(
  node: TemplateNode,
  expansions: ReadonlyMap<string, TemplateNode>,
  seen: readonly string[] = [],
): TemplateNode {
  switch (node.t) {
    case 'word':
    case 'slot':
      return node;
    case 'seq':
      return { t: 'seq', items: node.items.map((n) => resolveRefs(n, expansions, seen)) };
    case 'alt':
      return { t: 'alt', options: node.options.map((n) => resolveRefs(n, expansions, seen)) };
    case 'opt':
      return { t: 'opt', node: resolveRefs(node.node, expansions, seen) };
    case 'ref': {
      if (seen.includes(node.name)) {
        throw new TemplateSyntaxError(`expansion <${node.name}> refers to itself`, 1);
      }
      const target = expansions.get(node.name);
      if (target === undefined) {
        throw new TemplateSyntaxError(`unknown expansion <${node.name}>`, 1);
      }
      return resolveRefs(target, expansions, [...seen, node.name]);
    }
  }
}

/** Slot names a template binds, in order of appearance. */
export function slotsOf(
  node: TemplateNode,
  out: Map<string, string> = new Map(),
): Map<string, string> {
  switch (node.t) {
    case 'slot': out.set(node.name, node.list); break;
    case 'seq': node.items.forEach((n) => slotsOf(n, out)); break;
    case 'alt': node.options.forEach((n) => slotsOf(n, out)); break;
    case 'opt': slotsOf(node.node, out); break;
    default: break;
  }
  return out;
}
