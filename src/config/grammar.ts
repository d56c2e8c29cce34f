// SRS's nginx-like config grammar: `name arg...;` and `name arg... { ... }`, `#` comments, quoted
// strings without escapes, `include FILE...;` at any level. The scanner follows SRS's
// SrsConfDirective::read_token character by character, so what SRS accepts we accept, and what it
// rejects (notably a directive running onto the next line) we reject with a location and a hint.

import * as path from 'node:path';
import { SrsError, srsError, SourceLocation } from '../errors';

export interface Directive {
  name: string;
  args: string[];
  /** null for `name args;`, an array (maybe empty) for `name args { ... }` */
  children: Directive[] | null;
  loc: SourceLocation;
}

/**
 * Limits on what a config may ask of the parser, so that no file (a hostile include, a generated
 * file gone wrong) can stall a start or a reload: each refusal is an SrsError naming file:line:col
 * and the limit. SRS has none of these; its real configs stay far below them (full.conf: 727
 * directives, blocks 4 deep, names up to 26 characters, arguments up to 83).
 */
export const LIMITS = {
  /** bytes of one config or included file */
  maxFileBytes: 4 * 1024 * 1024,
  /** bytes of every file of one load together */
  maxTotalBytes: 16 * 1024 * 1024,
  /** blocks nested in blocks, counted across includes */
  maxDepth: 64,
  /** directives of one load, every file together */
  maxDirectives: 100_000,
  /** files read by `include` in one load, a file included twice counted twice */
  maxIncludedFiles: 256,
  /** includes nested in included files */
  maxIncludeDepth: 16,
  /** characters of a directive name */
  maxNameLength: 128,
  /** characters of one argument */
  maxArgLength: 16 * 1024,
} as const;

/**
 * What one load has used of LIMITS, shared by every file it parses. depth is the block depth
 * where the file being parsed is included (0 for the main file).
 */
export class ParseBudget {
  directives = 0;
  includedFiles = 0;
  bytes = 0;
  constructor(readonly limits: typeof LIMITS = LIMITS) {}
}

/**
 * SRS expands the environment in one place only: the `candidate` of rtc_server and of
 * stream_caster's sip (SrsConfig::get_rtc_server_candidates, get_stream_caster_sip_candidate):
 * an argument `$NAME` is replaced by the variable NAME (upper-cased, dots to `_`, as srs_getenv),
 * and by SRS's default "*" when that variable is unset or empty. Every other value is literal
 * (`password "pa$HOME";` is the password "pa$HOME").
 */
export function expandCandidate(value: string, env: Record<string, string | undefined>): string {
  if (!value.startsWith('$')) return value;
  const name = value.slice(1).toUpperCase().replace(/\./g, '_');
  if (name === '') return value;
  const v = env[name];
  return v === undefined || v === '' ? '*' : v;
}

