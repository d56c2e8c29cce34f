// File descriptors as a limit of their own. On EMFILE, libuv (Node 20) closes its spare fd,
// accepts every queued connection and closes it, and tells nobody: net.Server emits nothing, so
// a server at its fd limit drops clients without a trace. The guard keeps a headroom below
// RLIMIT_NOFILE and refuses (accepts, counts, closes) what would cross it, so the drops are
// counted and logged, and fds stay for the log, the files served and the API.
import fs from 'node:fs';

/** fds kept free below RLIMIT_NOFILE: the log, a served file, the API's own requests. */
export const FD_HEADROOM = 16;
/** How often the limit and the fds in use are read again (prlimit may change a running process). */
export const FD_REFRESH_MS = 1000;

/** The soft "Max open files" of /proc/<pid>/limits, or null when unlimited or unreadable. */
export function parseOpenFilesLimit(limitsText: string): number | null {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  if (!line) return null;
  const soft = line.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || soft === 'unlimited') return null;
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : null;
}

export interface FdSource {
  /** RLIMIT_NOFILE (soft), null if unknown or unlimited */
  limit(): number | null;
  /** fds open in this process now */
  open(): number;
}

export const procFdSource: FdSource = {
  limit: () => {
    try {
      return parseOpenFilesLimit(fs.readFileSync('/proc/self/limits', 'utf8'));
    } catch {
      return null;
    }
  },
  open: () => {
    try {
      return fs.readdirSync('/proc/self/fd').length;
    } catch {
      return 0;
    }
  },
};

/**
 * SRS's start-time check (srs_app_server.cpp): max_connections plus the listeners and the
 * standard fds must fit RLIMIT_NOFILE. Returns the warning line, or null when it fits or the
 * limit is unknown. SRS refuses to start; srs warns and counts the refusals at run time.
 */
export function maxConnectionsFitCheck(maxConnections: number, listeners: number, limit: number | null): string | null {
  if (limit === null) return null;
  // stdin, stdout, stderr, the log, the pid file, the epoll and event fds node keeps
  const consumed = listeners + 8;
  const total = maxConnections + consumed;
  if (total < limit) return null;
  const canBe = Math.max(0, limit - consumed - 1);
  return `invalid max_connections=${maxConnections}, required=${total + 100}, system limit to ${limit}, total=${total}(max_connections=${maxConnections}, nb_consumed_fds=${consumed}). you can change max_connections from ${maxConnections} to ${canBe}, or you can login as root and set the limit: ulimit -HSn ${total + 100}`;
}

export interface FdGuardOptions {
  source: FdSource;
  now: () => number;
  /** open connections (each one fd): how the use moves between two reads of /proc */
  connections: () => number;
  /** one line per period: the first refusal at once, then the count of the ones after it */
  report: (line: { first: boolean; count: number; role: string; limit: number | null; inUse: number; code: string }) => void;
  /** runs fn once after ms (unref'd in the server): closes a one-second reporting window */
  later: (fn: () => void, ms: number) => void;
  headroom?: number;
  refreshMs?: number;
}

/** Counts and refuses connections that would leave the process without fds. */
export class FdGuard {
  private readonly o: Required<FdGuardOptions>;
  private limitCache: number | null = null;
  /** fds that are not connections, as of the last read */
  private base = 0;
  private readAt = -Infinity;
  /** refusals since the process started (the metric) */
  total = 0;
  private windowOpen = false;
  private windowCount = 0;

  constructor(o: FdGuardOptions) {
    this.o = { headroom: FD_HEADROOM, refreshMs: FD_REFRESH_MS, ...o };
  }

  private refresh(): void {
    const now = this.o.now();
    if (now - this.readAt < this.o.refreshMs) return;
    this.readAt = now;
    this.limitCache = this.o.source.limit();
    if (this.limitCache !== null) this.base = Math.max(0, this.o.source.open() - this.o.connections());
  }

  /** fds in use now (estimated between reads), and the limit. */
  usage(): { inUse: number; limit: number | null } {
    this.refresh();
    return { inUse: this.base + this.o.connections(), limit: this.limitCache };
  }

  /**
   * A socket just accepted (its fd is open, not yet a connection): true when admitting it would
   * leave fewer than `headroom` fds; the caller closes it. Counted and reported.
   */
  refuse(role: string): boolean {
    const { inUse, limit } = this.usage();
    if (limit === null || inUse + 1 <= limit - this.o.headroom) return false;
    this.count(role, inUse + 1, limit, 'fd_limit');
    return true;
  }

  /** The accept itself failed (EMFILE/ENFILE reached net.Server): counted the same way. */
  acceptFailed(role: string, code: string): void {
    const { inUse, limit } = this.usage();
    this.count(role, inUse, limit, code);
  }

  private count(role: string, inUse: number, limit: number | null, code: string): void {
    this.total++;
    if (this.windowOpen) {
      this.windowCount++;
      return;
    }
    this.windowOpen = true;
    this.o.report({ first: true, count: 1, role, limit, inUse, code });
    this.o.later(() => {
      this.windowOpen = false;
      if (this.windowCount === 0) return;
      const u = this.usage();
      this.o.report({ first: false, count: this.windowCount, role, limit: u.limit, inUse: u.inUse, code });
      this.windowCount = 0;
    }, 1000);
  }
}
