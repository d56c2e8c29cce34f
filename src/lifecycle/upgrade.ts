// Zero-downtime upgrade (design.md 7, nginx's SIGUSR2): the running srs starts the installed
// launcher again with its listening sockets inherited as fds (never SO_REUSEPORT, which resets the
// connections still queued on a socket that closes: the socket here stays open across the
// handover, only its owner changes). The new process reports ready on a pipe; only then does the
// old one close its copies and drain.
import type ChildProcess from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type pino from 'pino';
import { READY_FD_ENV } from './daemon';
import { writeRecord, type PidFileLock } from './pidfile';

export const INHERITED_ENV = 'SRS_INHERITED_FDS';
export const PARENT_ENV = 'SRS_UPGRADE_PARENT';
export const GENERATION_ENV = 'SRS_GENERATION';
/** host:port of the old process's private RTMP listener: the new process pulls its live streams there */
export const RELAY_ENV = 'SRS_UPGRADE_RELAY';
export const UPGRADE_READY_TIMEOUT_MS = 30_000;

export interface InheritedSockets {
  /** listening fds by endpoint key (`rtmp@0.0.0.0:1935`, `http@0.0.0.0:1985`) */
  fds: Map<string, number>;
  parentPid: number | null;
  generation: number;
  /** the old process's relay (host:port), or null */
  relay: string | null;
}

/** Pure: what the previous process handed over, from the environment. */
export function inheritedFromEnv(env: Record<string, string | undefined>): InheritedSockets {
  const fds = new Map<string, number>();
  for (const part of (env[INHERITED_ENV] ?? '').split(',')) {
    const i = part.lastIndexOf('=');
    if (i <= 0) continue;
    const fd = Number(part.slice(i + 1));
    if (Number.isInteger(fd) && fd > 2) fds.set(part.slice(0, i), fd);
  }
  const parent = Number(env[PARENT_ENV]);
  const generation = Number(env[GENERATION_ENV]);
  return {
    fds,
    parentPid: Number.isInteger(parent) && parent > 0 ? parent : null,
    generation: Number.isInteger(generation) && generation > 0 ? generation : 1,
    relay: /^[\w.:[\]-]+:\d+$/.test(env[RELAY_ENV] ?? '') ? env[RELAY_ENV]! : null,
  };
}

/** Our children must not think they were handed sockets. */
export function clearUpgradeEnv(env: Record<string, string | undefined>): void {
  delete env[INHERITED_ENV];
  delete env[PARENT_ENV];
  delete env[GENERATION_ENV];
  delete env[RELAY_ENV];
}

export interface UpgradeOutcome {
  ok: boolean;
  pid: number | null;
  /** the new process's READY summary, or why it failed */
  message: string;
}

/**
 * Start the new process with the listening fds at 4.., the readiness pipe at 3, and wait for its
 * word. On failure the new process is killed if it is still there.
 */
export interface UpgradeLaunch {
  outcome: Promise<UpgradeOutcome>;
  /** a quit while the new process starts: kill it, the outcome is a failure with this reason */
  abort(reason: string): void;
}

