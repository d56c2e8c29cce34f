// The typed config: SRS's lifecycle directives with SRS's defaults, the vocabulary check (unknown
// vs unsupported), and value validation; the vhosts' media settings are built by vhost.ts.
// Pure: takes a directive tree, returns a config and warnings.

import { suggest } from './suggest';
import * as net from 'node:net';
import { srsError, renderMessage, SourceLocation, type WarningCode } from '../errors';
import type { Directive } from './grammar';
import { FREE_FORM_BLOCKS, SRS_VOCABULARY } from './vocabulary';
import { buildVhost, CHUNK_SIZE_DEFAULT, DEFAULT_VHOST, defaultVhostConfig, CHUNK_SIZE_MAX, CHUNK_SIZE_MIN, integerIn, VHOST_IMPLEMENTED, type VhostConfig } from './vhost';

export interface ListenAddress {
  host: string | null;
  port: number;
  /** "[ip:]port", IPv6 as [::1]:1935 */
  text: string;
}
export type LogLevel = 'verbose' | 'info' | 'trace' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['verbose', 'info', 'trace', 'warn', 'error'];

export interface SrsConfig {
  listen: ListenAddress[];
  maxConnections: number;
  daemon: boolean;
  disableDaemonForDocker: boolean;
  inDocker: boolean;
  /** as written; resolving against cwd is the caller's job */
  pid: string;
  logTank: 'console' | 'file';
  logFile: string;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
  workDir: string;
  asprocess: boolean;
  /** ms */
  graceStartWait: number;
  /** ms */
  graceFinalWait: number;
  /** ms, hard bound on the graceful drain; 0 = unbounded */
  graceMaxWait: number;
  forceGraceQuit: boolean;
  inotifyAutoReload: boolean;
  autoReloadForDocker: boolean;
  httpApi: {
    enabled: boolean;
    listen: ListenAddress;
    /** CORS headers on the API's answers (SRS's default on), so browser dashboards can read it */
    crossdomain: boolean;
    rawApi: { enabled: boolean; allowReload: boolean };
    auth: { enabled: boolean; username: string; password: string };
  };
  httpServer: { enabled: boolean; listen: ListenAddress; dir: string };
  /**
   * SRS's Prometheus exporter: /metrics alone on its own port, open to scrapers (the API's port
   * keeps /metrics behind the API's auth). label and tag mark this server in srs_build_info.
   */
  exporter: { enabled: boolean; listen: ListenAddress; label: string; tag: string };
  /** bytes, the RTMP chunk size srs sends with (128..65536); a vhost's chunk_size overrides it */
  chunkSize: number;
  /** the vhost names, in file order (a repeated name once) */
  vhosts: string[];
  /** the vhosts' settings, same order; read them through mediaSettingsFor (vhost.ts) */
  vhostConfigs: VhostConfig[];
}

export interface ConfigWarning {
  /**
   * The catalogue's code (src/errors.ts): SRS_WARN_CONFIG_UNSUPPORTED (SRS knows it, srs ignores
   * it), _DUPLICATE (a later copy is ignored), _CLAMPED (mw_msgs lowered to 128, as SRS does),
   * _SHADOWED (an allow rule a deny rule always beats), SRS_WARN_ENV_UNKNOWN (a mistyped variable)
   */
  code: WarningCode;
  message: string;
  location?: SourceLocation;
}

/** Parse "[ip:]port" (IPv6 as "[::1]:1935"); null when it is not one. */
export function parseListenAddress(text: string): ListenAddress | null {
  let host: string | null = null;
  let portText = text;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (v6) {
    if (!net.isIPv6(v6[1])) return null;
    host = v6[1];
    portText = v6[2];
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (!net.isIPv4(host)) return null;
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  const shown = host === null ? `${port}` : net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, text: shown };
}

function listenOf(text: string): ListenAddress {
  const a = parseListenAddress(text);
  if (!a) throw new Error(`bad built-in listen ${text}`);
  return a;
}

