// SRS's nginx-like config grammar: `name arg...;` and `name arg... { ... }`, `#` comments, quoted
// strings without escapes, `include FILE...;` at any level. The scanner follows SRS's
// SrsConfDirective::read_token character by character, so what SRS accepts we accept, and what it
// rejects (notably a directive running onto the next line) we reject with a location and a hint.

import * as path from 'node:path';
import { SrsError, SourceLocation } from '../errors';

export interface Directive {
  name: string;
  args: string[];
  /** null for `name args;`, an array (maybe empty) for `name args { ... }` */
  children: Directive[] | null;
  loc: SourceLocation;
}

/** Expand `$NAME` and `${NAME}` when NAME is set in env; leave anything else as written. */
export function expandVars(value: string, env: Record<string, string | undefined>): string {
  if (!value.includes('$')) return value;
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
    const v = env[braced ?? bare ?? ''];
    return v === undefined ? whole : v;
  });
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

  constructor(private readonly text: string, private readonly file: string) {}

  private here(): SourceLocation {
    return { file: this.file, line: this.line, col: this.col };
  }

  private fail(message: string, loc: SourceLocation = this.here()): never {
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', message, loc);
  }

  /** Read words up to `;`, `{`, `}` or the end of the file. */
  next(): Statement {
    const words: string[] = [];
    let first: SourceLocation | null = null;
    const t = this.text;
    // SRS checks for a newline before it stores the word that the newline ends, so a lone name may
    // be followed by its arguments or "{" on the next line (`http_api\n{`), nothing else may.
    let wordEndedByNewline = false;
    for (;;) {
      if (this.pos >= t.length) {
        if (words.length > 0) {
          this.fail(`unexpected end of file after "${words[0]}": expecting ";" or "{"`, first ?? this.here());
        }
        return { words, end: 'eof', loc: this.here() };
      }
      const ch = t[this.pos];
      const loc = this.here();
      if (ch === '\n') {
        const counted = words.length - (wordEndedByNewline ? 1 : 0);
        wordEndedByNewline = false;
        if (counted > 0) {
          // SRS: "line N: unexpected end of line to parse token NAME" (ParseInvalidEndOfLine).
          this.fail(
            `unexpected end of line to parse token ${words[0]}: arguments, ";" and "{" must be on the directive's line (is a ";" missing?)`,
            loc,
          );
        }
        this.advance();
        continue;
      }
      wordEndedByNewline = false;
      if (isSpace(ch)) {
        this.advance();
        continue;
      }
      if (ch === '#') {
        while (this.pos < t.length && t[this.pos] !== '\n') this.advance();
        continue;
      }
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
        while (this.pos < t.length && t[this.pos] !== ch && t[this.pos] !== '\n') this.advance();
        if (this.pos >= t.length || t[this.pos] === '\n') {
          this.fail(`unterminated quoted string (a quote must close on the same line)`, loc);
        }
        const word = t.slice(start, this.pos);
        this.advance(); // closing quote
        // SRS drops empty words, quoted or not.
        if (word !== '') words.push(word);
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
        this.advance();
      }
      words.push(t.slice(start, this.pos));
      wordEndedByNewline = t[this.pos] === '\n';
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
 * Values (not names) get `$NAME` expansion from env.
 */
export function parseText(text: string, file: string, env: Record<string, string | undefined> = {}): Directive[] {
  const scanner = new Scanner(text, file);
  const parseBlock = (opener: Directive | null): Directive[] => {
    const out: Directive[] = [];
    for (;;) {
      const st = scanner.next();
      if (st.end === 'eof') {
        if (opener) {
          throw new SrsError(
            'SRS_ERR_CONFIG_SYNTAX',
            `unexpected end of file: block "${opener.name}" opened here is not closed (missing "}")`,
            opener.loc,
          );
        }
        return out;
      }
      if (st.end === '}') {
        if (!opener) throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'unexpected "}": no block to close', st.loc);
        return out;
      }
      const [name, ...rest] = st.words;
      const d: Directive = { name, args: rest.map((a) => expandVars(a, env)), children: null, loc: st.loc };
      if (st.end === '{') {
        if (name === 'include') throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'include takes files, not a block', st.loc);
        d.children = parseBlock(d);
      } else if (name === 'include' && d.args.length === 0) {
        throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'include requires at least one file', st.loc);
      }
      out.push(d);
    }
  };
  return parseBlock(null);
}

export interface IncludeContext {
  cwd: string;
  env: Record<string, string | undefined>;
  readFile: (absPath: string) => string;
  /** parse a file's text (grammar or YAML, by name) */
  parse: (text: string, file: string) => Directive[];
  /**
   * Called with each file's own directives (includes not yet expanded) and the block path where
   * they land, before its includes are read: lets the caller report an unknown directive before a
   * missing include further down (document order).
   */
  onParsed?: (directives: Directive[], blockPath: readonly string[]) => void;
}

export interface SourceFile {
  /** absolute path */
  path: string;
  /** as written (-c argument or include argument), used in locations */
  shown: string;
  text: string;
}

/** Read a file and turn a failure into SRS_ERR_CONFIG_READ naming the path and errno. */
export function readSource(shown: string, ctx: IncludeContext, at?: SourceLocation): SourceFile {
  const abs = path.resolve(ctx.cwd, shown);
  try {
    return { path: abs, shown, text: ctx.readFile(abs) };
  } catch (e) {
    const errno = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : String(e);
    const what = at ? 'cannot read included file' : 'cannot read config file';
    throw new SrsError('SRS_ERR_CONFIG_READ', `${what} ${abs}: ${errno}`, at);
  }
}

/**
 * Parse a file and splice in its includes (paths relative to ctx.cwd, as SRS), recursively.
 * Returns the tree and every file read, in reading order (the first is the main file).
 */
export function parseWithIncludes(main: SourceFile, ctx: IncludeContext): { directives: Directive[]; sources: SourceFile[] } {
  const sources: SourceFile[] = [main];
  const expand = (src: SourceFile, stack: string[], blockPath: readonly string[]): Directive[] => {
    const own = ctx.parse(src.text, src.shown);
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
          const inc = readSource(f, ctx, d.loc);
          sources.push(inc);
          out.push(...expand(inc, [...stack, abs], bp));
        }
      }
      return out;
    };
    return walk(own, blockPath);
  };
  return { directives: expand(main, [main.path], []), sources };
}
