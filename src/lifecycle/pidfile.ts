// The pid file is a lock, not a note: opened close-on-exec, flock'ed (through the addon, on the
// main thread), the pid written only once the lock is held, and held for the life of the process.
// A file nobody holds is stale whatever pid it names, so it is simply taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { srsError, errnoCode } from '../errors';
import { native } from '../native';

export interface PidFileLock {
  /** where this process's locked file is now (an upgrade sets it aside as `.oldbin`) */
  readonly path: string;
  readonly fd: number;
  /** the pid the file named before we took it over, when it was stale */
  readonly stalePid: number | null;
  /**
   * Upgrade: give the same locked file a second name (nginx's `.oldbin`) and answer to it from
   * now on. `srs.pid` keeps existing, and locked, until the new process renames its own over it:
   * a status check during the handover never finds "not running".
   */
  setAside(oldbin: string): void;
  /** The upgrade failed: `srs.pid` is ours again, whatever the new process left there. */
  restore(file: string): void;
  /** write our pid (again) */
  writePid(pid: number): void;
  /** remove and unlock (clean exit) */
  release(): void;
}

/** Whether `file` is the very file open on `fd` (same device and inode). */
function sameFile(fd: number, file: string): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.statSync(file);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

export function readPid(file: string): number | null {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Whether some process holds the lock on this pid file (without taking it). */
export function isPidFileLocked(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    native().flock(fd, file, { exclusive: false, nonBlocking: true });
    return false;
  } catch (e) {
    if (errnoCode(e) === 'EWOULDBLOCK' || errnoCode(e) === 'EAGAIN') return true;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

function openLocked(file: string, shown: string, flags: number): number {
  let fd: number;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // libuv opens with O_CLOEXEC: the lock never leaks into a child we start
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | flags, 0o644);
  } catch (e) {
    throw srsError('SRS_ERR_PID_FILE', { path: shown, reason: `cannot open (${errnoCode(e) ?? String(e)})` });
  }
  try {
    native().flock(fd, shown, { exclusive: true, nonBlocking: true });
  } catch (e) {
    const code = errnoCode(e);
    fs.closeSync(fd);
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') {
      const holder = readPid(file);
      throw srsError('SRS_ERR_PID_HELD', { path: shown, holder: holder ? ` (pid ${holder})` : '' });
    }
    throw srsError('SRS_ERR_PID_FILE', { path: shown, reason: `flock failed (${code ?? String(e)})` });
  }
  return fd;
}

/**
 * Lock the pid file and write our pid. `replace` (the new process of an upgrade, whose parent
 * still holds the file): lock a file of our own and rename it over the pid file, atomically.
 */
export function acquirePidFile(file: string, pid: number = process.pid, opts: { replace?: boolean } = {}): PidFileLock {
  const shown = path.relative(process.cwd(), file) || file;
  let fd = -1;
  let previous: number | null = null;
  if (opts.replace) {
    const mine = `${file}.new.${pid}`;
    fd = openLocked(mine, shown, fs.constants.O_TRUNC);
    fs.writeSync(fd, `${pid}\n`, 0);
    fs.renameSync(mine, file);
  } else {
    // The file we locked may have been unlinked by its quitting owner between our open and our
    // flock: then we hold a lock on a name nobody sees. Check, and take the new file.
    for (let attempt = 0; ; attempt++) {
      fd = openLocked(file, shown, 0);
      if (sameFile(fd, file)) break;
      fs.closeSync(fd);
      if (attempt >= 10) throw srsError('SRS_ERR_PID_FILE', { path: shown, reason: `replaced under us ${attempt + 1} times` });
    }
    previous = readPid(file);
  }
  const stalePid = previous !== null && previous !== pid ? previous : null;
  const writePid = (p: number): void => {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${p}\n`, 0);
    fs.fsyncSync(fd);
  };
  writePid(pid);
  // what a process that held this file before us left behind (killed: it could not clean up)
  if (!opts.replace) removeStaleRecords(file);
  let open = true;
  let current = file;
  // The new process of an upgrade: the parent's `.oldbin` is a name of the parent's lock. A parent
  // killed (-9) cannot remove it; nobody else would, so sweep it once its lock is free.
  let oldbinSweep: NodeJS.Timeout | null = null;
  if (opts.replace) {
    oldbinSweep = setInterval(() => {
      const oldbin = `${file}.oldbin`;
      if (!fs.existsSync(oldbin)) {
        if (oldbinSweep) clearInterval(oldbinSweep);
        oldbinSweep = null;
        return;
      }
      removeStaleOldbin(file);
    }, OLDBIN_SWEEP_MS);
    oldbinSweep.unref();
  }
  return {
    get path() {
      return current;
    },
    fd,
    stalePid,
    writePid,
    setAside(oldbin: string) {
      try {
        fs.unlinkSync(oldbin);
      } catch {
        // none left over
      }
      fs.linkSync(current, oldbin);
      current = oldbin;
    },
    restore(target: string) {
      if (current === target) return;
      if (sameFile(fd, target)) fs.unlinkSync(current);
      else fs.renameSync(current, target);
      current = target;
    },
    release() {
      if (!open) return;
      open = false;
      if (oldbinSweep) clearInterval(oldbinSweep);
      // records die with the process that wrote them (a success of an upgrade stays while the
      // new process it names runs: that one removes it at its own exit)
      removeRecords(file, pid);
      // unlink while still holding the lock, so no other process can lock a file we then remove;
      // and only our own file (after an upgrade the new process owns srs.pid)
      try {
        if (sameFile(fd, current)) fs.unlinkSync(current);
      } catch {
        // already gone: fine
      }
      fs.closeSync(fd);
    },
  };
}

/** How often the new process of an upgrade looks whether its parent's `.oldbin` is left over. */
export const OLDBIN_SWEEP_MS = 1000;

/** A pid is gone when it does not exist or is a zombie waiting for a slow reaper (from /proc). */
export function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

// Records: what a running srs leaves next to its pid file for `srs -s` to read (`.reload`: the
// last reload's outcome; `.upgrade`: the last SIGUSR2's). Each names the pids it is about; it
// dies with them: its writer removes it at a clean exit, any reader removes one whose pids are all
// gone. When the pid file's directory is not writable (read-only mount, chmod 555 after start),
// a record goes to a fallback named by its writer's pid in the temp dir, which readers look at too.

export type RecordKind = 'reload' | 'upgrade';
export const RECORD_KINDS: readonly RecordKind[] = ['reload', 'upgrade'];

/** `<pid file>.<kind>`: where a record lives. */
export function recordPath(pidPath: string, kind: RecordKind): string {
  return `${pidPath}.${kind}`;
}

/** Where a record of `writerPid` goes when its pid file's directory cannot take it. */
export function fallbackRecordPath(kind: RecordKind, writerPid: number, tmp: string = os.tmpdir()): string {
  return path.join(tmp, `srs.${writerPid}.${kind}`);
}

/** The pids a record is about (`pid`, or `old_pid` and `new_pid`). */
export function recordPids(record: unknown): number[] {
  if (!record || typeof record !== 'object') return [];
  const r = record as Record<string, unknown>;
  return [r.pid, r.old_pid, r.new_pid].filter((p): p is number => typeof p === 'number' && Number.isInteger(p) && p > 0);
}

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp.${process.pid}`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never written
    }
    throw e;
  }
}