export const DEFAULTS: SrsConfig = {
  listen: [listenOf('1935')],
  maxConnections: 1000,
  daemon: true,
  disableDaemonForDocker: true,
  inDocker: false,
  pid: './objs/srs.pid',
  logTank: 'file',
  logFile: './objs/srs.log',
  logLevel: 'trace',
  logFormat: 'text',
  workDir: './',
  asprocess: false,
  graceStartWait: 2300,
  graceFinalWait: 3200,
  graceMaxWait: 0,
  forceGraceQuit: false,
  inotifyAutoReload: false,
  autoReloadForDocker: true,
  httpApi: {
    enabled: false,
    listen: listenOf('1985'),
    crossdomain: true,
    rawApi: { enabled: false, allowReload: false },
    auth: { enabled: false, username: '', password: '' },
  },
  httpServer: { enabled: false, listen: listenOf('8080'), dir: './objs/nginx/html' },
  exporter: { enabled: false, listen: listenOf('9972'), label: '', tag: '' },
  chunkSize: CHUNK_SIZE_DEFAULT,
  vhosts: [],
  vhostConfigs: [],
};

/** A deep copy of the defaults, safe to mutate. */
export function defaultConfig(): SrsConfig {
  return structuredClone(DEFAULTS);
}

/**
 * The config of `srs -e` (no file): the defaults plus `vhost __defaultVhost__;`, as SRS's
 * parse_options adds it when the environment is the only source; without it every client would
 * be refused ("no vhost").
 */
export function envOnlyConfig(): SrsConfig {
  const c = defaultConfig();
  c.vhosts.push(DEFAULT_VHOST);
  c.vhostConfigs.push(defaultVhostConfig(DEFAULT_VHOST));
  return c;
}

// ---------------------------------------------------------------------------------------------
// The directives srs implements, one table shared by the file loader, env overrides and the diff.

type Kind =
  | { type: 'bool' }
  | { type: 'int'; min: number; max?: number; unit?: string }
  | { type: 'string' }
  | { type: 'listen' }
  | { type: 'listens' }
  | { type: 'enum'; values: readonly string[] };

/** What one directive holds once validated. */
export type FieldValue = boolean | number | string | ListenAddress | ListenAddress[];

export interface FieldSpec {
  /** directive path, e.g. 'http_api.raw_api.allow_reload' */
  path: string;
  kind: Kind;
  get(c: SrsConfig): FieldValue;
  set(c: SrsConfig, v: FieldValue): void;
}

const bool = { type: 'bool' } as const;
const str = { type: 'string' } as const;
const ms = { type: 'int', min: 0, unit: 'ms' } as const;

