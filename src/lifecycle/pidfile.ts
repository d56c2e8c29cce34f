// The pid file is a lock, not a note: opened close-on-exec, flock'ed (through the addon, on the
// main thread), the pid written only once the lock is held, and held for the life of the process.
// A file nobody holds is stale whatever pid it names, so it is simply taken over.
import fs from 'node:fs';
import path from 'node:path';
import { SrsError, errnoCode } from '../errors';
import { native } from '../native';

export interface PidFileLock {
  /** where the file is now (an upgrade moves it to `.oldbin` and maybe back) */
  readonly path: string;
  /** rename the locked file; the lock is on the inode, so it moves with it */
  moveTo(newPath: string): void;
  readonly fd: number;
  /** the pid the file named before we took it over, when it was stale */
  readonly stalePid: number | null;
  /** write our pid (again), e.g. after an upgrade hands the file back */
  writePid(pid: number): void;
  /** remove and unlock (clean exit) */
  release(): void;
  /** unlock and close without removing (the upgrade moves it aside) */
  close(): void;
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

export function acquirePidFile(file: string, pid: number = process.pid): PidFileLock {
  const shown = path.relative(process.cwd(), file) || file;
  let fd: number;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // libuv opens with O_CLOEXEC: the lock never leaks into a child we start
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
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
  const previous = readPid(file);
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
    moveTo(newPath: string) {
      fs.renameSync(current, newPath);
      current = newPath;
    },
    fd,
    stalePid,
    writePid,
    release() {
      if (!open) return;
      open = false;
      // unlink while still holding the lock, so no other process can lock a file we then remove;
      // and only if it still names us (after an upgrade the new process owns srs.pid)
      try {
        if (readPid(current) === pid) fs.unlinkSync(current);
      } catch {
        // already gone: fine
      }
      fs.closeSync(fd);
    },
    close() {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}
