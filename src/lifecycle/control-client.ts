// `srs -s reload|reopen|quit|stop|upgrade|status|pid` (nginx's -s, but it waits for the outcome):
// find the running server through the pid file of the config it is given, signal it, and report
// what happened, so init.d and systemd's ExecReload fail when a reload is refused (nginx#860).
//
// The running server is found whatever its config file says now: a config that no longer parses
// (edited since the start) still names its pid file, read leniently (only the top-level `pid` and
// `work_dir`, as the server read them at its start); without those, SRS's default ./objs/srs.pid.
// The server itself judges a broken config: a reload is signalled and its refusal reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SignalVerb } from '../cli';
import { loadConfig } from '../config/load';
import { ExitCode, SrsError, codedLine, renderMessage, type ErrorCode } from '../errors';
import { fallbackRecordPath, isPidFileLocked, processGone, readPid, readRecords, recordPath, removeStaleRecords, type RecordKind } from './pidfile';

export { processGone } from './pidfile';

const VERB_SIGNALS: Partial<Record<SignalVerb, NodeJS.Signals>> = {
  reload: 'SIGHUP',
  reopen: 'SIGUSR1',
  quit: 'SIGQUIT',
  stop: 'SIGTERM',
  upgrade: 'SIGUSR2',
};

/** LSB status codes (init-functions): 0 running, 1 dead but the pid file exists, 3 not running, 4 unknown. */
export const LSB = { RUNNING: 0, DEAD_WITH_PIDFILE: 1, NOT_RUNNING: 3, UNKNOWN: 4 } as const;

/** SRS's default pid file (srs_app_config.cpp, SRS_CONF_DEFAULT_PID_FILE), relative to work_dir. */
export const DEFAULT_PID_FILE = './objs/srs.pid';

/** A lenient read stops at this many bytes of a file, and at this many files (main + includes). */
const LENIENT_MAX_BYTES = 1 << 20;
const LENIENT_MAX_FILES = 16;

function say(line: string): void {
  process.stdout.write(`srs: ${line}\n`);
}

/** A failure carries its catalogue code (`srs: CODE message`); a warning line has none. */
function complain(line: string, code?: ErrorCode): void {
  process.stderr.write(`srs: ${code ? codedLine(code, line) : line}\n`);
}

async function until(deadline: number, check: () => boolean, stepMs = 20): Promise<boolean> {
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

/** The top-level directives a control command needs, as written (first one wins, as in SRS). */
export interface TopLevel {
  pid?: string;
  workDir?: string;
  /** top-level `include` arguments, in order */
  includes: string[];
}

/**
 * Pure: the top-level `pid`, `work_dir` and `include` of a config text, surviving any other error
 * (unknown directives, bad values, arguments on the next line, unbalanced braces). SRS grammar:
 * `#` comments, quoted strings, `;` `{` `}`; YAML (by file name): `pid:` / `work_dir:` at column 0.
 */
export function scanTopLevel(text: string, file: string): TopLevel {
  const out: TopLevel = { includes: [] };
  const take = (name: string, args: string[]): void => {
    if (name === 'pid' && args.length === 1 && out.pid === undefined) out.pid = args[0];
    else if (name === 'work_dir' && args.length === 1 && out.workDir === undefined) out.workDir = args[0];
    else if (name === 'include') out.includes.push(...args);
  };
  if (/\.ya?ml$/i.test(file)) {
    for (const line of text.split('\n')) {
      const m = /^(pid|work_dir)\s*:\s*(?:"([^"]*)"|'([^']*)'|([^#\s][^#]*?))\s*(?:#.*)?$/.exec(line.replace(/\r$/, ''));
      if (m) take(m[1]!, [m[2] ?? m[3] ?? m[4] ?? '']);
    }
    return out;
  }
  let depth = 0;
  let stmt: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
    } else if (ch === ';' || ch === '{' || ch === '}') {
      if (ch === ';' && depth === 0 && stmt.length > 0) take(stmt[0]!, stmt.slice(1));
      stmt = [];
      depth = ch === '{' ? depth + 1 : ch === '}' ? Math.max(0, depth - 1) : depth;
      i++;
    } else if (ch === '"' || ch === "'") {
      const end = text.indexOf(ch, i + 1);
      stmt.push(text.slice(i + 1, end < 0 ? n : end));
      i = end < 0 ? n : end + 1;
    } else {
      const start = i;
      while (i < n && !' \t\r\n;{}#"\''.includes(text[i]!)) i++;
      stmt.push(text.slice(start, i));
    }
  }
  return out;
}