// set() receives a value already checked against kind, hence the narrowing casts.
export const FIELDS: readonly FieldSpec[] = [
  { path: 'listen', kind: { type: 'listens' }, get: (c) => c.listen, set: (c, v) => (c.listen = v as ListenAddress[]) },
  { path: 'chunk_size', kind: { type: 'int', min: CHUNK_SIZE_MIN, max: CHUNK_SIZE_MAX }, get: (c) => c.chunkSize, set: (c, v) => (c.chunkSize = v as number) },
  { path: 'max_connections', kind: { type: 'int', min: 1 }, get: (c) => c.maxConnections, set: (c, v) => (c.maxConnections = v as number) },
  { path: 'daemon', kind: bool, get: (c) => c.daemon, set: (c, v) => (c.daemon = v as boolean) },
  { path: 'disable_daemon_for_docker', kind: bool, get: (c) => c.disableDaemonForDocker, set: (c, v) => (c.disableDaemonForDocker = v as boolean) },
  { path: 'in_docker', kind: bool, get: (c) => c.inDocker, set: (c, v) => (c.inDocker = v as boolean) },
  { path: 'pid', kind: str, get: (c) => c.pid, set: (c, v) => (c.pid = v as string) },
  { path: 'srs_log_tank', kind: { type: 'enum', values: ['console', 'file'] }, get: (c) => c.logTank, set: (c, v) => (c.logTank = v as 'console' | 'file') },
  { path: 'srs_log_file', kind: str, get: (c) => c.logFile, set: (c, v) => (c.logFile = v as string) },
  { path: 'srs_log_level', kind: { type: 'enum', values: LOG_LEVELS }, get: (c) => c.logLevel, set: (c, v) => (c.logLevel = v as LogLevel) },
  { path: 'srs_log_format', kind: { type: 'enum', values: ['text', 'json'] }, get: (c) => c.logFormat, set: (c, v) => (c.logFormat = v as 'text' | 'json') },
  { path: 'work_dir', kind: str, get: (c) => c.workDir, set: (c, v) => (c.workDir = v as string) },
  { path: 'asprocess', kind: bool, get: (c) => c.asprocess, set: (c, v) => (c.asprocess = v as boolean) },
  { path: 'grace_start_wait', kind: ms, get: (c) => c.graceStartWait, set: (c, v) => (c.graceStartWait = v as number) },
  { path: 'grace_final_wait', kind: ms, get: (c) => c.graceFinalWait, set: (c, v) => (c.graceFinalWait = v as number) },
  { path: 'grace_max_wait', kind: ms, get: (c) => c.graceMaxWait, set: (c, v) => (c.graceMaxWait = v as number) },
  { path: 'force_grace_quit', kind: bool, get: (c) => c.forceGraceQuit, set: (c, v) => (c.forceGraceQuit = v as boolean) },
  { path: 'inotify_auto_reload', kind: bool, get: (c) => c.inotifyAutoReload, set: (c, v) => (c.inotifyAutoReload = v as boolean) },
  { path: 'auto_reload_for_docker', kind: bool, get: (c) => c.autoReloadForDocker, set: (c, v) => (c.autoReloadForDocker = v as boolean) },
  { path: 'http_api.enabled', kind: bool, get: (c) => c.httpApi.enabled, set: (c, v) => (c.httpApi.enabled = v as boolean) },
  { path: 'http_api.listen', kind: { type: 'listen' }, get: (c) => c.httpApi.listen, set: (c, v) => (c.httpApi.listen = v as ListenAddress) },
  { path: 'http_api.crossdomain', kind: bool, get: (c) => c.httpApi.crossdomain, set: (c, v) => (c.httpApi.crossdomain = v as boolean) },
  { path: 'http_api.raw_api.enabled', kind: bool, get: (c) => c.httpApi.rawApi.enabled, set: (c, v) => (c.httpApi.rawApi.enabled = v as boolean) },
  { path: 'http_api.raw_api.allow_reload', kind: bool, get: (c) => c.httpApi.rawApi.allowReload, set: (c, v) => (c.httpApi.rawApi.allowReload = v as boolean) },
  { path: 'http_api.auth.enabled', kind: bool, get: (c) => c.httpApi.auth.enabled, set: (c, v) => (c.httpApi.auth.enabled = v as boolean) },
  { path: 'http_api.auth.username', kind: str, get: (c) => c.httpApi.auth.username, set: (c, v) => (c.httpApi.auth.username = v as string) },
  { path: 'http_api.auth.password', kind: str, get: (c) => c.httpApi.auth.password, set: (c, v) => (c.httpApi.auth.password = v as string) },
  { path: 'http_server.enabled', kind: bool, get: (c) => c.httpServer.enabled, set: (c, v) => (c.httpServer.enabled = v as boolean) },
  { path: 'http_server.listen', kind: { type: 'listen' }, get: (c) => c.httpServer.listen, set: (c, v) => (c.httpServer.listen = v as ListenAddress) },
  { path: 'http_server.dir', kind: str, get: (c) => c.httpServer.dir, set: (c, v) => (c.httpServer.dir = v as string) },
  { path: 'exporter.enabled', kind: bool, get: (c) => c.exporter.enabled, set: (c, v) => (c.exporter.enabled = v as boolean) },
  { path: 'exporter.listen', kind: { type: 'listen' }, get: (c) => c.exporter.listen, set: (c, v) => (c.exporter.listen = v as ListenAddress) },
  { path: 'exporter.label', kind: str, get: (c) => c.exporter.label, set: (c, v) => (c.exporter.label = v as string) },
  { path: 'exporter.tag', kind: str, get: (c) => c.exporter.tag, set: (c, v) => (c.exporter.tag = v as string) },
];

