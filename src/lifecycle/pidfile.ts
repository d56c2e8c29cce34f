// The pid file is a lock, not a note: opened close-on-exec, flock'ed (through the addon, on the
// main thread), the pid written only once the lock is held, and held for the life of the process.
// A file nobody holds is stale whatever pid it names, so it is simply taken over.
import fs from 'node:fs';
import path from 'node:path';
import { SrsError, errnoCode } from '../errors';
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
    throw new SrsError('SRS_ERR_PID_FILE', `pid file ${shown}: cannot open (${errnoCode(e) ?? String(e)})`);
  }
  try {
    native().flock(fd, shown, { exclusive: true, nonBlocking: true });
  } catch (e) {
    const code = errnoCode(e);
    fs.closeSync(fd);
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') {
      const holder = readPid(file);
      throw new SrsError(
        'SRS_ERR_PID_HELD',
        `pid file ${shown} is locked by a running srs${holder ? ` (pid ${holder})` : ''}: stop it first, or give this one another pid file`,
      );
    }
    throw new SrsError('SRS_ERR_PID_FILE', `pid file ${shown}: flock failed (${code ?? String(e)})`);
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
      if (attempt >= 10) throw new SrsError('SRS_ERR_PID_FILE', `pid file ${shown}: replaced under us ${attempt + 1} times`);
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
  let open = true;
  let current = file;
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