/** A regular file's text, capped; null when it is not a readable regular file. */
function readRegular(file: string): string | null {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named as a config must not block the open
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return null;
    const buf = Buffer.alloc(LENIENT_MAX_BYTES);
    const got = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, got).toString('utf8');
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Where the running server's pid file is, and how that was found. */
export interface PidFileLocation {
  file: string;
  /** 'config': the config loads; 'lenient': read from a config that does not; 'default': neither named one */
  how: 'config' | 'lenient' | 'default';
  /** why the config did not load (file:line:col: ...), when it did not */
  problem: string | null;
  /** the config file could not be read at all: the default path is a guess */
  guess: boolean;
}

/**
 * The pid file a control command acts on. The config is loaded as a start would; when that fails
 * with a config error (exit 3), the top-level `pid` and `work_dir` are read leniently from the
 * file and its top-level includes (regular files only, capped), the SRS_PID / SRS_WORK_DIR
 * variables winning as they do at a start. Other errors (usage) are thrown.
 */
export function locatePidFile(
  cmd: { file: string | null; envOnly: boolean },
  cwd: string,
  env: Record<string, string | undefined>,
): PidFileLocation {
  const at = (workDir: string, pid: string): string => path.resolve(path.resolve(cwd, workDir || './'), pid);
  try {
    const loaded = loadConfig({ file: cmd.file, envOnly: cmd.envOnly, env, cwd });
    return { file: at(loaded.config.workDir, loaded.config.pid), how: 'config', problem: null, guess: false };
  } catch (e) {
    if (!(e instanceof SrsError) || e.exitCode !== ExitCode.CONFIG) throw e;
    const found: TopLevel = { includes: [] };
    let guess = false;
    if (!cmd.envOnly && cmd.file !== null) {
      const queue = [cmd.file];
      const seen = new Set<string>();
      while (queue.length > 0 && seen.size < LENIENT_MAX_FILES) {
        const abs = path.resolve(cwd, queue.shift()!);
        if (seen.has(abs)) continue;
        seen.add(abs);
        const text = readRegular(abs);
        if (text === null) {
          if (seen.size === 1) guess = true;
          continue;
        }
        const top = scanTopLevel(text, abs);
        found.pid ??= top.pid;
        found.workDir ??= top.workDir;
        queue.unshift(...top.includes); // an include's directives come where it stands
      }
    }
    const pid = env.SRS_PID || found.pid;
    const workDir = env.SRS_WORK_DIR || found.workDir || './';
    const how = pid ? 'lenient' : 'default';
    return { file: at(workDir, pid || DEFAULT_PID_FILE), how, problem: codedLine(e.code, e.message), guess: guess && !env.SRS_PID };
  }
}

/**
 * The srs processes running `configFile` (`-c FILE` resolved against their working directory),
 * with the pid file each holds, found through the kernel: /proc/locks names the processes holding
 * a flock, their /proc/PID/fd the locked file. What `-s` falls back on when the pid file the config
 * names now is not held (its `pid` directive was edited since the start): systemd knows its
 * MAINPID, this is ours. A draining old process of an upgrade (holding `.oldbin`) comes last.
 */
