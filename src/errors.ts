// One catalogue of the errors a user can cause (as fastify's errors.js): each has a stable code,
// the exit code scripts can rely on, and is printed as one line, never with a stack trace.

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

export const ErrorCodes = {
  SRS_ERR_USAGE: ExitCode.USAGE,
  SRS_ERR_CONFIG_SYNTAX: ExitCode.CONFIG,
  SRS_ERR_CONFIG_UNKNOWN: ExitCode.CONFIG,
  SRS_ERR_CONFIG_VALUE: ExitCode.CONFIG,
  SRS_ERR_CONFIG_READ: ExitCode.CONFIG,
  SRS_ERR_CONFIG_REFUSED: ExitCode.CONFIG,
  SRS_ERR_BIND: ExitCode.FAILURE,
  SRS_ERR_PID_HELD: ExitCode.FAILURE,
  SRS_ERR_PID_FILE: ExitCode.FAILURE,
  SRS_ERR_LOG_FILE: ExitCode.FAILURE,
  SRS_ERR_DAEMON: ExitCode.FAILURE,
  SRS_ERR_NOT_RUNNING: ExitCode.FAILURE,
  SRS_ERR_SIGNAL: ExitCode.FAILURE,
  SRS_ERR_RELOAD_FAILED: ExitCode.CONFIG,
  SRS_ERR_TIMEOUT: ExitCode.FAILURE,
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

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

  constructor(code: ErrorCode, message: string, location?: SourceLocation) {
    super(location ? `${location.file}:${location.line}:${location.col}: ${message}` : message);
    this.name = 'SrsError';
    this.code = code;
    this.exitCode = ErrorCodes[code];
    this.location = location;
  }
}

export function isSrsError(e: unknown): e is SrsError {
  return e instanceof SrsError;
}

/** A system error's errno name (EADDRINUSE, EACCES...) if it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}