export function launchUpgrade(opts: {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  sockets: Array<{ key: string; fd: number }>;
  generation: number;
  timeoutMs?: number;
}): UpgradeLaunch {
  const READY_AT = 3;
  const mapping = opts.sockets.map((s, i) => `${s.key}=${READY_AT + 1 + i}`).join(',');
  const env: Record<string, string | undefined> = {
    ...opts.env,
    [INHERITED_ENV]: mapping,
    [PARENT_ENV]: String(process.pid),
    [GENERATION_ENV]: String(opts.generation),
    [READY_FD_ENV]: String(READY_AT),
  };
  // required when an upgrade starts: child_process (and the dgram it loads) is no start-up cost
  const { spawn } = require('node:child_process') as typeof ChildProcess;
  const child = spawn(process.execPath, [...process.execArgv, ...opts.argv], {
    cwd: opts.cwd,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'inherit', 'inherit', 'pipe', ...opts.sockets.map((s) => s.fd)],
  });
  const timeoutMs = opts.timeoutMs ?? UPGRADE_READY_TIMEOUT_MS;
  let abort: (reason: string) => void = () => undefined;
  const outcome = new Promise<UpgradeOutcome>((resolve) => {
    let text = '';
    let settled = false;
    const settle = (o: UpgradeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!o.ok && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // the new process outlives us: nothing of ours may keep it, or us, tied
      child.unref();
      (child.stdio[3] as Readable | null)?.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => settle({ ok: false, pid: child.pid ?? null, message: `the new process did not report ready within ${timeoutMs / 1000}s: killed it` }), timeoutMs);
    child.once('error', (e) => settle({ ok: false, pid: null, message: `cannot start the new process: ${e.message}` }));
    // 'close', not 'exit': by then the pipe is drained, so its ERROR line is not missed
    child.once('close', (code, signal) => settle({ ok: false, pid: child.pid ?? null, message: `the new process exited (${signal ?? `code ${code}`}) before it was ready${text ? `: ${text.trim()}` : ''}` }));
    abort = (reason) => settle({ ok: false, pid: child.pid ?? null, message: reason });
    const pipe = child.stdio[3] as Readable | null;
    pipe?.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      for (const line of text.split('\n')) {
        if (line.startsWith('READY ')) return settle({ ok: true, pid: child.pid ?? null, message: line.slice(6) });
        const m = /^ERROR \d+ (.*)$/.exec(line);
        if (m) return settle({ ok: false, pid: child.pid ?? null, message: m[1]! });
      }
    });
    pipe?.on('error', () => undefined);
  });
  return { outcome, abort: (reason) => abort(reason) };
}

/**
 * `<pid file>.upgrade`: the outcome of the last SIGUSR2, which `srs -s upgrade` waits for. A
 * refused upgrade writes one too (`refused`), so that the command answers at once.
 */
export function writeUpgradeRecord(
  pidPath: string,
  r: { ok: boolean; message: string; new_pid: number | null; started_at: number; refused?: boolean },
  log: { warn(obj: object, msg: string): void },
): void {
  try {
    // next to the pid file, or in the fallback when its directory cannot take it (pidfile.ts)
    writeRecord(pidPath, 'upgrade', { ...r, old_pid: process.pid, at: Date.now() });
  } catch (e) {
    log.warn({ code: 'SRS_WARN_RECORD', err: e }, 'could not write the upgrade status file');
  }
}

/**
 * The old process's side of a handover: set the pid file aside, launch, wait, and record the
 * outcome next to the pid file (`-s upgrade` waits for it). On failure the pid file is ours
 * again and the reason is logged; on success the caller drains and leaves.
 */
export async function handOverSockets(opts: {
  log: pino.Logger;
  pidFile: PidFileLock;
  pidPath: string;
  sockets: Array<{ key: string; fd: number }>;
  generation: number;
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  trigger: string;
  /** the launch, as soon as there is one: a quit aborts it */
  onLaunch(launch: UpgradeLaunch): void;
}): Promise<UpgradeOutcome> {
  const { log, pidFile, pidPath, sockets, generation } = opts;
  const startedAt = Date.now();
  log.info({ trigger: opts.trigger, sockets: sockets.map((s) => s.key), generation }, `upgrade: starting a new srs with ${sockets.length} listening sockets`);
  pidFile.setAside(`${pidPath}.oldbin`);
  let outcome: UpgradeOutcome;
  try {
    const launch = launchUpgrade({ argv: opts.argv, env: opts.env, cwd: opts.cwd, sockets, generation });
    opts.onLaunch(launch);
    outcome = await launch.outcome;
  } catch (e) {
    // spawn itself can throw (E2BIG, EMFILE...): the same failure as a new process that died
    outcome = { ok: false, pid: null, message: e instanceof Error ? e.message : String(e) };
  }
  writeUpgradeRecord(pidPath, { ok: outcome.ok, message: outcome.message, new_pid: outcome.pid, started_at: startedAt }, log);
  if (!outcome.ok) {
    try {
      pidFile.restore(pidPath);
    } catch (e) {
      log.error({ code: 'SRS_ERR_UPGRADE', err: e }, `upgrade: cannot take the pid file back from ${pidFile.path}`);
    }
    log.error({ code: 'SRS_ERR_UPGRADE', new_pid: outcome.pid }, `upgrade failed, this process keeps serving: ${outcome.message}`);
    return outcome;
  }
  log.info({ new_pid: outcome.pid, generation, handover_ms: Date.now() - startedAt }, `upgrade: pid ${outcome.pid} (generation ${generation}) is ready; this process stops accepting and drains`);
  return outcome;
}
