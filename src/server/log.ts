// Logging on pino. SRS users read `[time][level][pid][cid] message`, so the text format keeps that
// shape; `srs_log_format json` gives pino's own lines for machines. The destination is a SonicBoom
// that SIGUSR1 reopens (logrotate `create` + postrotate), so no line is lost or written twice.
import type pino from 'pino';
import type { LogLevel } from '../config/schema';

/**
 * pino is required by the log's constructor, not when srs loads: a daemon's starter, which
 * writes no line, never loads it.
 */
function loadPino(): typeof pino {
  return require('pino') as typeof pino;
}

type Destination = ReturnType<typeof pino.destination>;

/** SRS level -> pino level (design.md 8). */
export function pinoLevel(level: LogLevel): pino.LevelWithSilent {
  switch (level) {
    case 'verbose':
      return 'debug';
    case 'info':
    case 'trace':
      return 'info';
    case 'warn':
      return 'warn';
    case 'error':
      return 'error';
  }
}

const TEXT_LEVEL: Record<number, string> = { 10: 'Verbose', 20: 'Verbose', 30: 'Trace', 40: 'Warn', 50: 'Error', 60: 'Fatal' };
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'cid']);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Turn one pino JSON line into SRS's text shape; extra fields follow as key=value. */
export function formatTextLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = TEXT_LEVEL[Number(o.level)] ?? String(o.level);
  const cid = typeof o.cid === 'string' ? o.cid : '';
  let line = `[${formatTime(Number(o.time))}][${level}][${String(o.pid)}][${cid}] ${String(o.msg ?? '')}`;
  const msg = String(o.msg ?? '');
  for (const [k, v] of Object.entries(o)) {
    if (RESERVED.has(k) || v === undefined) continue;
    // a person reads the message: fields it already says are noise (JSON keeps them all)
    if ((typeof v === 'string' || typeof v === 'number') && String(v).length > 0 && msg.includes(String(v))) continue;
    if (k === 'err' && v && typeof v === 'object') {
      const e = v as { message?: string; stack?: string };
      line += ` err=${JSON.stringify(e.message ?? '')}`;
      if (e.stack) line += `\n${e.stack}`;
      continue;
    }
    line += ` ${k}=${typeof v === 'string' ? (/\s|=/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`;
  }
  return line + '\n';
}

export interface LogOptions {
  tank: 'console' | 'file';
  /** absolute path when tank is file */
  file: string;
  level: LogLevel;
  format: 'text' | 'json';
}

/** The process's logger and the destination that reopen/flush act on. */
export class SrsLog {
  readonly logger: pino.Logger;
  private readonly dest: Destination;
  readonly options: LogOptions;
  /** writes the destination refused (EPIPE, ENOSPC...), for the API */
  writeFailures = 0;
  lastWriteError: string | null = null;

  /** Throws when the file cannot be opened for append: an unwritable log is a start-up error. */
  constructor(options: LogOptions) {
    this.options = options;
    const pinoModule = loadPino();
    // A file is written synchronously: a write to the page cache costs microseconds, lines stay
    // in order through a reopen and an exit, and nothing is in flight when the process ends.
    // The console is asynchronous (a slow reader of a pipe, or journald, must not stall the
    // server; SonicBoom batches what piles up meanwhile, so a burst of 1,000 lines is a few
    // writes), and drained in order before every exit (flushThen).
    this.dest =
      options.tank === 'file'
        ? pinoModule.destination({ dest: options.file, sync: true, mkdir: true, append: true })
        : pinoModule.destination({ dest: 1, sync: false });
    // A log that cannot be written (a closed stdout pipe, a full disk) must not take the server
    // down with it: SonicBoom reports it as an 'error' event, which unheard would throw.
    this.dest.on('error', (e: NodeJS.ErrnoException) => {
      this.writeFailures++;
      this.lastWriteError = e.code ?? e.message;
    });
    const dest = this.dest;
    const stream: pino.DestinationStream =
      options.format === 'text' ? { write: (s: string) => void dest.write(formatTextLine(s)) } : dest;
    this.logger = pinoModule(
      {
        level: pinoLevel(options.level),
        base: { pid: process.pid },
        timestamp: pinoModule.stdTimeFunctions.epochTime,
        formatters: { level: (_label, number) => ({ level: number }) },
      },
      stream,
    );
  }

  setLevel(level: LogLevel): void {
    this.logger.level = pinoLevel(level);
  }

  /** SIGUSR1: reopen the file logrotate has moved away; lines written meanwhile land in one file. */
  reopen(): void {
    if (this.options.tank === 'file') this.dest.reopen();
  }

  /** Best effort, now: for a process that is dying (an uncaught exception). */
  flush(): void {
    try {
      this.dest.flushSync();
    } catch {
      // flushSync throws when nothing is open yet (the file could not be created): nothing to flush
    }
  }

  /**
   * Write out everything, in order, then call `done`: a write in flight finishes first (a
   * synchronous flush under it would put later lines before it), then the rest synchronously.
   * Bounded: a reader that never drains does not keep a quitting process alive.
   */
  flushThen(done: () => void, timeoutMs = 2000): void {
    const dest = this.dest as Destination & { _writing?: boolean };
    const deadline = Date.now() + timeoutMs;
    const attempt = (): void => {
      if (dest._writing && Date.now() < deadline) {
        setTimeout(attempt, 1);
        return;
      }
      this.flush();
      done();
    };
    attempt();
  }
}

/** An 8-character context id per connection, as SRS prints in `[cid]`. */
export function newContextId(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
