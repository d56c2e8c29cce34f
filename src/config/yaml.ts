// YAML carries the same directive tree as SRS's grammar (conf/srs.yaml documents the mapping):
//   name: value            -> name value;          (true/false -> on/off, null -> no argument)
//   name: [a, b]           -> name a b;
//   name: { ... }          -> name { ... }
//   vhost: { NAME: {...} } -> vhost NAME { ... }   (vhost and ingest always take a name)
//   "name arg": ...        -> arguments may also be written in the key: "transcode live": {...}
//   name: [ {...}, {...} ] -> the directive repeated, once per element (stream_caster, allow, ...)
// Locations are the key's line and column. Only `candidate` sees the environment, as in the grammar.
// The same LIMITS as the grammar hold: block depth (from the include site) and directive count.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { SrsError, SourceLocation } from '../errors';
import { expandArgs, ParseBudget, type Directive } from './grammar';

/** Blocks whose map keys are their names (`vhost: { __defaultVhost__: {...} }`). */
const NAMED_BLOCKS: ReadonlySet<string> = new Set(['vhost', 'ingest']);

/**
 * Refuse a text nested deeper than maxDepth before the yaml library sees it: it composes nested
 * nodes recursively, and 8,000 levels take it over a second to end in "Maximum call stack size
 * exceeded". A linear scan, deliberately coarse (it may count a bracket inside a plain scalar, so
 * a real config has at most a few more levels than it counts): flow brackets outside quotes and
 * comments, and block levels as a stack of indentations ("- " items count one level each).
 */
function checkYamlDepth(text: string, file: string, maxDepth: number): void {
  const refuse = (line: number, col: number): never => {
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `YAML: nested deeper than the limit of ${maxDepth} levels`, { file, line, col });
  };
  const indents: number[] = [];
  let flow = 0;
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < text.length) {
    // start of a line: block nesting, unless inside a flow collection
    if (flow === 0) {
      let j = i;
      while (text[j] === ' ') j++;
      let level = j - i;
      if (j < text.length && text[j] !== '\n' && text[j] !== '#' && text[j] !== '\r') {
        while (indents.length > 0 && indents[indents.length - 1] >= level) indents.pop();
        indents.push(level);
        // "- - - x": each dash opens one more level
        while (text[j] === '-' && (text[j + 1] === ' ' || text[j + 1] === '\n')) {
          j++;
          while (text[j] === ' ') j++;
          level = j - i;
          indents.push(level);
        }
        if (indents.length > maxDepth) refuse(line, j - i + 1);
      }
    }
    // the rest of the line: flow brackets outside quotes and comments
    let quote = '';
    for (; i < text.length && text[i] !== '\n'; i++) {
      const c = text[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === lineStart || text[i - 1] === ' ' || text[i - 1] === '\t')) {
        while (i < text.length && text[i] !== '\n') i++;
        break;
      } else if (c === '{' || c === '[') {
        if (++flow > maxDepth) refuse(line, i - lineStart + 1);
      } else if ((c === '}' || c === ']') && flow > 0) flow--;
    }
    i++;
    line++;
    lineStart = i;
  }
}

/**
 * A YAML config's directive tree. depth: the block depth of the include site (0 for a main file);
 * budget: shared by every file of a load. Throws SrsError SRS_ERR_CONFIG_SYNTAX, located.
 */
