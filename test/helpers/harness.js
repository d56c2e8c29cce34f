'use strict';
// Shared by the integration tests: temp dirs, free ports, spawning the real ./objs/srs, and waiting
// for events (a log line, a port, a pid gone) with deadlines, never sleeps.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, canConnect, request } = require('./net');

const ROOT = path.resolve(__dirname, '..', '..');
const SRS = path.join(ROOT, 'objs', 'srs');

/**
 * Processes started by this test file, by pid and start time: killed at exit of the file, even
 * when a test failed, and only if the pid still names the same process (pids are reused).
 */
const started = new Map();

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
function startTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Pid files of servers this file started: whoever they name at exit is ours too (a daemon or an
 * upgraded process the test never learnt the pid of, because it failed first). */
const pidFiles = new Set();

function trackPidFile(file) {
  pidFiles.add(file);
  return file;
}

function cleanup() {
  for (const file of pidFiles) {
    try {
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('objs/srs')) process.kill(pid, 'SIGKILL');
    } catch {
      // no file, no such process
    }
  }
  pidFiles.clear();
  for (const [pid, since] of started) {
    if (since !== null && startTime(pid) === since) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  started.clear();
}
process.on('exit', cleanup);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    cleanup();
    process.exit(1);
  });
}

function track(pid) {
  if (pid && !started.has(pid)) started.set(pid, startTime(pid));
  return pid;
}

function killPid(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

function tmpdir(prefix = 'srs-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** n distinct free ports. */
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** The pids whose parent is `pid`, from /proc. */
function childPidsOf(pid) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // the fields after the command (which may hold spaces and parentheses): state ppid ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Resolve when check() returns a truthy value; reject with `what` when the deadline passes. */
async function waitFor(what, check, timeoutMs = 10000, stepMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) {
      // `what` may be a function, so that the message can carry output gathered while waiting.
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}


/** Gone, or a zombie that the slow PID 1 of this machine has not reaped yet: the same test
 * `srs -s quit|stop` uses to know a server has exited. */
const { processGone: pidGone } = require('../../dist/lifecycle/control-client.js');

/**
 * Spawn the real server. Returns a handle whose output is collected, with waitForLine() for
 * synchronisation. The process is killed at exit of the test file whatever happens. `command` +
 * `prefix` run srs under a wrapper (e.g. unshare --pid --fork): `command ...prefix SRS ...args`.
 */
function startSrs(args, { cwd, env = {}, stdio, command = null, prefix = [] } = {}) {
  const child = spawn(command ?? SRS, command ? [...prefix, SRS, ...args] : args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  track(child.pid);
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (c) => (out.stdout += c));
  child.stderr?.on('data', (c) => (out.stderr += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    pid: child.pid,
    out,
    exited,
    get output() {
      return out.stdout + out.stderr;
    },
    waitForLine(re, timeoutMs = 10000) {
      return waitFor(`output matching ${re} (got: ${JSON.stringify((out.stdout + out.stderr).slice(-2000))})`, () => re.test(out.stdout + out.stderr), timeoutMs);
    },
    async waitForExit(timeoutMs = 10000) {
      let timer;
      const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`srs pid ${child.pid} did not exit within ${timeoutMs} ms; output: ${(out.stdout + out.stderr).slice(-2000)}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, t]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill(signal = 'SIGKILL') {
      killPid(child.pid, signal);
    },
  };
}

/** Run ./objs/srs to completion (for -t, -v, -s, daemon starters). */
function runSrs(args, { cwd, env = {}, timeoutMs = 30000 } = {}) {
  const r = spawnSync(SRS, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

/** Run a command to completion, asynchronously (the test process stays responsive, e.g. to serve
 * as a peer, while it runs), killed at the deadline. */
function run(cmd, args, { cwd = ROOT, env = {}, timeoutMs = 30000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, output: stdout + stderr, timedOut: signal === 'SIGKILL' });
    });
  });
}

function runSrsAsync(args, opts = {}) {
  return run(SRS, args, opts);
}

/** A config in SRS's grammar for a test: ports and paths inside dir. */
function writeConfig(dir, { rtmp, api, http: httpPort, extra = '', daemon = false, name = 'srs.conf', tank = 'console', apiExtra = '', maxConnections = 1000 }) {
  const text = `
listen ${rtmp};
max_connections ${maxConnections};
daemon ${daemon ? 'on' : 'off'};
pid ${path.join(dir, 'srs.pid')};
srs_log_tank ${tank};
srs_log_file ${path.join(dir, 'srs.log')};
srs_log_level trace;
${extra}
${api ? `http_api { enabled on; listen ${api}; ${apiExtra} }` : ''}
${httpPort ? `http_server { enabled on; listen ${httpPort}; dir ${path.join(ROOT, 'html')}; }` : ''}
vhost __defaultVhost__ { }
`;
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  trackPidFile(path.join(dir, 'srs.pid'));
  return file;
}

module.exports = {
  ROOT,
  SRS,
  tmpdir,
  childPidsOf,
  freePort,
  freePorts,
  waitFor,
  canConnect,
  pidGone,
  request,
  startSrs,
  runSrs,
  runSrsAsync,
  run,
  writeConfig,
  track,
  trackPidFile,
  killPid,
};
