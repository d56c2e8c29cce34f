// The one typed loader of the native addon (native/*.cc, built by `node-gyp rebuild` into
// build/Release/srs_native.node): only what Node cannot do. Loaded lazily by native(), so importing
// this module never fails. Every failed system call throws a NativeError: message
// "call(arg): ENAME", e.g. "flock(objs/srs.pid): EWOULDBLOCK".

import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';

/** An Error from a failed system call. */
export interface NativeError extends Error {
  /** errno name: 'EWOULDBLOCK', 'ENOENT', ... */
  code: string;
  /** the positive system errno (compare with ERRNO.ENOENT), not libuv's negative one */
  errno: number;
  /** the failed call: 'flock', 'open', 'execve', ... */
  syscall: string;
}

/** errno values (positive), as os.constants.errno. */
export const ERRNO = os.constants.errno;

export interface DaemonizeOptions {
  /** the program to execve (absolute, or relative to cwd) */
  file: string;
  /** the full argv, argv[0] included */
  argv: string[];
  /** the whole environment, 'K=V' strings */
  env: string[];
  /** the daemon's working directory */
  cwd: string;
  /** opened O_WRONLY|O_APPEND|O_CREAT 0644 as the daemon's fds 1 and 2; null = /dev/null */
  stdout: string | null;
  /** the daemon's end of the readiness pipe; default 3 */
  readyFd?: number;
}

export interface DaemonizeResult {
  /** the daemon's pid (the grandchild: not a session leader, no controlling tty) */
  pid: number;
  /**
   * Read end of the readiness pipe (O_CLOEXEC, blocking), owned by the caller. The "P<pid>" record
   * has been consumed; what follows is the daemon's own lines ("READY ...", "ERROR ..."), or an
   * "E<syscall> <errno>" record if a call failed before execve (see daemonRecordError), then EOF.
   */
  readFd: number;
}

export interface InotifyEvent {
  wd: number;
  mask: number;
  cookie: number;
  /** the entry's name inside a watched directory; '' for the watched object itself */
  name: string;
}

export interface InotifyHandle {
  /** inotify_add_watch: returns the watch descriptor */
  addWatch(path: string, mask: number): number;
  /** inotify_rm_watch: an IN_IGNORED event follows */
  rmWatch(wd: number): void;
  /** stops polling and closes the descriptor; the watcher no longer holds the loop. Idempotent. */
  close(): void;
  /** the watcher does not keep the process alive */
  unref(): void;
}

export interface FlockOptions {
  exclusive: boolean;
  nonBlocking: boolean;
}

/** The addon. Every function throws a NativeError when its system call fails. */
export interface Native {
  /**
   * Starts `file` as a daemon (fork, setsid, fork, execve; the calling process stays as it is)
   * and returns once the daemon has reported its pid. Throws if preparing failed (open of the log,
   * pipe2, fork) or the middle child's setsid/fork failed.
   */
  daemonize(opts: DaemonizeOptions): DaemonizeResult;
  /** flock(2); label names the file in the error; a held lock with nonBlocking throws EWOULDBLOCK */
  flock(fd: number, label: string, opts: FlockOptions): void;
  /** one datagram to systemd's notify socket: a path, or '@name' for an abstract socket */
  sdNotify(socketPath: string, message: string): void;
  /**
   * dup2(2): newFd now refers to oldFd's open file (a reopened log onto a daemon's fds 1 and 2).
   * Throws a NativeError "dup2(oldFd, newFd): EBADF".
   */
  dup2(oldFd: number, newFd: number): void;
  /** inotify on Node's event loop; every queued event is delivered in one batch */
  Inotify: new (onEvent: (events: InotifyEvent[]) => void) => InotifyHandle;
  readonly IN_MODIFY: number;
  readonly IN_ATTRIB: number;
  readonly IN_CLOSE_WRITE: number;
  readonly IN_MOVED_FROM: number;
  readonly IN_MOVED_TO: number;
  readonly IN_CREATE: number;
  readonly IN_DELETE: number;
  readonly IN_DELETE_SELF: number;
  readonly IN_MOVE_SELF: number;
  readonly IN_UNMOUNT: number;
  readonly IN_Q_OVERFLOW: number;
  readonly IN_IGNORED: number;
  readonly IN_MASK_ADD: number;
  readonly IN_ISDIR: number;
}

/** build/Release/srs_native.node relative to the package root (dist/.. or src/..). */
export const addonPath = path.join(__dirname, '..', 'build', 'Release', 'srs_native.node');

let loaded: Native | null = null;

/** The addon, loaded on first use; throws (saying to run `npm install`) if it is missing or unusable. */
export function native(): Native {
  if (loaded !== null) return loaded;
  try {
    loaded = require(addonPath) as Native;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const missing = err.code === 'MODULE_NOT_FOUND';
    throw new Error(
      `srs native addon ${missing ? 'not built' : 'unusable'} (${addonPath}): run \`npm install\` to build it` +
        (missing ? '' : `: ${err.message}`),
    );
  }
  return loaded;
}

/**
 * The NativeError for an "E<syscall> <errno>" record read from the readiness pipe (a call that
 * failed in the daemon before execve), or null if the line is not one. `arg` goes in the message:
 * daemonRecordError('Eexecve 2', '/usr/bin/node') -> "execve(/usr/bin/node): ENOENT".
 */
export function daemonRecordError(line: string, arg = ''): NativeError | null {
  const m = /^E([a-z_0-9]+) (\d+)$/.exec(line.trim());
  if (m === null) return null;
  const errno = Number(m[2]);
  let code: string;
  try {
    code = util.getSystemErrorName(-errno);
  } catch {
    code = `E${errno}`;
  }
  const err = new Error(`${m[1]}(${arg}): ${code}`) as NativeError;
  err.code = code;
  err.errno = errno;
  err.syscall = m[1];
  return err;
}
