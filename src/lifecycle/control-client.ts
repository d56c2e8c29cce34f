// `srs -s reload|reopen|quit|stop|upgrade|status|pid` (nginx's -s, but it waits for the outcome):
// find the running server through the pid file of the config it is given, signal it, and report
// what happened, so init.d and systemd's ExecReload fail when a reload is refused (nginx#860).
import fs from 'node:fs';
import path from 'node:path';
import type { SignalVerb } from '../cli';
import { loadConfig } from '../config/load';
import { ExitCode, SrsError } from '../errors';
import { isPidFileLocked, readPid } from './pidfile';
import { reloadStatusPath } from './reload';

const VERB_SIGNALS: Partial<Record<SignalVerb, NodeJS.Signals>> = {
  reload: 'SIGHUP',
  reopen: 'SIGUSR1',
  quit: 'SIGQUIT',
  stop: 'SIGTERM',
  upgrade: 'SIGUSR2',
};

/** LSB status codes (init-functions): 0 running, 1 dead but the pid file exists, 3 not running. */
export const LSB = { RUNNING: 0, DEAD_WITH_PIDFILE: 1, NOT_RUNNING: 3 } as const;

/** A pid is gone when it does not exist or is a zombie waiting for a slow reaper. */
export function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function say(line: string): void {
  process.stdout.write(`srs: ${line}\n`);
}

function complain(line: string): void {
  process.stderr.write(`srs: ${line}\n`);
}

async function until(deadline: number, check: () => boolean, stepMs = 20): Promise<boolean> {
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

interface ReloadRecord {
  ok: boolean;
  error: string | null;
  applied: string[];
  ignored: string[];
  started_at: number;
  pid: number;
}


export async function runSignalCommand(
  cmd: { verb: SignalVerb; file: string | null; envOnly: boolean; timeoutMs: number },
  cwd: string,
): Promise<number> {
  let pidFile: string;
  try {
    const loaded = loadConfig({ file: cmd.file, envOnly: cmd.envOnly, env: process.env, cwd });
    const workDir = path.resolve(cwd, loaded.config.workDir || './');
    pidFile = path.resolve(workDir, loaded.config.pid);
  } catch (e) {
    if (cmd.verb === 'status') {
      complain(e instanceof Error ? e.message : String(e));
      return 4; // LSB: status unknown
    }
    if (e instanceof SrsError) {
      // Nothing was signalled: a running server keeps the config it has (nginx -s reload alike).
      complain(cmd.verb === 'reload' && e.exitCode === ExitCode.CONFIG ? `reload refused, the running config stays: ${e.message}` : e.message);
      return e.exitCode;
    }
    throw e;
  }
  // Relative to where the command runs when it lies below it (objs/srs.pid), absolute otherwise.
  const rel = path.relative(cwd, pidFile);
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : pidFile;
  const locked = isPidFileLocked(pidFile);
  const pid = readPid(pidFile);

  if (cmd.verb === 'pid') {
    process.stdout.write(`${pidFile}${locked && pid ? ` ${pid}` : ''}\n`);
    return locked ? ExitCode.OK : ExitCode.FAILURE;
  }
  if (cmd.verb === 'status') {
    if (locked && pid) {
      say(`running, pid ${pid} (${shown})`);
      return LSB.RUNNING;
    }
    if (fs.existsSync(pidFile)) {
      say(`not running, but ${shown} exists${pid ? ` (pid ${pid} is gone)` : ''}`);
      return LSB.DEAD_WITH_PIDFILE;
    }
    say(`not running (no ${shown})`);
    return LSB.NOT_RUNNING;
  }
  if (!locked || pid === null) {
    complain(`not running: ${fs.existsSync(pidFile) ? `${shown} is not locked by any process` : `no pid file ${shown}`}`);
    return ExitCode.FAILURE;
  }
  const signal = VERB_SIGNALS[cmd.verb]!;
  const deadline = Date.now() + cmd.timeoutMs;
  const statusFile = reloadStatusPath(pidFile);
  const sentAt = Date.now();
  try {
    process.kill(pid, signal);
  } catch (e) {
    complain(`kill -${signal} ${pid}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return ExitCode.FAILURE;
  }

  switch (cmd.verb) {
    case 'reload': {
      const r = await awaitRecord<ReloadRecord>(statusFile, (x) => x.pid === pid && x.started_at >= sentAt, pid, 'reload', deadline, cmd.timeoutMs);
      if (!r) return ExitCode.FAILURE;
      if (!r.ok) {
        complain(`reload refused, pid ${pid} keeps its running config: ${r.error ?? 'unknown error'}`);
        return ExitCode.CONFIG;
      }
      say(`reloaded pid ${pid}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'nothing changed'}${r.ignored.length ? `; needs a restart: ${r.ignored.join(', ')}` : ''}`);
      return ExitCode.OK;
    }
    case 'quit':
    case 'stop': {
      const gone = await until(deadline, () => processGone(pid), 10);
      if (!gone) {
        complain(`pid ${pid} still running ${cmd.timeoutMs / 1000}s after ${signal}`);
        return ExitCode.FAILURE;
      }
      say(`pid ${pid} quit (${signal})`);
      return ExitCode.OK;
    }
    case 'upgrade': {
      const r = await awaitRecord<UpgradeRecord>(`${pidFile}.upgrade`, (x) => x.old_pid === pid && x.started_at >= sentAt, pid, 'upgrade', deadline, cmd.timeoutMs);
      if (!r) return ExitCode.FAILURE;
      if (!r.ok) {
        complain(r.refused ? `upgrade refused by pid ${pid}: ${r.message}` : `upgrade failed, pid ${pid} keeps serving: ${r.message}`);
        return ExitCode.FAILURE;
      }
      say(`upgraded: pid ${r.new_pid} serves now; pid ${pid} drains and exits`);
      return ExitCode.OK;
    }
    default:
      say(`sent ${signal} to pid ${pid}`);
      return ExitCode.OK;
  }
}

interface UpgradeRecord {
  ok: boolean;
  /** refused before anything started (asprocess, PID 1, quitting) */
  refused?: boolean;
  message: string;
  old_pid: number;
  new_pid: number | null;
  started_at: number;
}

/**
 * Wait for the server's record of the outcome (written atomically next to the pid file) that
 * answers our signal; null, having said why, when the process died or the deadline passed.
 */
async function awaitRecord<T>(file: string, answers: (r: T) => boolean, pid: number, what: string, deadline: number, timeoutMs: number): Promise<T | null> {
  let record: T | null = null;
  await until(deadline, () => {
    const r = readJson<T>(file);
    if (r && answers(r)) record = r;
    return record !== null || processGone(pid);
  });
  if (record === null) {
    complain(processGone(pid) ? `pid ${pid} exited during the ${what}` : `pid ${pid} did not report the ${what}'s outcome within ${timeoutMs / 1000}s`);
  }
  return record;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}
