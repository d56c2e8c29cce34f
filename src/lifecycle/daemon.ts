// Daemon mode done right (design.md 4): the addon fork-execs a fresh node (never fork-and-continue),
// and a pipe carries the daemon's readiness, or the error that stopped it, back to the command that
// started it. That command exits 0 only when every listener is bound and the pid file is locked.
import fs from 'node:fs';
import path from 'node:path';
import type { SrsConfig } from '../config/schema';
import { SrsError, srsError, ExitCode, errorCodeOf, isErrorCode, type ErrorCode, type ExitCodeValue } from '../errors';
import net from 'node:net';
import { native, daemonRecordError } from '../native';
import type { ContainerVerdict } from './container';

/** Set in the daemon's environment: the fd of the readiness pipe's write end. */
export const READY_FD_ENV = 'SRS_DAEMON_READY_FD';
export const READY_FD = 3;
export const READY_TIMEOUT_MS = 30_000;

export interface DaemonDecision {
  daemon: boolean;
  reason: string;
  /** `daemon on` overruled because we run in a container: the terminal is told once (SRS is silent) */
  ignoredInContainer?: boolean;
}

export interface DecisionInputs {
  config: Pick<SrsConfig, 'daemon' | 'disableDaemonForDocker' | 'asprocess'>;
  container: ContainerVerdict;
  env: Record<string, string | undefined>;
  pid: number;
  /** the pid whose upgrade (SIGUSR2) started us, if any */
  upgradedFrom?: number | null;
}

/** Pure: whether to go to the background, and the reason the start-up log line gives. */
export function decideDaemon({ config, container, env, pid, upgradedFrom }: DecisionInputs): DaemonDecision {
  if (upgradedFrom) return { daemon: false, reason: `started by the upgrade of pid ${upgradedFrom}: takes its place, no fork` };
  if (env[READY_FD_ENV] !== undefined) return { daemon: true, reason: 'running as the daemon started by srs' };
  if (!config.daemon) return { daemon: false, reason: 'daemon off' };
  if (env.NOTIFY_SOCKET) return { daemon: false, reason: 'NOTIFY_SOCKET is set: systemd (Type=notify) supervises this process' };
  if (pid === 1) return { daemon: false, reason: 'running as PID 1: a container init must stay in the foreground' };
  if (config.asprocess) return { daemon: false, reason: 'asprocess on: the parent supervises this process' };
  if (config.disableDaemonForDocker && container.inContainer) {
    return { daemon: false, reason: `in a container (${container.sign ?? '?'}: ${container.detail}), disable_daemon_for_docker on`, ignoredInContainer: true };
  }
  return { daemon: true, reason: container.inContainer ? 'daemon on, disable_daemon_for_docker off' : `daemon on, not in a container (${container.detail})` };
}

export interface StartResult {
  exitCode: ExitCodeValue;
  /** the catalogue code of a failure (the daemon's own, from the pipe); absent when ready */
  code?: ErrorCode;
  /** one line for the terminal: where the daemon listens, or why it did not start */
  message: string;
  pid: number | null;
}

/** The starter's side: launch the daemon and wait for its word. */
export async function startDaemon(opts: {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** the log file when the tank is file, so Node's own crash output lands there */
  stdout: string | null;
  timeoutMs?: number;
}): Promise<StartResult> {
  const env = Object.entries({ ...opts.env, [READY_FD_ENV]: String(READY_FD) })
    .filter((kv): kv is [string, string] => kv[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  let launched: { pid: number; readFd: number };
  try {
    // as the foreground log does (SonicBoom's mkdir): the same config starts either way
    if (opts.stdout !== null) fs.mkdirSync(path.dirname(opts.stdout), { recursive: true });
    launched = native().daemonize({
      file: process.execPath,
      argv: [process.execPath, ...process.execArgv, ...opts.argv],
      env,
      cwd: opts.cwd,
      stdout: opts.stdout,
      readyFd: READY_FD,
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if ((err.syscall === 'open' || err.syscall === 'mkdir') && opts.stdout !== null) {
      throw srsError('SRS_ERR_LOG_FILE', { path: opts.stdout, reason: err.code ?? '?' });
    }
    throw new SrsError('SRS_ERR_DAEMON', `cannot start the daemon: ${err.message}`);
  }
  const { pid, readFd } = launched;
  const text = await readAll(readFd, opts.timeoutMs ?? READY_TIMEOUT_MS);
  if (text === null) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    return { exitCode: ExitCode.FAILURE, code: 'SRS_ERR_DAEMON', pid, message: `daemon (pid ${pid}) did not report ready within ${(opts.timeoutMs ?? READY_TIMEOUT_MS) / 1000}s: killed it` };
  }
  return interpretReadiness(text, pid, opts.stdout);
}

/** Pure: what the daemon wrote on the pipe, as the starter's exit code and message. */
export function interpretReadiness(text: string, pid: number, logFile: string | null): StartResult {
  for (const line of text.split('\n')) {
    if (line.startsWith('READY ')) return { exitCode: ExitCode.OK, pid, message: line.slice(6) };
    if (line.startsWith('ERROR ')) {
      // `ERROR <exit> <CODE> <message>`; a record without the code (an older daemon) is SRS_ERR_DAEMON
      const m = /^ERROR (\d+) (?:(SRS_ERR_[A-Z0-9_]+) )?([\s\S]*)$/.exec(line);
      const code = m ? Number(m[1]) : ExitCode.FAILURE;
      const known = m?.[2] !== undefined && isErrorCode(m[2]) ? m[2] : 'SRS_ERR_DAEMON';
      return { exitCode: (code === 0 ? ExitCode.FAILURE : code) as ExitCodeValue, code: known, pid, message: m ? m[3]! : line };
    }
    // the addon's own record when execve or a call before it failed in the daemon
    const e = daemonRecordError(line, process.execPath);
    if (e) return { exitCode: ExitCode.FAILURE, code: 'SRS_ERR_DAEMON', pid, message: `daemon could not start: ${e.message}` };
  }
  const where = logFile ? `; see ${logFile}` : '';
  return { exitCode: ExitCode.FAILURE, code: 'SRS_ERR_DAEMON', pid, message: `daemon (pid ${pid}) exited before it was ready${where}` };
}

function readAll(fd: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    // a net.Socket on the pipe reads on the event loop, not on a thread-pool thread
    const stream = new net.Socket({ fd, readable: true, writable: false });
    const timer = setTimeout(() => {
      stream.destroy();
      resolve(null);
    }, timeoutMs);
    stream.on('data', (c: string | Buffer) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    const done = (): void => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    stream.on('end', done);
    stream.on('error', done);
  });
}

/** The daemon's side: report once, then close the pipe so the starter sees EOF. */
export class ReadinessReporter {
  private fd: number | null;

  constructor(env: Record<string, string | undefined>) {
    const raw = env[READY_FD_ENV];
    this.fd = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : null;
    // our children (an upgrade's new process) must not see the marker
    delete process.env[READY_FD_ENV];
  }

  get isDaemon(): boolean {
    return this.fd !== null;
  }

  ready(summary: string): void {
    this.send(`READY ${summary}\n`);
  }

  failed(error: unknown): void {
    const code = error instanceof SrsError ? error.exitCode : ExitCode.FAILURE;
    const message = (error instanceof Error ? error.message : String(error)).replace(/\n/g, ' ');
    this.send(`ERROR ${code} ${errorCodeOf(error)} ${message}\n`);
  }

  private send(text: string): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fs.writeSync(fd, text);
    } catch {
      // the starter was killed: nobody to tell
    }
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}