/** srs's own directives, not in SRS's vocabulary. */
export const SRS_OWN_VOCABULARY: Readonly<Record<string, readonly string[]>> = {
  '': ['srs_log_format', 'grace_max_wait'],
};

/**
 * Paths srs acts on (the FIELDS, the blocks holding them, `vhost` names, and the legacy or newer
 * spellings SRS maps onto them: `http_stream` is SRS1's http_server, `rtmp { listen }` SRS 7's
 * listen). Every other path SRS knows is "unsupported": warned about and ignored.
 */
const IMPLEMENTED: ReadonlySet<string> = new Set([
  ...FIELDS.map((f) => f.path),
  'http_api', 'http_api.raw_api', 'http_api.auth', 'http_server', 'exporter', 'vhost',
  'http_stream', 'http_stream.enabled', 'http_stream.listen', 'http_stream.dir',
  'rtmp', 'rtmp.listen', 'rtmp.chunk_size',
  'is_full',
  ...VHOST_IMPLEMENTED,
]);


/** The names valid in a block ('' = top level); null when SRS knows no such block. */
export function namesIn(blockPath: string): readonly string[] | null {
  const srs = SRS_VOCABULARY[blockPath];
  const own = SRS_OWN_VOCABULARY[blockPath];
  if (!srs && !own) return null;
  return [...(srs ?? []), ...(own ?? [])];
}

function blockLabel(blockPath: string): string {
  return blockPath === '' ? 'the top level' : `block "${blockPath}"`;
}

/**
 * Check every name against the vocabulary of its block, in document order. Unknown: SrsError
 * SRS_ERR_CONFIG_UNKNOWN naming the nearest valid name. Known to SRS but unsupported by srs so far: one
 * SRS_WARN_CONFIG_UNSUPPORTED warning for the outermost such directive (its contents are checked, not warned).
 */
export function checkVocabulary(directives: readonly Directive[], blockPath: readonly string[], warnings: ConfigWarning[]): void {
  const walk = (list: readonly Directive[], bp: readonly string[], warned: boolean): void => {
    const block = bp.join('.');
    for (const d of list) {
      if (d.name === 'include') continue; // spliced by the grammar
      const here = block ? `${block}.${d.name}` : d.name;
      const names = namesIn(block);
      if (!names || !names.includes(d.name)) {
        let hint = '';
        if (names && names.length > 0) {
          const s = suggest(d.name, names);
          hint = s === null ? '' : s.close ? `; did you mean "${s.best}"?` : `; SRS knows no such directive there (nearest: "${s.best}")`;
        } else {
          hint = `; "${block}" takes no directives inside`;
        }
        throw srsError('SRS_ERR_CONFIG_UNKNOWN', { name: d.name, block: blockLabel(block), hint }, d.loc);
      }
      let warnedHere = warned;
      if (!warned && !IMPLEMENTED.has(here)) {
        warnings.push({ code: 'SRS_WARN_CONFIG_UNSUPPORTED', message: `"${here}" is an SRS directive srs does not implement; ignored`, location: d.loc });
        warnedHere = true;
      }
      if (d.children && !FREE_FORM_BLOCKS.includes(here)) walk(d.children, [...bp, d.name], warnedHere);
    }
  };
  walk(directives, blockPath, false);
}

// ---------------------------------------------------------------------------------------------
// Values

function notListen(v: string): string {
  return v.includes(':') ? `"${v}" is not ip:port (IPv6 as [::1]:1935, port 1-65535)` : `"${v}" is not a port (1-65535)`;
}

