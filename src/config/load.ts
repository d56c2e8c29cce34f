// The one entry point: a file (SRS grammar, or YAML for .yaml/.yml) or the environment alone ->
// a validated SrsConfig, the warnings, and every file read with a hash of their texts (for the watcher).

import type Crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SrsError, srsError, SourceLocation } from '../errors';
import { applyEnvOverrides, envOnlyDefaults, mistypedVariables, type EnvOverride } from './env';
import { FileRefused, LIMITS, ParseBudget, parseText, parseWithIncludes, readSource, type Directive, type IncludeContext } from './grammar';
import { buildConfig, checkConfig, checkVocabulary, defaultConfig, envOnlyConfig, type ConfigWarning, type SrsConfig } from './schema';
import { applyVhostEnvOverrides } from './vhost';
import type * as YamlParser from './yaml';

export type { ConfigWarning } from './schema';
export type { EnvOverride } from './env';

export interface LoadOptions {
  file: string | null;
  envOnly?: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  /** default: readRegularFile */
  readFile?: (absPath: string) => string;
}

export interface LoadedConfig {
  config: SrsConfig;
  warnings: ConfigWarning[];
  /** absolute paths: the config and every included file, for the watcher */
  files: string[];
  envOverrides: EnvOverride[];
  /** the file as given, or '(environment)' */
  source: string;
  /** filesHash of the texts this load read: the watcher's baseline (computed when first read) */
  readonly filesHash: string;
}

/**
 * A hash of the files' contents as read now (through symlinks), or as given by `read`; what the
 * config watcher compares to decide whether anything really changed.
 */
export function filesHash(files: string[], read: (f: string) => string = (f) => readRegularFile(f)): string {
  // required here, not at load: node:crypto is a few ms of a start, and a start never needs it
  // before the sockets are bound (the watcher takes this hash after)
  const h = (require('node:crypto') as typeof Crypto).createHash('sha256');
  for (const f of files) {
    h.update(f).update('\0');
    try {
      h.update(read(f));
    } catch (e) {
      // a file caught between unlink and rename: hash the absence, the next event settles it
      h.update(`<unreadable ${(e as NodeJS.ErrnoException).code ?? ''}>`);
    }
    h.update('\0');
  }
  return h.digest('hex');
}