/** A directive's arguments as SRS reads them: only `candidate` sees the environment. */
export function expandArgs(name: string, args: string[], env: Record<string, string | undefined>): string[] {
  return name === 'candidate' ? args.map((a) => expandCandidate(a, env)) : args;
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

type End = ';' | '{' | '}' | 'eof';
interface Statement {
  words: string[];
  end: End;
  /** where the first word starts, or where the terminator is when there are no words */
  loc: SourceLocation;
}

/** One file's scanner (SRS: SrsConfigBuffer + read_token). */
class Scanner {
  private pos = 0;
  private line = 1;
  private col = 1;

  constructor(private readonly text: string, private readonly file: string, private readonly limits: typeof LIMITS) {}

  private here(): SourceLocation {
    return { file: this.file, line: this.line, col: this.col };
  }

  private fail(message: string, loc: SourceLocation = this.here()): never {
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', message, loc);
  }

  /** SRS's ParseInvalidEndOfLine: a directive's words must all be on its first line. */
  private endOfLine(words: readonly string[], loc: SourceLocation): never {
    return this.fail(
      `unexpected end of line to parse token ${words[0]}: a directive, its arguments and its ";" or "{" must be on one line (is a ";" missing?)`,
      loc,
    );
  }

  private push(words: string[], word: string, loc: SourceLocation): void {
    const isName = words.length === 0;
    const max = isName ? this.limits.maxNameLength : this.limits.maxArgLength;
    if (word.length > max) {
      this.fail(`${isName ? 'directive name' : 'argument'} of ${word.length} characters: over the limit of ${max}`, loc);
    }
    words.push(word);
  }

  /** Read words up to `;`, `{`, `}` or the end of the file. */
  next(): Statement {
    const words: string[] = [];
    let first: SourceLocation | null = null;
    const t = this.text;
    for (;;) {
      if (this.pos >= t.length) {
        if (words.length > 0) {
          this.fail(`unexpected end of file after "${words[0]}": expecting ";" or "{"`, first ?? this.here());
        }
        return { words, end: 'eof', loc: this.here() };
      }
      const ch = t[this.pos];
      // SRS (since 6.0.135, #4042) ends a directive at any LF or CR: a name with its arguments or
      // its "{" on the next line (`listen\n 1935;`, `http_api\n{`) is refused, as is a missing ";".
      if (ch === '\n' || ch === '\r') {
        if (words.length > 0) this.endOfLine(words, this.here());
        this.advance();
        continue;
      }
      if (ch === ' ' || ch === '\t') {
        this.pos++;
        this.col++;
        continue;
      }
      if (ch === '#') {
        while (this.pos < t.length && t[this.pos] !== '\n' && t[this.pos] !== '\r') {
          this.pos++;
          this.col++;
        }
        continue;
      }
      const loc = this.here();
      if (ch === ';' || ch === '{' || ch === '}') {
        if (ch === ';' && words.length === 0) this.fail('unexpected ";": a directive needs a name', loc);
        if (ch === '{' && words.length === 0) this.fail('unexpected "{": a block needs a name', loc);
        if (ch === '}' && words.length > 0) {
          this.fail(`unexpected "}" after "${words.join(' ')}" (is a ";" missing?)`, loc);
        }
        this.advance();
        return { words, end: ch, loc: first ?? loc };
      }
      if (first === null) first = loc;
      if (ch === '"' || ch === "'") {
        this.advance();
        const start = this.pos;
        while (this.pos < t.length && t[this.pos] !== ch && t[this.pos] !== '\n' && t[this.pos] !== '\r') this.advance();
        if (this.pos < t.length && t[this.pos] !== ch && words.length > 0) this.endOfLine(words, this.here());
        if (this.pos >= t.length || t[this.pos] !== ch) {
          this.fail(`unterminated quoted string (a quote must close on the same line)`, loc);
        }
        const word = t.slice(start, this.pos);
        this.advance(); // closing quote
        // SRS drops empty words, quoted or not.
        if (word !== '') this.push(words, word, loc);
        // SRS: after a closing quote comes a space, ";" or "{".
        if (this.pos < t.length) {
          const after = t[this.pos];
          if (!isSpace(after) && after !== ';' && after !== '{') {
            this.fail(`unexpected "${after}" after a quoted string`);
          }
        }
        continue;
      }
      // A bare word runs to a space, ";" or "{" (SRS: "}" and "#" inside a word are part of it).
      const start = this.pos;
      while (this.pos < t.length) {
        const c = t[this.pos];
        if (isSpace(c) || c === ';' || c === '{') break;
        this.pos++;
      }
      // a bare word holds no newline: its end is on its line
      this.col += this.pos - start;
      this.push(words, t.slice(start, this.pos), loc);
    }
  }

  private advance(): void {
    if (this.text[this.pos] === '\n') {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    this.pos++;
  }
}

/**
 * Parse one file's text into directives, `include` directives kept as they are (no I/O here).
 * Only `candidate` arguments see env (expandArgs). depth is the block depth of the include site
 * (0 for a main file); budget counts directives across every file of a load. Iterative, not
 * recursive per block, so nesting costs no stack. Throws SrsError SRS_ERR_CONFIG_SYNTAX, located.
 */
export function parseText(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
  depth = 0,
  budget: ParseBudget = new ParseBudget(),
): Directive[] {
  const limits = budget.limits;
  const scanner = new Scanner(text, file, limits);
  const root: Directive[] = [];
  const open: Directive[] = [];
  for (;;) {
    const st = scanner.next();
    const opener = open.length > 0 ? open[open.length - 1] : null;
    if (st.end === 'eof') {
      if (opener) {
        throw new SrsError(
          'SRS_ERR_CONFIG_SYNTAX',
          `unexpected end of file: block "${opener.name}" opened here is not closed (missing "}")`,
          opener.loc,
        );
      }
      return root;
    }
    if (st.end === '}') {
      if (!opener) throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'unexpected "}": no block to close', st.loc);
      open.pop();
      continue;
    }
    if (++budget.directives > limits.maxDirectives) {
      throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `more than ${limits.maxDirectives} directives (the limit of one config, includes counted)`, st.loc);
    }
    const name = st.words[0];
    const d: Directive = { name, args: expandArgs(name, st.words.slice(1), env), children: null, loc: st.loc };
    (opener ? (opener.children as Directive[]) : root).push(d);
    if (st.end === '{') {
      if (name === 'include') throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'include takes files, not a block', st.loc);
      if (depth + open.length + 1 > limits.maxDepth) {
        throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `block "${name}" nested deeper than the limit of ${limits.maxDepth} levels`, st.loc);
      }
      d.children = [];
      open.push(d);
    } else if (name === 'include' && d.args.length === 0) {
      throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'include requires at least one file', st.loc);
    }
  }
}