export type FieldResult = { ok: true; value: FieldValue } | { ok: false; error: string };

/** Check args against a field's kind; the error text has no location. */
export function parseFieldValue(spec: FieldSpec, args: readonly string[]): FieldResult {
  const k = spec.kind;
  const bad = (error: string): FieldResult => ({ ok: false, error });
  const ok = (value: FieldValue): FieldResult => ({ ok: true, value });
  if (k.type === 'listens') {
    if (args.length === 0) return bad('requires at least one "[ip:]port"');
    const out: ListenAddress[] = [];
    for (const a of args) {
      const l = parseListenAddress(a);
      if (!l) return bad(notListen(a));
      out.push(l);
    }
    return ok(out);
  }
  if (args.length !== 1) return bad(`takes exactly one value, got ${args.length}`);
  const v = args[0];
  switch (k.type) {
    case 'bool':
      if (v === 'on' || v === 'true') return ok(true);
      if (v === 'off' || v === 'false') return ok(false);
      return bad(`"${v}" is not on or off`);
    case 'int': {
      if (k.max !== undefined) {
        const r = integerIn(v, k.min, k.max, k.unit);
        return typeof r === 'number' ? ok(r) : bad(r);
      }
      if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < k.min) {
        return bad(`"${v}" is not an integer >= ${k.min}${k.unit ? ` (${k.unit})` : ''}`);
      }
      return ok(Number(v));
    }
    case 'string':
      return ok(v);
    case 'listen': {
      const l = parseListenAddress(v);
      return l ? ok(l) : bad(notListen(v));
    }
    case 'enum':
      return k.values.includes(v) ? ok(v) : bad(`"${v}" is not one of ${k.values.join(', ')}`);
  }
}

function fieldByPath(p: string): FieldSpec {
  const f = FIELDS.find((x) => x.path === p);
  if (!f) throw new Error(`no field ${p}`);
  return f;
}

/**
 * The first directive of a name in a block. SRS reads a single-valued directive with
 * SrsConfDirective::get(), which returns the FIRST one and silently ignores the rest; we keep
 * SRS's choice (a config that works in SRS means the same here) and warn about each ignored copy.
 */
function first(list: readonly Directive[], name: string, path: string, warnings: ConfigWarning[]): Directive | undefined {
  const all = list.filter((d) => d.name === name);
  for (const dup of all.slice(1)) {
    const at = all[0].loc;
    warnings.push({
      code: 'SRS_WARN_CONFIG_DUPLICATE',
      message: renderMessage('SRS_WARN_CONFIG_DUPLICATE', { directive: `"${path}"`, first: `${at.file}:${at.line}` }),
      location: dup.loc,
    });
  }
  return all[0];
}

function applyField(c: SrsConfig, path: string, d: Directive): void {
  const spec = fieldByPath(path);
  if (d.children) throw srsError('SRS_ERR_CONFIG_VALUE', { directive: path, reason: 'takes values, not a block' }, d.loc);
  const r = parseFieldValue(spec, d.args);
  if (!r.ok) throw srsError('SRS_ERR_CONFIG_VALUE', { directive: path, reason: r.error }, d.loc);
  spec.set(c, r.value);
}

function block(list: readonly Directive[], name: string, path: string, warnings: ConfigWarning[]): Directive | undefined {
  const d = first(list, name, path, warnings);
  if (d && (!d.children || d.args.length > 0)) {
    throw srsError('SRS_ERR_CONFIG_VALUE', { directive: path, reason: `must be a block "${name} { ... }" without arguments` }, d.loc);
  }
  return d;
}

/** Apply the fields found in one block of the tree. */
function applyBlock(c: SrsConfig, list: readonly Directive[], prefix: string, shownPrefix: string, warnings: ConfigWarning[]): void {
  for (const spec of FIELDS) {
    if (!spec.path.startsWith(prefix)) continue;
    const rest = spec.path.slice(prefix.length);
    if (rest.includes('.')) continue;
    const d = first(list, rest, shownPrefix + rest, warnings);
    if (d) applyField(c, spec.path, d);
  }
}

