// The log file, written synchronously (a write to the page cache costs microseconds; lines stay in
// order through a reopen and an exit), with a bounded backlog for when the disk refuses them.
// Not SonicBoom's file mode: its flushSync retries a refused write forever (ENOSPC sleeps and loops),
// so a full disk would freeze the process at its first flush, and its backlog, once full, drops
// every later line without trying the disk again. Here a refused write is kept (up to
// `maxBacklogBytes`, then lines are dropped and counted), retried on a timer and with every new
// line, and never waited for.
import fs from 'node:fs';
import path from 'node:path';

/** ms between two retries of a refused backlog */
export const LOG_RETRY_MS = 500;

export interface LogFileEvents {
  /** a write was refused (ENOSPC, EIO...); the line stays in the backlog */
  error(code: string): void;
  /** lines dropped because the backlog was full */
  drop(lines: number): void;
  /** the backlog was written out after refusals: the disk takes lines again */
  resumed(): void;
}

export class LogFile {
  /** the open file's descriptor (-1 before the first open succeeds) */
  fd = -1;
  private backlog: string[] = [];
  private backlogBytes = 0;
  private retry: NodeJS.Timeout | null = null;
  private readonly file: string;
  private readonly maxBacklogBytes: number;
  private readonly events: LogFileEvents;

  /** Opens (creating the directory) for append; throws when it cannot: an unwritable log is a start-up error. */
  constructor(file: string, maxBacklogBytes: number, events: LogFileEvents) {
    this.file = file;
    this.maxBacklogBytes = maxBacklogBytes;
    this.events = events;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a');
  }

  write(line: string): boolean {
    // what waits goes first (lines stay in order); then this line, written or queued: a full
    // backlog must not drop a line the disk has room for now
    if (this.backlog.length > 0) this.drain();
    if (this.backlog.length > 0) {
      this.queue(line);
      return true;
    }
    const rest = this.writeOut(line);
    if (rest !== null) this.queue(rest);
    return true;
  }

  /** Writes what it can of `text`; returns what is left when the file refused the rest, else null. */
  private writeOut(text: string): string | null {
    let buf = Buffer.from(text, 'utf8');
    while (buf.length > 0) {
      let n: number;
      try {
        n = fs.writeSync(this.fd, buf);
      } catch (e) {
        this.events.error((e as NodeJS.ErrnoException).code ?? (e as Error).message);
        this.armRetry();
        return buf.toString('utf8');
      }
      buf = buf.subarray(n);
    }
    return null;
  }

  private queue(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.backlogBytes + bytes > this.maxBacklogBytes) {
      this.events.drop(countLines(text));
      return;
    }
    this.backlog.push(text);
    this.backlogBytes += bytes;
  }

  /** One attempt at the backlog, in order; stops at the first refusal. */
  private drain(): void {
    const hadBacklog = this.backlog.length > 0;
    while (this.backlog.length > 0) {
      const head = this.backlog[0]!;
      const rest = this.writeOut(head);
      if (rest !== null) {
        this.backlogBytes -= Buffer.byteLength(head) - Buffer.byteLength(rest);
        this.backlog[0] = rest;
        return;
      }
      this.backlog.shift();
      this.backlogBytes -= Buffer.byteLength(head);
    }
    if (hadBacklog) {
      if (this.retry) clearInterval(this.retry);
      this.retry = null;
      this.events.resumed();
    }
  }

  private armRetry(): void {
    if (this.retry) return;
    this.retry = setInterval(() => this.drain(), LOG_RETRY_MS);
    this.retry.unref();
  }

  /** SIGUSR1 (logrotate): the backlog goes to the new file. Throws when the new file cannot be opened (the old one stays). */
  reopen(): void {
    const fd = fs.openSync(this.file, 'a');
    const old = this.fd;
    this.fd = fd;
    try {
      fs.closeSync(old);
    } catch {
      // already closed
    }
    this.drain();
  }

  /** One attempt to write the backlog: never waits for a disk that refuses (a dying process must die). */
  flushSync(): void {
    this.drain();
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return Math.max(1, n);
}