/**
 * Write a record atomically next to the pid file, or, when that fails (EROFS, EACCES, ENOSPC...),
 * to its fallback. Returns the file written; throws the first error when neither could be.
 */
export function writeRecord(pidPath: string, kind: RecordKind, record: object, writerPid: number = process.pid): string {
  const text = JSON.stringify(record) + '\n';
  const primary = recordPath(pidPath, kind);
  const fallback = fallbackRecordPath(kind, writerPid);
  try {
    writeAtomically(primary, text);
  } catch (e) {
    try {
      writeAtomically(fallback, text);
      return fallback;
    } catch {
      throw e;
    }
  }
  // an older fallback of ours must not be read for this one
  try {
    fs.unlinkSync(fallback);
  } catch {
    // none
  }
  return primary;
}

/**
 * The records of `kind` a reader should look at for a server of pid `pid`, freshest first:
 * next to the pid file and in the writer's fallback. Parsed, unfiltered.
 */
export function readRecords(pidPath: string, kind: RecordKind, pid: number): unknown[] {
  return [recordPath(pidPath, kind), fallbackRecordPath(kind, pid)].map(readJsonFile).filter((r) => r !== null);
}

/**
 * Remove `file` when keep(record) is false, without removing a record another process renames
 * over it meanwhile: the file is moved aside first, checked, and put back when it must stay.
 */
function removeRecordIf(file: string, drop: (record: unknown) => boolean): void {
  const record = readJsonFile(file);
  if (record === null || !drop(record)) return;
  const aside = `${file}.gone.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // gone already, or the directory cannot be written
  }
  const moved = readJsonFile(aside);
  if (moved !== null && !drop(moved)) {
    try {
      fs.linkSync(aside, file); // fails when a newer record took the name meanwhile: that one wins
    } catch {
      // a newer one is there
    }
  }
  try {
    fs.unlinkSync(aside);
  } catch {
    // nothing to do
  }
}

/**
 * A clean exit of `ownerPid`: remove the records it is named in, except those naming another
 * pid that still runs (an upgrade's success names the new process, which serves on).
 */
export function removeRecords(pidPath: string, ownerPid: number = process.pid): void {
  const drop = (r: unknown): boolean => {
    const pids = recordPids(r);
    return pids.includes(ownerPid) && pids.every((p) => p === ownerPid || processGone(p));
  };
  for (const kind of RECORD_KINDS) {
    removeRecordIf(recordPath(pidPath, kind), drop);
    removeRecordIf(fallbackRecordPath(kind, ownerPid), drop);
  }
}

/** Remove `.oldbin` when no process holds its lock (its process was killed). */
export function removeStaleOldbin(pidPath: string): void {
  const oldbin = `${pidPath}.oldbin`;
  try {
    if (fs.existsSync(oldbin) && !isPidFileLocked(oldbin)) fs.unlinkSync(oldbin);
  } catch {
    // unwritable directory, or taken meanwhile: a later reader tries again
  }
}

/**
 * A reader's sweep: remove a `.oldbin` nobody holds and the records whose pids are all gone
 * (their processes were killed), so that a stale record is never read as an answer.
 */
export function removeStaleRecords(pidPath: string): void {
  removeStaleOldbin(pidPath);
  const dead = (r: unknown): boolean => {
    const pids = recordPids(r);
    return pids.length > 0 && pids.every(processGone);
  };
  for (const kind of RECORD_KINDS) removeRecordIf(recordPath(pidPath, kind), dead);
  let names: string[] = [];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^srs\.(\d+)\.(reload|upgrade)$/.exec(name);
    if (m && processGone(Number(m[1]))) removeRecordIf(path.join(os.tmpdir(), name), dead);
  }
}