/** What the tree says, on top of the defaults (structure and values validated). */
export function buildConfig(directives: readonly Directive[], warnings: ConfigWarning[]): { config: SrsConfig; hasListen: boolean } {
  const c = defaultConfig();
  applyBlock(c, directives, '', '', warnings);
  let hasListen = directives.some((d) => d.name === 'listen');
  // SRS 7 also accepts `rtmp { listen ...; chunk_size ...; }`; the top-level spellings win.
  const rtmp = directives.some((d) => d.name === 'rtmp') ? block(directives, 'rtmp', 'rtmp', warnings) : undefined;
  if (rtmp?.children) {
    const l = hasListen ? undefined : first(rtmp.children, 'listen', 'rtmp.listen', warnings);
    if (l) {
      applyField(c, 'listen', l);
      hasListen = true;
    }
    const cs = directives.some((d) => d.name === 'chunk_size') ? undefined : first(rtmp.children, 'chunk_size', 'rtmp.chunk_size', warnings);
    if (cs) applyField(c, 'chunk_size', cs);
  }

  const api = block(directives, 'http_api', 'http_api', warnings);
  if (api?.children) {
    applyBlock(c, api.children, 'http_api.', 'http_api.', warnings);
    const raw = block(api.children, 'raw_api', 'http_api.raw_api', warnings);
    if (raw?.children) applyBlock(c, raw.children, 'http_api.raw_api.', 'http_api.raw_api.', warnings);
    const auth = block(api.children, 'auth', 'http_api.auth', warnings);
    if (auth?.children) applyBlock(c, auth.children, 'http_api.auth.', 'http_api.auth.', warnings);
  }
  // SRS renames SRS1's `http_stream` to `http_server` on load (srs_config_transform_vhost).
  const server = block(directives, 'http_server', 'http_server', warnings) ?? block(directives, 'http_stream', 'http_stream', warnings);
  if (server?.children) applyBlock(c, server.children, 'http_server.', `${server.name}.`, warnings);
  const exporter = block(directives, 'exporter', 'exporter', warnings);
  if (exporter?.children) applyBlock(c, exporter.children, 'exporter.', 'exporter.', warnings);

  const seen = new Map<string, Directive>();
  for (const v of directives.filter((d) => d.name === 'vhost')) {
    // `vhost NAME;` is a vhost with every default, as SRS accepts it
    if (v.args.length !== 1) {
      throw srsError('SRS_ERR_CONFIG_VALUE', { directive: 'vhost', reason: `must be "vhost NAME { ... }" or "vhost NAME;", got ${v.args.length} names` }, v.loc);
    }
    const prev = seen.get(v.args[0]);
    if (prev) {
      warnings.push({
        code: 'SRS_WARN_CONFIG_DUPLICATE',
        message: renderMessage('SRS_WARN_CONFIG_DUPLICATE', { directive: `vhost "${v.args[0]}"`, first: `${prev.loc.file}:${prev.loc.line}` }),
        location: v.loc,
      });
      continue;
    }
    seen.set(v.args[0], v);
    c.vhosts.push(v.args[0]);
    c.vhostConfigs.push(buildVhost(v, warnings));
  }
  return { config: c, hasListen };
}

/** Checks across directives, after env overrides. */
export function checkConfig(c: SrsConfig, where: SourceLocation | undefined): void {
  if (c.daemon && c.asprocess) {
    throw srsError('SRS_ERR_CONFIG_VALUE', { directive: 'daemon', reason: 'conflicts with asprocess: asprocess (quit with the parent) needs daemon off' }, where);
  }
  if (c.logTank === 'file' && c.logFile === '') {
    throw srsError('SRS_ERR_CONFIG_VALUE', { directive: 'srs_log_file', reason: 'empty while srs_log_tank is file' }, where);
  }
}