export interface IncludeContext {
  cwd: string;
  env: Record<string, string | undefined>;
  /** a file's text; throws an errno error, or FileRefused for a file srs will not read */
  readFile: (absPath: string) => string;
  /** parse a file's text (grammar or YAML, by name) included at block depth `depth` */
  parse: (text: string, file: string, depth: number, budget: ParseBudget) => Directive[];
  /**
   * Called with each file's own directives (includes not yet expanded) and the block path where
   * they land, before its includes are read: lets the caller report an unknown directive before a
   * missing include further down (document order).
   */
  onParsed?: (directives: Directive[], blockPath: readonly string[]) => void;
  /** default: a fresh ParseBudget over LIMITS */
  budget?: ParseBudget;
}

export interface SourceFile {
  /** absolute path */
  path: string;
  /** as written (-c argument or include argument), used in locations */
  shown: string;
  text: string;
}

/** Thrown by a reader for a file it will not read (not a regular file, too large); the message says why. */
export class FileRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FileRefused';
  }
}

/**
 * Read a file and turn a failure into SRS_ERR_CONFIG_READ naming the path and errno (or the
 * reason it was refused), located at the include when there is one.
 */
export function readSource(shown: string, ctx: IncludeContext, at?: SourceLocation): SourceFile {
  const abs = path.resolve(ctx.cwd, shown);
  const what = at ? 'cannot read included file' : 'cannot read config file';
  let text: string;
  try {
    text = ctx.readFile(abs);
  } catch (e) {
    const why = e instanceof FileRefused ? e.message : e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : String(e);
    throw srsError('SRS_ERR_CONFIG_READ', { what, path: abs, reason: why }, at);
  }
  const max = (ctx.budget ?? new ParseBudget()).limits.maxFileBytes;
  if (text.length > max) throw srsError('SRS_ERR_CONFIG_READ', { what, path: abs, reason: `larger than the limit of ${max} bytes` }, at);
  return { path: abs, shown, text };
}

/**
 * Parse a file and splice in its includes (paths relative to ctx.cwd, as SRS), recursively (one
 * level of recursion per include level, bounded by LIMITS.maxIncludeDepth).
 * Returns the tree and every file read, in reading order (the first is the main file).
 * Throws SrsError: syntax (located), a read failure or a limit (located at the include).
 */
export function parseWithIncludes(main: SourceFile, ctx: IncludeContext): { directives: Directive[]; sources: SourceFile[] } {
  const budget = (ctx.budget ??= new ParseBudget());
  const limits = budget.limits;
  const sources: SourceFile[] = [main];
  budget.bytes += main.text.length;
  const expand = (src: SourceFile, stack: string[], blockPath: readonly string[]): Directive[] => {
    const own = ctx.parse(src.text, src.shown, blockPath.length, budget);
    ctx.onParsed?.(own, blockPath);
    const walk = (list: Directive[], bp: readonly string[]): Directive[] => {
      const out: Directive[] = [];
      for (const d of list) {
        if (d.name !== 'include') {
          if (d.children) d.children = walk(d.children, [...bp, d.name]);
          out.push(d);
          continue;
        }
        for (const f of d.args) {
          const abs = path.resolve(ctx.cwd, f);
          if (stack.includes(abs)) {
            const chain = [...stack, abs].map((p) => path.relative(ctx.cwd, p) || p).join(' -> ');
            throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `include cycle: ${chain}`, d.loc);
          }
          if (stack.length > limits.maxIncludeDepth) {
            throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `include ${f}: includes nested deeper than the limit of ${limits.maxIncludeDepth}`, d.loc);
          }
          if (++budget.includedFiles > limits.maxIncludedFiles) {
            throw new SrsError('SRS_ERR_CONFIG_SYNTAX', `include ${f}: more than ${limits.maxIncludedFiles} included files (the limit of one config)`, d.loc);
          }
          const inc = readSource(f, ctx, d.loc);
          budget.bytes += inc.text.length;
          if (budget.bytes > limits.maxTotalBytes) {
            throw srsError('SRS_ERR_CONFIG_READ', { what: 'include', path: f, reason: `the config and its includes are over the limit of ${limits.maxTotalBytes} bytes together` }, d.loc);
          }
          sources.push(inc);
          // one by one: spreading a large array into push() would overflow the stack
          for (const x of expand(inc, [...stack, abs], bp)) out.push(x);
        }
      }
      return out;
    };
    return walk(own, blockPath);
  };
  return { directives: expand(main, [main.path], []), sources };
}
