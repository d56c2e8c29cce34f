// One catalogue of everything srs tells a user went wrong (as fastify's lib/errors.js): CLI,
// config, runtime and API errors and warnings. Each entry has a stable code, the exit code
// scripts rely on (process errors) or the HTTP status (API errors), a message template with named
// params, a sentence for docs/errors.md and what to do. A code reaches the user on the terminal
// line (`srs: CODE message`), in the log's `code` field, in an API body's `error`, and on the
// daemon's readiness pipe. docs/errors.md is generated from here (scripts/gen-errors-doc.js).

export const ExitCode = {
  OK: 0,
  /** runtime failure: port in use, pid file held, daemon died, unreadable file */
  FAILURE: 1,
  /** bad command line (as getopt users expect) */
  USAGE: 2,
  /** the config is invalid (-t, start, or -s reload refused) */
  CONFIG: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

interface EntryText {
  /** the message; `{name}` is a param, supplied at each use */
  template: string;
  /** when it happens: one sentence */
  doc: string;
  /** what the user can do about it */
  fix: string;
}
/** An error that ends the process (or a control command) with `exit`. */
export interface ProcessErrorEntry extends EntryText {
  kind: 'process';
  exit: ExitCodeValue;
}
/** An error an API or file-server request is answered with: `status`, body `{ error: code }`. */
export interface ApiErrorEntry extends EntryText {
  kind: 'api';
  status: number;
}
/** Something a user should know that does not stop anything: a terminal or log warning. */
export interface WarningEntry extends EntryText {
  kind: 'warning';
}
export type CatalogueEntry = ProcessErrorEntry | ApiErrorEntry | WarningEntry;

const E = ExitCode;

export const CATALOGUE = {
  // ---- command line
  SRS_ERR_USAGE: {
    kind: 'process', exit: E.USAGE, template: '{detail}',
    doc: 'The command line is wrong: an unknown flag, a missing argument, or no config file.',
    fix: 'Run `srs -h` for the usage; give a config with -c FILE, or -e to read the environment only.',
  },
  // ---- config
  SRS_ERR_CONFIG_SYNTAX: {
    kind: 'process', exit: E.CONFIG, template: '{detail}',
    doc: 'The config cannot be read as SRS grammar (or YAML): an unclosed block, a missing ";", a stray "}", an include cycle, or a config over the limits on nesting, directives or included files.',
    fix: 'Fix the file at the file:line:col printed; the message says what was expected there.',
  },
  SRS_ERR_CONFIG_UNKNOWN: {
    kind: 'process', exit: E.CONFIG, template: 'unknown directive "{name}" in {block}{hint}',
    doc: 'A directive that neither SRS nor srs knows (usually a typo).',
    fix: 'Use the suggested name, or remove the directive.',
  },
  SRS_ERR_CONFIG_VALUE: {
    kind: 'process', exit: E.CONFIG, template: '{directive}: {reason}',
    doc: 'A directive (or the SRS_* variable that sets it) has a value srs cannot use, or two directives conflict.',
    fix: 'Give a value of the kind the message names (a port, a number in range, on/off...).',
  },
  SRS_ERR_CONFIG_READ: {
    kind: 'process', exit: E.CONFIG, template: '{what} {path}: {reason}',
    doc: 'The config or one of its includes cannot be read: missing, not a regular file, unreadable, or larger than the size limit.',
    fix: 'Check the path (relative paths are relative to the current directory) and its permissions; configs must be regular files.',
  },
  SRS_ERR_CONFIG_REFUSED: {
    kind: 'process', exit: E.CONFIG,
    template: '{what} is SRS\'s reference of every directive, not a runnable config (SRS: "never use full.conf"); copy what you need into your own file',
    doc: 'The config is SRS\'s full.conf (or a copy with `is_full on`), a reference that is not meant to run.',
    fix: 'Start from conf/srs.conf and copy the directives you need.',
  },
  // ---- runtime
  SRS_ERR_BIND: {
    kind: 'process', exit: E.FAILURE, template: '{detail}',
    doc: 'A listener cannot be opened: the address is in use, needs privileges, does not exist here, or two roles ask for one port.',
    fix: 'Stop what holds the port (`ss -ltnp`), pick another port, or run with CAP_NET_BIND_SERVICE for ports below 1024.',
  },
  SRS_ERR_PID_HELD: {
    kind: 'process', exit: E.FAILURE,
    template: 'pid file {path} is locked by a running srs{holder}: stop it first, or give this one another pid file',
    doc: 'Another srs holds the pid file this one would take.',
    fix: 'Stop the running srs (`srs -s stop -c ...`), or set another `pid` in this config.',
  },
  SRS_ERR_PID_FILE: {
    kind: 'process', exit: E.FAILURE, template: 'pid file {path}: {reason}',
    doc: 'The pid file cannot be opened or locked.',
    fix: 'Check that the pid file\'s directory exists and is writable by srs.',
  },
  SRS_ERR_LOG_FILE: {
    kind: 'process', exit: E.FAILURE, template: 'srs_log_file {path}: cannot open for append ({reason})',
    doc: 'The log file cannot be opened for append.',
    fix: 'Check the path and permissions of srs_log_file, or set `srs_log_tank console`.',
  },
  SRS_ERR_DAEMON: {
    kind: 'process', exit: E.FAILURE, template: '{detail}',
    doc: 'The daemon could not be started, or died or went silent before it reported ready.',
    fix: 'Read the log file named in the message; run with `daemon off` to see the failure on the terminal.',
  },
  SRS_ERR_NOT_RUNNING: {
    kind: 'process', exit: E.FAILURE, template: 'not running: {detail}',
    doc: 'A control command (`srs -s stop|reload|...`) found no running srs holding the pid file.',
    fix: 'Check that the -c config is the one srs was started with, or use `srs -s pid` to see which pid file is read.',
  },
  SRS_ERR_SIGNAL: {
    kind: 'process', exit: E.FAILURE, template: '{detail}',
    doc: 'A signal could not be sent or acted on (no permission, or the server is quitting).',
    fix: 'Run the control command as the user srs runs as (or root).',
  },
  SRS_ERR_RELOAD_FAILED: {
    kind: 'process', exit: E.CONFIG, template: 'reload refused, pid {pid} keeps its running config: {reason}',
    doc: 'A reload was refused: the new config is invalid or cannot be applied; the server keeps running with the old one.',
    fix: 'Fix what the reason names (`srs -t -c FILE` checks a config) and reload again.',
  },
  SRS_ERR_TIMEOUT: {
    kind: 'process', exit: E.FAILURE, template: '{detail}',
    doc: 'A control command did not learn the outcome in time (the process did not quit, or did not record its reload or upgrade).',
    fix: 'Look at the server\'s log; raise --timeout for slow graceful quits.',
  },
  SRS_ERR_UPGRADE: {
    kind: 'process', exit: E.FAILURE, template: '{detail}',
    doc: 'A zero-downtime upgrade was refused or failed; the running process keeps serving.',
    fix: 'Read the reason in the message and the log; the new binary must start with the same config.',
  },
  SRS_ERR_INTERNAL: {
    kind: 'process', exit: E.FAILURE, template: '{detail}',
    doc: 'An unexpected error: a bug in srs, or a system failure srs does not name yet.',
    fix: 'The stack is in the log; please report it with the log lines around it.',
  },
  // ---- API and file server (SRS's envelope plus `error`, the code)
  SRS_ERR_API_BAD_REQUEST: {
    kind: 'api', status: 400, template: 'bad request',
    doc: 'The request cannot be parsed or validated.', fix: 'Check the request line, headers and body.',
  },
  SRS_ERR_API_BAD_URL: {
    kind: 'api', status: 400, template: 'malformed URL (bad percent-encoding)',
    doc: 'The URL has an invalid percent-encoding.', fix: 'Encode the URL correctly (RFC 3986).',
  },
  SRS_ERR_API_BAD_JSON: {
    kind: 'api', status: 400, template: 'the body is not valid JSON',
    doc: 'A JSON body is empty or malformed.', fix: 'Send a valid JSON body, or none.',
  },
  SRS_ERR_API_BAD_RPC: {
    kind: 'api', status: 400, template: 'rpc must be reload or reload-fetch',
    doc: '/api/v1/raw was called with an rpc srs does not serve.', fix: 'Use `?rpc=reload` or `?rpc=reload-fetch`.',
  },
  SRS_ERR_API_UNAUTHORIZED: {
    kind: 'api', status: 401, template: 'http_api.auth is enabled: send HTTP basic credentials',
    doc: 'http_api.auth is on and the request has no (or wrong) credentials.', fix: 'Send the username and password of http_api.auth (HTTP basic).',
  },
  SRS_ERR_API_FORBIDDEN: {
    kind: 'api', status: 403, template: 'play denied by vhost {vhost} security ({reason})',
    doc: 'A vhost\'s security rules deny this client (an HTTP-FLV play).', fix: 'Change the vhost\'s `security` allow/deny rules if the client should be admitted.',
  },
  SRS_ERR_API_RAW_DISABLED: {
    kind: 'api', status: 403, template: 'http_api.raw_api is off: set `raw_api { enabled on; }` in http_api',
    doc: '/api/v1/raw was called while http_api.raw_api is off.', fix: 'Enable raw_api in http_api if you want remote control.',
  },
  SRS_ERR_API_RELOAD_NOT_ALLOWED: {
    kind: 'api', status: 403, template: 'http_api.raw_api.allow_reload is off',
    doc: 'A reload through the API while raw_api.allow_reload is off.', fix: 'Set `allow_reload on;` in raw_api, or reload by signal.',
  },
  SRS_ERR_API_NO_ROUTE: {
    kind: 'api', status: 404, template: 'no such API route; see /api/v1/',
    doc: 'No API route has this path.', fix: 'GET /api/v1/ lists the routes.',
  },
  SRS_ERR_API_NO_FILE: {
    kind: 'api', status: 404, template: 'no such file under http_server.dir',
    doc: 'The file server has no such file.', fix: 'Check the path against http_server.dir.',
  },
  SRS_ERR_API_NO_STREAM: {
    kind: 'api', status: 404, template: 'no such stream; see /api/v1/streams',
    doc: 'The stream id is not (or no longer) published.', fix: 'GET /api/v1/streams lists the streams.',
  },
  SRS_ERR_API_NO_CLIENT: {
    kind: 'api', status: 404, template: 'no such client; see /api/v1/clients',
    doc: 'The client id is not (or no longer) connected.', fix: 'GET /api/v1/clients lists the clients.',
  },
  SRS_ERR_API_METHOD: {
    kind: 'api', status: 405, template: 'method not allowed',
    doc: 'The path exists but not with this method.', fix: 'Use a method the `Allow` header lists.',
  },
  SRS_ERR_API_TIMEOUT: {
    kind: 'api', status: 408, template: 'the request did not arrive in time (headers and body are bounded)',
    doc: 'The request\'s headers or body took longer than the bound.', fix: 'Send the request at once; slow senders are cut.',
  },
  SRS_ERR_API_BODY_TOO_LARGE: {
    kind: 'api', status: 413, template: 'request body too large',
    doc: 'The body is over the API\'s limit.', fix: 'Send a smaller body.',
  },
  SRS_ERR_API_MEDIA_TYPE: {
    kind: 'api', status: 415, template: 'unsupported content-type',
    doc: 'The body\'s Content-Type is not one the API reads.', fix: 'Send application/json, or no body.',
  },
  SRS_ERR_API_HEADERS_TOO_LARGE: {
    kind: 'api', status: 431, template: 'request headers too large',
    doc: 'The request headers are over node\'s limit.', fix: 'Send fewer or shorter headers.',
  },
  SRS_ERR_API_INTERNAL: {
    kind: 'api', status: 500, template: 'internal error (see the server log)',
    doc: 'The request hit a bug in srs.', fix: 'The log has the stack; please report it.',
  },
  // ---- config warnings (srs starts; the terminal and the log say so)
  SRS_WARN_CONFIG_UNSUPPORTED: {
    kind: 'warning', template: '{detail}',
    doc: 'An SRS directive (or value) srs does not implement; it is ignored.', fix: 'Remove it, or expect SRS\'s feature to be missing.',
  },
  SRS_WARN_CONFIG_DUPLICATE: {
    kind: 'warning', template: '{directive} repeated; SRS uses the first one ({first}), this one is ignored',
    doc: 'A directive appears twice in one block; as SRS, the first wins.', fix: 'Remove the later copy.',
  },
  SRS_WARN_CONFIG_CLAMPED: {
    kind: 'warning', template: '{directive}: {value} lowered to {max}, the most SRS merges (SRS: "reset mw_msgs {value} to max {max}")',
    doc: 'A value above what SRS allows was lowered, as SRS does.', fix: 'Set a value within the bound.',
  },
  SRS_WARN_CONFIG_SHADOWED: {
    kind: 'warning',
    template: '{directive}: "allow {action} {address}" never admits anyone: SRS checks deny rules first, whatever their order, and "deny {action} {denied}" ({at}) matches every address it does',
    doc: 'A security allow rule can never match, because a deny rule covers it.', fix: 'Narrow the deny rule or remove the allow rule.',
  },
  SRS_WARN_ENV_UNKNOWN: {
    kind: 'warning', template: '{variable} is not a variable srs reads, ignored; did you mean {suggestion} ({directive})?',
    doc: 'An SRS_* environment variable close to one srs reads (probably mistyped).', fix: 'Rename it to the suggested variable.',
  },
  // ---- runtime warnings (the log's `code` field)
  SRS_WARN_FD_EXHAUSTED: {
    kind: 'warning', template: 'connection refused: out of file descriptors ({used} of {limit} in use; raise the limit: ulimit -HSn, or LimitNOFILE=)',
    doc: 'A connection was refused because the process is out of file descriptors.', fix: 'Raise the fd limit (ulimit -HSn, LimitNOFILE=) or lower max_connections.',
  },
  SRS_WARN_FD_LIMIT: {
    kind: 'warning', template: '{detail}',
    doc: 'At start: max_connections cannot fit the fd limit (SRS checks this).', fix: 'Raise the fd limit or lower max_connections.',
  },
  SRS_WARN_CONNECTION_REFUSED: {
    kind: 'warning', template: 'connection refused: {reason}',
    doc: 'A connection was refused because max_connections is reached (the API keeps its own slots).', fix: 'Raise max_connections if the load is expected.',
  },
  SRS_WARN_PID_STALE: {
    kind: 'warning', template: 'took over a stale pid file: its process is gone',
    doc: 'The pid file named a process that no longer exists; srs took it over.', fix: 'Nothing: the previous srs died without removing it.',
  },
  SRS_WARN_NOTIFY: {
    kind: 'warning', template: 'sd_notify {state} failed',
    doc: 'systemd could not be told the state (NOTIFY_SOCKET).', fix: 'Check the unit\'s Type= and NotifyAccess=.',
  },
  SRS_WARN_WATCH: {
    kind: 'warning', template: 'cannot watch the config for changes',
    doc: 'inotify_auto_reload is on but the config cannot be watched.', fix: 'Raise fs.inotify.max_user_watches, or reload by SIGHUP.',
  },
  SRS_WARN_PARENT_GONE: {
    kind: 'warning', template: 'asprocess: parent process is gone',
    doc: 'With asprocess on, the parent process exited; srs quits with it.', fix: 'Nothing, unless the parent should not have exited.',
  },
  SRS_WARN_LOG_WRITE: {
    kind: 'warning', template: 'log: {dropped} lines dropped, {failures} write failures since {since} ({error})',
    doc: 'The log could not be written (a full disk) and lines were dropped; said once when writing resumes.', fix: 'Free space on the log\'s file system.',
  },
  SRS_WARN_LOG_REOPEN: {
    kind: 'warning', template: 'log reopened, but fd {fd} stays on the old file: {reason}',
    doc: 'After a log reopen (SIGUSR1) an fd could not be pointed at the new file.', fix: 'Restart srs if the old file must be released.',
  },
  SRS_WARN_HTTP_DIR: {
    kind: 'warning', template: 'http_server.dir {dir} does not exist (from {cwd}): every file request will get 404',
    doc: 'The file server\'s directory does not exist.', fix: 'Create it, or fix http_server.dir (relative to work_dir).',
  },
  SRS_WARN_RELOAD_KEPT: {
    kind: 'warning', template: '{detail}',
    doc: 'A reload applied, but some directives keep their running value (set by the environment, or needing a restart).', fix: 'Restart srs to apply them.',
  },
  SRS_WARN_RECORD: {
    kind: 'warning', template: '{detail}',
    doc: 'The reload or upgrade status file could not be written, so `srs -s` cannot learn the outcome.', fix: 'Make the pid file\'s directory writable.',
  },
  SRS_WARN_UPGRADE_IGNORED: {
    kind: 'warning', template: 'upgrade ignored: {reason}',
    doc: 'An upgrade signal arrived when an upgrade cannot start (another is running, or the server is quitting).', fix: 'Wait for the running upgrade or quit to end.',
  },
  SRS_WARN_QUIT_CUT: {
    kind: 'warning', template: 'cut {count} connections',
    doc: 'A quit ended with connections still open; they were closed.', fix: 'Raise grace_final_wait / the graceful quit bounds if clients need longer.',
  },
  SRS_WARN_SECURITY_DENIED: {
    kind: 'warning', template: 'security: {action} denied for {ip}: {reason}',
    doc: 'A vhost\'s security rules denied a publish or play.', fix: 'Change the vhost\'s security rules if the client should be admitted.',
  },
  SRS_WARN_RTMP_MALFORMED: {
    kind: 'warning', template: 'rtmp {layer}: {reason}',
    doc: 'An RTMP peer sent bytes the protocol does not allow; only its connection is closed.', fix: 'Check the client (encoder) version and its settings.',
  },
  SRS_WARN_RTMP_REFUSED: {
    kind: 'warning', template: '{detail}',
    doc: 'An RTMP connect, publish or play was refused (no such vhost, the stream is busy, or a timeout).', fix: 'Check the URL\'s vhost and stream, and that one publisher per stream.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type CatalogueCode = keyof typeof CATALOGUE;
type EntryOf<K extends string> = K extends CatalogueCode ? (typeof CATALOGUE)[K] : never;
/** The codes that end a process, with their exit codes. */
export type ErrorCode = { [K in CatalogueCode]: EntryOf<K> extends { kind: 'process' } ? K : never }[CatalogueCode];
export type ApiErrorCode = { [K in CatalogueCode]: EntryOf<K> extends { kind: 'api' } ? K : never }[CatalogueCode];
export type WarningCode = { [K in CatalogueCode]: EntryOf<K> extends { kind: 'warning' } ? K : never }[CatalogueCode];

/** `{name}` params of a template, as a type: the compiler checks every use supplies them all. */
type ParamNames<T extends string> = T extends `${string}{${infer P}}${infer Rest}`
  ? P extends `${string} ${string}` | ''
    ? ParamNames<Rest> // literal braces (`raw_api { enabled on; }`), not a param
    : P | ParamNames<Rest>
  : never;
export type Params<C extends CatalogueCode> = { [P in ParamNames<(typeof CATALOGUE)[C]['template']>]: string | number };

function entries<K extends 'process' | 'api' | 'warning'>(kind: K): Array<[string, Extract<CatalogueEntry, { kind: K }>]> {
  return Object.entries(CATALOGUE as Record<string, CatalogueEntry>).filter((kv): kv is [string, Extract<CatalogueEntry, { kind: K }>] => kv[1].kind === kind);
}

/** Process error codes and their exit codes (kept for callers that read it as before). */
export const ErrorCodes = Object.fromEntries(entries('process').map(([k, v]) => [k, v.exit])) as { [K in ErrorCode]: ExitCodeValue };

/** The params a template names, in order. */
export function templateParams(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
}

/**
 * The message of `code` with its params filled in. A param the caller left out stays as `{name}`
 * (the compiler refuses such a call; test/errors.test.js checks every template renders).
 */
export function renderMessage<C extends CatalogueCode>(code: C, params: Params<C>): string {
  const values = params as Record<string, string | number | undefined>;
  return CATALOGUE[code].template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const v = values[name];
    return v === undefined ? whole : String(v);
  });
}

/** Where in a config file a problem is. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

export class SrsError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly location: SourceLocation | undefined;

  /** `message` is the rendered text; prefer {@link srsError}, which renders the code's template. */
  constructor(code: ErrorCode, message: string, location?: SourceLocation) {
    super(location ? `${location.file}:${location.line}:${location.col}: ${message}` : message);
    this.name = 'SrsError';
    this.code = code;
    this.exitCode = CATALOGUE[code].exit;
    this.location = location;
  }
}

/** Raise by code: `throw srsError('SRS_ERR_CONFIG_VALUE', { directive, reason }, d.loc)`. */
export function srsError<C extends ErrorCode>(code: C, params: Params<C>, location?: SourceLocation): SrsError {
  return new SrsError(code, renderMessage(code, params), location);
}

export function isSrsError(e: unknown): e is SrsError {
  return e instanceof SrsError;
}

/**
 * The code of any error a process may end with: an SrsError's own, SRS_ERR_INTERNAL for anything
 * else (a bug, or a system failure not named yet).
 */
export function errorCodeOf(e: unknown): ErrorCode {
  return e instanceof SrsError ? e.code : 'SRS_ERR_INTERNAL';
}

/** Whether a string (read from a pipe, a record) is a process error code of the catalogue. */
export function isErrorCode(s: string): s is ErrorCode {
  return Object.prototype.hasOwnProperty.call(CATALOGUE, s) && (CATALOGUE as Record<string, CatalogueEntry>)[s]!.kind === 'process';
}

/** The one form a code and its message take on a terminal line: `CODE message` (after `srs: `). */
export function codedLine(code: CatalogueCode, message: string): string {
  return `${code} ${message}`;
}

/** A system error's errno name (EADDRINUSE, EACCES...) if it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}