export function parseYaml(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
  depth = 0,
  budget: ParseBudget = new ParseBudget(),
): Directive[] {
  const limits = budget.limits;
  const lineCounter = new LineCounter();
  checkYamlDepth(text, file, limits.maxDepth);
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    // the yaml library composes nested nodes recursively: thousands of levels exhaust the stack
    // before our own depth limit can see them
    if (e instanceof RangeError) {
      throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `YAML: nested too deeply to read (the limit is ${limits.maxDepth} levels)`, { file, line: 1, col: 1 });
    }
    throw e;
  }
  const locAt = (offset: number | undefined): SourceLocation => {
    const p = lineCounter.linePos(offset ?? 0);
    return { file, line: p.line, col: p.col };
  };
  const fail = (message: string, node: Node | null | undefined): never => {
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', message, locAt(node?.range?.[0]));
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const loc: SourceLocation = pos ? { file, line: pos.line, col: pos.col } : locAt(e.pos[0]);
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `YAML: ${e.message.split('\n')[0]}`, loc);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'config file is empty', { file, line: 1, col: 1 });
  }
  if (!isMap(root)) return fail('YAML: the document must be a map of directives', root);

  /** A scalar's text as SRS would read it, or null for "no argument". */
  const scalarArg = (n: Node): string | null => {
    if (!isScalar(n)) return fail('YAML: expected a value here', n);
    const v = n.value;
    if (v === null) return null;
    if (v === true) return 'on';
    if (v === false) return 'off';
    if (typeof v === 'number' && n.type === 'PLAIN' && n.range) {
      return text.slice(n.range[0], n.range[1]).trim(); // keep 1.0 as written
    }
    return String(v);
  };
  const argsOf = (n: Node): string[] => {
    if (isSeq(n)) {
      return n.items.map((it) => {
        const a = scalarArg(it as Node);
        return a === null ? fail('YAML: a list of arguments cannot hold null', it as Node) : a;
      });
    }
    const a = scalarArg(n);
    return a === null ? [] : [a];
  };

  const fromMap = (map: Node, level: number): Directive[] => {
    if (!isMap(map)) return fail('YAML: expected a map of directives', map);
    if (depth + level > limits.maxDepth) return fail(`YAML: blocks nested deeper than the limit of ${limits.maxDepth} levels`, map);
    const out: Directive[] = [];
    for (const pair of map.items as Pair<Node, Node | null>[]) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string' || key.value.trim() === '') {
        return fail('YAML: a directive name must be a plain string', key);
      }
      const [name, ...keyArgs] = key.value.trim().split(/\s+/);
      for (const d of directivesFor(name, keyArgs, pair.value, locAt(key.range?.[0]), level)) {
        if (++budget.directives > limits.maxDirectives) {
          throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `more than ${limits.maxDirectives} directives (the limit of one config, includes counted)`, d.loc);
        }
        out.push(d);
      }
    }
    return out;
  };

  const directivesFor = (name: string, keyArgs: string[], value: Node | null, loc: SourceLocation, level: number): Directive[] => {
    const make = (args: string[], children: Directive[] | null): Directive => ({
      name,
      args: expandArgs(name, args, env),
      children,
      loc,
    });
    if (value === null) return [make(keyArgs, NAMED_BLOCKS.has(name) && keyArgs.length > 0 ? [] : null)];
    if (NAMED_BLOCKS.has(name) && keyArgs.length === 0 && isMap(value)) {
      // vhost: { a.com: {...}, b.com: {...} }
      return (value.items as Pair<Node, Node | null>[]).map((p) => {
        const k = p.key;
        if (!isScalar(k) || k.value === null) return fail(`YAML: a ${name} name must be a string`, k);
        const children = p.value === null || (isScalar(p.value) && p.value.value === null) ? [] : fromMap(p.value, level + 1);
        return { name, args: [String(k.value)], children, loc: locAt(k.range?.[0]) };
      });
    }
    if (isMap(value)) return [make(keyArgs, fromMap(value, level + 1))];
    if (isSeq(value) && value.items.some((it) => isMap(it) || isSeq(it))) {
      // a repeated directive: one per element
      return value.items.flatMap((it) => {
        if (depth + level + 1 > limits.maxDepth) return fail(`YAML: lists nested deeper than the limit of ${limits.maxDepth} levels`, it as Node);
        return directivesFor(name, keyArgs, it as Node, loc, level + 1);
      });
    }
    return [make([...keyArgs, ...argsOf(value)], null)];
  };

  return fromMap(root, 0);
}
