// Logging on pino. SRS users read `[time][level][pid][cid] message`, so the text format keeps that
// shape; `srs_log_format json` gives pino's own lines for machines. The destination is a SonicBoom
// that SIGUSR1 reopens (logrotate `create` + postrotate), so no line is lost or written twice.
import { renderMessage } from '../errors';
import fs from 'node:fs';
import type pino from 'pino';
import type { LogLevel } from '../config/schema';
import { LogTail } from './console-context';
import { LogFile } from './log-file';

/**
 * pino is required by the log's constructor, not when srs loads: a daemon's starter, which
 * writes no line, never loads it.
 */
function loadPino(): typeof pino {
  return require('pino') as typeof pino;
}

type SonicBoom = ReturnType<typeof pino.destination>;
/** the file (LogFile) or the console (SonicBoom, asynchronous) */
type Destination = LogFile | SonicBoom;

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
  /**
   * dup2(2), injected (src/server/ does not load the addon): on reopen, the new file's fd goes onto
   * fds 1 and 2 if they were the log (a daemon's), so none stays on a rotated or deleted file.
   */
  dup2?: (oldFd: number, newFd: number) => void;
  /** bytes of lines waiting for a log that cannot be written; beyond, lines are dropped (counted) */
  backlogBytes?: number;
  /** ms since the epoch: injectable for tests */
  now?: () => number;
}

/** The bound on lines waiting for an unwritable log (a full disk), in bytes. */
export const LOG_BACKLOG_BYTES = 1024 * 1024;

export interface LogStats {
  /** writes the destination refused (ENOSPC, EPIPE, EIO...) since start */
  writeFailures: number;
  /** lines dropped since start because the backlog was full */
  droppedLines: number;
}

function countLines(data: string | Buffer): number {
  let n = 0;
  for (const c of String(data)) if (c === '\n') n++;
  return Math.max(n, 1);
}

/** The process's logger and the destination that reopen/flush act on. */
export class SrsLog {
  readonly logger: pino.Logger;
  /** the last 200 lines, for the console's event stream (server/console.ts) */
  readonly tail = new LogTail(200);
  private readonly dest: Destination;
  readonly options: LogOptions;
  private writeFailures = 0;
  private droppedLines = 0;
  lastWriteError: string | null = null;
  /** the failing episode under way: when it began, and the counters then */
  private failing: { since: number; failures: number; dropped: number } | null = null;
  private readonly now: () => number;

  /** Throws when the file cannot be opened for append: an unwritable log is a start-up error. */
  constructor(options: LogOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const pinoModule = loadPino();
    const maxLength = options.backlogBytes ?? LOG_BACKLOG_BYTES;
    // A file is written synchronously: a write to the page cache costs microseconds, lines stay
    // in order through a reopen and an exit, and nothing is in flight when the process ends.
    // The console is asynchronous (a slow reader of a pipe, or journald, must not stall the
    // server; SonicBoom batches what piles up meanwhile, so a burst of 1,000 lines is a few
    // writes), and drained in order before every exit (flushThen).
    // A log that cannot be written (a closed stdout pipe, a full disk) must not take the server
    // down with it, nor grow its memory: what is refused waits in a bounded backlog, what is over
    // it is dropped and counted, and one line says so when writing resumes.
    const failed = (code: string): void => {
      this.failing ??= { since: this.now(), failures: this.writeFailures, dropped: this.droppedLines };
      this.writeFailures++;
      this.lastWriteError = code;
    };
    const dropped = (lines: number): void => {
      this.failing ??= { since: this.now(), failures: this.writeFailures, dropped: this.droppedLines };
      this.droppedLines += lines;
    };
    const resumed = (): void => {
      const f = this.failing;
      if (f === null) return;
      this.failing = null;
      // once, when writing resumes; not from inside the destination's own write
      setImmediate(() =>
        this.logger.warn(
          { code: 'SRS_WARN_LOG_WRITE', dropped_lines: this.droppedLines - f.dropped, write_failures: this.writeFailures - f.failures, since: f.since, error: this.lastWriteError },
          renderMessage('SRS_WARN_LOG_WRITE', {
            dropped: this.droppedLines - f.dropped,
            failures: this.writeFailures - f.failures,
            since: formatTime(f.since),
            error: this.lastWriteError ?? '?',
          }),
        ),
      );
    };
    if (options.tank === 'file') {
      this.dest = new LogFile(options.file, maxLength, { error: failed, drop: dropped, resumed });
    } else {
      const boom = pinoModule.destination({ dest: 1, sync: false, maxLength });
      boom.on('error', (e: NodeJS.ErrnoException) => failed(e.code ?? e.message));
      boom.on('drop', (data: string | Buffer) => dropped(countLines(data)));
      boom.on('write', resumed);
      this.dest = boom;
    }
    const dest = this.dest;
    const tail = this.tail;
    const stream: pino.DestinationStream =
      options.format === 'text'
        ? { write: (s: string) => (tail.write(s), void dest.write(formatTextLine(s))) }
        : { write: (s: string) => (tail.write(s), dest.write(s)) };
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

  /** Write failures and dropped lines since start (for /api/v1/summaries and /metrics). */
  stats(): LogStats {
    return { writeFailures: this.writeFailures, droppedLines: this.droppedLines };
  }

  /**
   * SIGUSR1: reopen the file logrotate has moved away; lines written meanwhile land in one file.
   * fds 1 and 2, when they were the old file (a daemon's: Node's own crash output goes there), are
   * pointed at the new one, so no fd keeps a rotated or deleted file open. A dup2 that fails is
   * logged ("dup2(7, 1): EBADF"), not thrown: the log itself has been reopened by then.
   */
  reopen(): void {
    if (this.options.tank !== 'file') return;
    const dest = this.dest as LogFile;
    const old = fstatOf(dest.fd);
    const onto = old === null ? [] : [1, 2].filter((fd) => sameFile(fstatOf(fd), old));
    try {
      dest.reopen();
    } catch (e) {
      // the old file stays open and keeps the lines: nothing is lost, logrotate can be rerun
      this.logger.warn({ file: this.options.file, error: (e as Error).message }, `log reopen failed, still writing to the previous file: ${(e as Error).message}`);
      return;
    }
    // a sync destination has opened the new file by now; one busy writing reopens when it is done
    if (onto.length === 0 || this.options.dup2 === undefined || dest.fd === -1 || sameFile(fstatOf(dest.fd), old)) return;
    for (const fd of onto) {
      try {
        this.options.dup2(dest.fd, fd);
      } catch (e) {
        this.logger.warn({ code: 'SRS_WARN_LOG_REOPEN', fd, error: (e as Error).message }, renderMessage('SRS_WARN_LOG_REOPEN', { fd, reason: (e as Error).message }));
      }
    }
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
    const dest = this.dest as { _writing?: boolean };
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

function fstatOf(fd: number): fs.Stats | null {
  try {
    return fs.fstatSync(fd);
  } catch {
    return null;
  }
}

function sameFile(a: fs.Stats | null, b: fs.Stats | null): boolean {
  return a !== null && b !== null && a.dev === b.dev && a.ino === b.ino;
}

/** An 8-character context id per connection, as SRS prints in `[cid]`. */
export function newContextId(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