function describeType(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * A config file's text (UTF-8). Refuses (FileRefused) anything but a regular file of at most
 * maxBytes: `include /dev/zero;` or a FIFO would otherwise block or fill memory while the server
 * stops serving. Opened O_NONBLOCK so that opening a FIFO with no writer returns at once; type and
 * size come from fstat on the opened fd, so what was checked is what is read; a file that grows
 * past maxBytes while being read is refused too. Other failures are thrown with their errno.
 */
export function readRegularFile(absPath: string, maxBytes: number = LIMITS.maxFileBytes): string {
  const { O_RDONLY, O_NONBLOCK, O_NOCTTY } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(absPath, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  } catch (e) {
    // open(2) of a unix socket fails ENXIO
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new FileRefused('not a regular file (ENXIO: a socket?); srs reads configs only from regular files');
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new FileRefused(`not a regular file (${describeType(st)}); srs reads configs only from regular files`);
    if (st.size > maxBytes) throw new FileRefused(`${st.size} bytes, over the limit of ${maxBytes} bytes per file`);
    // read to EOF, not to st.size: /proc files say 0 and a file may change while read
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new FileRefused(`over the limit of ${maxBytes} bytes per file`);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Parse a config text by its file name: YAML for .yaml/.yml, SRS's grammar otherwise. */
export function parseConfigText(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
  depth = 0,
  budget: ParseBudget = new ParseBudget(),
): Directive[] {
  if (!isYamlFile(file)) return parseText(text, file, env, depth, budget);
  // the yaml library is loaded only for YAML configs: it would add ~25 ms to every start
  const { parseYaml } = require('./yaml') as typeof YamlParser;
  return parseYaml(text, file, env, depth, budget);
}

/** A LoadedConfig whose filesHash, over the texts already read, is computed when first read. */
function withLazyFilesHash(parts: Omit<LoadedConfig, 'filesHash'>, texts: Map<string, string>): LoadedConfig {
  let hash: string | undefined;
  return {
    ...parts,
    get filesHash(): string {
      return (hash ??= filesHash(parts.files, (f) => texts.get(f) ?? ''));
    },
  };
}

/** Load and validate; throws SrsError (with a location when there is one) on any error. */
export function loadConfig(opts: LoadOptions): LoadedConfig {
  const readFile = opts.readFile ?? ((p: string) => readRegularFile(p));
  // a mistyped SRS_* variable would otherwise be ignored without a word
  const warnings: ConfigWarning[] = mistypedVariables(opts.env);

  if (opts.envOnly || opts.file === null) {
    if (!opts.envOnly) throw new SrsError('SRS_ERR_USAGE', 'no config file given (use -c FILE, or -e for environment only)');
    // SRS adds __defaultVhost__ for -e, or every client would be refused "no vhost"
    const config = envOnlyConfig();
    envOnlyDefaults(config, opts.env);
    const envOverrides = applyEnvOverrides(config, opts.env);
    envOverrides.push(...applyVhostEnvOverrides(config, opts.env));
    checkConfig(config, undefined);
    return withLazyFilesHash({ config, warnings, files: [], envOverrides, source: '(environment)' }, new Map());
  }

  const file = opts.file;
  const ctx: IncludeContext = {
    cwd: opts.cwd,
    env: opts.env,
    readFile,
    parse: (text, shown, depth, budget) => parseConfigText(text, shown, opts.env, depth, budget),
    onParsed: (directives, blockPath) => checkVocabulary(directives, blockPath, warnings),
  };
  const main = readSource(file, ctx);
  const start: SourceLocation = { file, line: 1, col: 1 };
  const { directives, sources } = parseWithIncludes(main, ctx);
  if (directives.length === 0) {
    throw new SrsError('SRS_ERR_CONFIG_SYNTAX', 'config file is empty (no directives)', start);
  }
  if (path.basename(main.path) === 'full.conf') {
    throw srsError('SRS_ERR_CONFIG_REFUSED', { what: 'full.conf' }, start);
  }
  const isFull = directives.find((d) => d.name === 'is_full');
  if (isFull && isFull.args[0] === 'on') {
    throw srsError('SRS_ERR_CONFIG_REFUSED', { what: 'this config (is_full on: a copy of full.conf)' }, isFull.loc);
  }

  const { config, hasListen } = buildConfig(directives, warnings);
  const envOverrides = applyEnvOverrides(config, opts.env);
  envOverrides.push(...applyVhostEnvOverrides(config, opts.env));
  if (!hasListen && !envOverrides.some((o) => o.path === 'listen')) {
    throw srsError(
      'SRS_ERR_CONFIG_VALUE',
      { directive: 'listen', reason: 'required (SRS: "listen requires params"): add e.g. "listen 1935;" (is this a fragment meant to be included?)' },
      start,
    );
  }
  checkConfig(config, start);
  const files = [...new Set(sources.map((s) => s.path))];
  const texts = new Map(sources.map((src) => [src.path, src.text]));
  return withLazyFilesHash({ config, warnings, files, envOverrides, source: file }, texts);
}

/** Warnings logged per load: a config with 10,000 duplicate lines must not become 10,000 log lines. */
export const MAX_WARNINGS_SHOWN = 20;

/**
 * The warnings to show, and how many more there are (say that in one line: `srs -t` lists them all).
 * @param filter which warnings count at all (e.g. not the environment's, on a reload)
 */
export function warningsToShow(warnings: readonly ConfigWarning[], filter: (w: ConfigWarning) => boolean = () => true): { shown: ConfigWarning[]; more: number } {
  const all = warnings.filter(filter);
  return { shown: all.slice(0, MAX_WARNINGS_SHOWN), more: Math.max(0, all.length - MAX_WARNINGS_SHOWN) };
}