export function serversOfConfig(configFile: string, proc = '/proc'): Array<{ pid: number; pidFile: string }> {
  const inodes = new Map<number, Set<number>>();
  let locks = '';
  try {
    locks = fs.readFileSync(path.join(proc, 'locks'), 'utf8');
  } catch {
    return [];
  }
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 26207 00:27:14 0 EOF" (major:minor:inode)
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (!inodes.has(pid)) inodes.set(pid, new Set());
    inodes.get(pid)!.add(Number(m[2]));
  }
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return p;
    }
  };
  const wanted = real(configFile);
  const found: Array<{ pid: number; pidFile: string }> = [];
  for (const [pid, held] of inodes) {
    try {
      const argv = fs.readFileSync(path.join(proc, String(pid), 'cmdline'), 'utf8').split('\0');
      const i = argv.indexOf('-c');
      if (i < 0 || !argv[i + 1]) continue;
      const cwd = fs.readlinkSync(path.join(proc, String(pid), 'cwd'));
      if (real(path.resolve(cwd, argv[i + 1]!)) !== wanted) continue;
      const fdDir = path.join(proc, String(pid), 'fd');
      for (const fd of fs.readdirSync(fdDir)) {
        try {
          const st = fs.statSync(path.join(fdDir, fd));
          if (!st.isFile() || !held.has(st.ino)) continue;
          const target = fs.readlinkSync(path.join(fdDir, fd));
          if (!target.endsWith(' (deleted)')) found.push({ pid, pidFile: target });
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found.sort((a, b) => Number(a.pidFile.endsWith('.oldbin')) - Number(b.pidFile.endsWith('.oldbin')));
}

/** Whether this process could create a file in dir (access(2): read-only mounts, modes, immutable). */
function dirWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

interface ReloadRecord {
  ok: boolean;
  error: string | null;
  applied: string[];
  ignored: string[];
  started_at: number;
  pid: number;
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

export async function runSignalCommand(
  cmd: { verb: SignalVerb; file: string | null; envOnly: boolean; timeoutMs: number },
  cwd: string,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let where: PidFileLocation;
  try {
    where = locatePidFile(cmd, cwd, env);
  } catch (e) {
    if (e instanceof SrsError) {
      complain(e.message, e.code);
      return cmd.verb === 'status' ? LSB.UNKNOWN : e.exitCode;
    }
    throw e;
  }
  // Relative to where the command runs when it lies below it (objs/srs.pid), absolute otherwise.
  const showPath = (file: string): string => {
    const rel = path.relative(cwd, file);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  };
  let pidFile = where.file;
  if (where.problem !== null) {
    const from = where.how === 'lenient' ? 'its pid directive' : where.guess ? 'the default, as the config cannot be read' : 'the default, as it names none';
    complain(`warning: ${where.problem}`);
    complain(`warning: the config does not load; pid file ${showPath(pidFile)} from ${from}`);
  }
  let locked = isPidFileLocked(pidFile);
  if (!locked && cmd.file !== null && !cmd.envOnly) {
    // the config names another pid file than the server running it holds (edited since)
    const running = serversOfConfig(path.resolve(cwd, cmd.file))[0];
    if (running) {
      complain(`warning: ${showPath(pidFile)} is not held, but pid ${running.pid} runs ${cmd.file} and holds ${showPath(running.pidFile)}: using that`);
      pidFile = running.pidFile;
      locked = isPidFileLocked(pidFile);
    }
  }
  const shown = showPath(pidFile);
  // a reader removes what killed processes left (pidfile.ts: records die with their pids)
  removeStaleRecords(pidFile);
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
    if (where.guess) {
      say(`unknown: the config cannot be read and no srs holds the default pid file ${shown}`);
      return LSB.UNKNOWN;
    }
    say(`not running (no ${shown})`);
    return LSB.NOT_RUNNING;
  }
  if (!locked || pid === null) {
    complain(renderMessage('SRS_ERR_NOT_RUNNING', { detail: fs.existsSync(pidFile) ? `${shown} is not locked by any process` : `no pid file ${shown}` }), 'SRS_ERR_NOT_RUNNING');
    return ExitCode.FAILURE;
  }
  const signal = VERB_SIGNALS[cmd.verb]!;
  const deadline = Date.now() + cmd.timeoutMs;
  // Whether the server can leave its outcome where we look: next to the pid file, or in its
  // fallback in the temp dir (pidfile.ts writeRecord). When neither can take it, waiting is
  // pointless: say so at once rather than at the timeout.
  const recordKind: RecordKind | null = cmd.verb === 'reload' || cmd.verb === 'upgrade' ? cmd.verb : null;
  const dir = path.dirname(pidFile);
  const recordable = recordKind === null || dirWritable(dir) || dirWritable(os.tmpdir());
  const sentAt = Date.now();
  try {
    process.kill(pid, signal);
  } catch (e) {
    complain(`kill -${signal} ${pid}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'SRS_ERR_SIGNAL');
    return ExitCode.FAILURE;
  }
  if (recordKind !== null && !recordable) {
    complain(
      `sent ${signal} to pid ${pid}, but the ${recordKind}'s outcome cannot be known here: neither ${dir} nor ${os.tmpdir()} is writable, ` +
        `so pid ${pid} cannot record it (${recordPath(pidFile, recordKind)}, ${fallbackRecordPath(recordKind, pid)}); see its log`,
      'SRS_ERR_TIMEOUT',
    );
    return ExitCode.FAILURE;
  }
  if (recordKind !== null && !dirWritable(dir)) {
    complain(`${dir} is not writable: waiting for pid ${pid}'s record in ${fallbackRecordPath(recordKind, pid)}`);
  }

  switch (cmd.verb) {
    case 'reload': {
      const r = await awaitRecord<ReloadRecord>(pidFile, 'reload', (x) => x.pid === pid && x.started_at >= sentAt, pid, deadline, cmd.timeoutMs);
      if (!r) return ExitCode.FAILURE;
      if (!r.ok) {
        complain(renderMessage('SRS_ERR_RELOAD_FAILED', { pid, reason: r.error ?? 'unknown error' }), 'SRS_ERR_RELOAD_FAILED');
        return ExitCode.CONFIG;
      }
      say(`reloaded pid ${pid}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'nothing changed'}${r.ignored.length ? `; needs a restart: ${r.ignored.join(', ')}` : ''}`);
      return ExitCode.OK;
    }
    case 'quit':
    case 'stop': {
      const gone = await until(deadline, () => processGone(pid), 10);
      if (!gone) {
        complain(`pid ${pid} still running ${cmd.timeoutMs / 1000}s after ${signal}`, 'SRS_ERR_TIMEOUT');
        return ExitCode.FAILURE;
      }
      say(`pid ${pid} quit (${signal})`);
      return ExitCode.OK;
    }
    case 'upgrade': {
      const r = await awaitRecord<UpgradeRecord>(pidFile, 'upgrade', (x) => x.old_pid === pid && x.started_at >= sentAt, pid, deadline, cmd.timeoutMs);
      if (!r) return ExitCode.FAILURE;
      if (!r.ok) {
        complain(r.refused ? `upgrade refused by pid ${pid}: ${r.message}` : `upgrade failed, pid ${pid} keeps serving: ${r.message}`, 'SRS_ERR_UPGRADE');
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

/**
 * Wait for the server's record of the outcome (next to the pid file, or in its fallback) that
 * answers our signal; null, having said why, when the process died or the deadline passed.
 */
async function awaitRecord<T>(pidFile: string, kind: RecordKind, answers: (r: T) => boolean, pid: number, deadline: number, timeoutMs: number): Promise<T | null> {
  let record: T | null = null;
  await until(deadline, () => {
    for (const r of readRecords(pidFile, kind, pid) as T[]) {
      if (answers(r)) {
        record = r;
        break;
      }
    }
    return record !== null || processGone(pid);
  });
  if (record === null) {
    const dir = path.dirname(pidFile);
    const why = dirWritable(dir) ? '' : ` (${dir} is not writable, nor was ${fallbackRecordPath(kind, pid)} written: see its log)`;
    complain(processGone(pid) ? `pid ${pid} exited during the ${kind}` : `pid ${pid} did not report the ${kind}'s outcome within ${timeoutMs / 1000}s${why}`, processGone(pid) ? 'SRS_ERR_DAEMON' : 'SRS_ERR_TIMEOUT');
  }
  return record;
}
