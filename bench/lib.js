'use strict';
// Shared by the benchmarks: process tracking (every pid we start is killed by pid at exit, even on
// failure), temp dirs, free ports, event waits with deadlines (a port accepting, a log line, a pid
// gone), /proc memory readings, wrk, and the statistics and tables the report prints.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { freePort, canConnect, request: sharedRequest } = require('../test/helpers/net');
const { performance } = require('node:perf_hooks');

// SRS_BENCH_ROOT points the benchmarks at another built tree (e.g. an older commit to compare with).
const ROOT = path.resolve(process.env.SRS_BENCH_ROOT || path.join(__dirname, '..'));
const SRS = path.join(ROOT, 'objs', 'srs');

const now = () => performance.now();
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes: everything we start (children, daemons, upgraded servers) is tracked by pid.

/** pid -> what it is, for every process started by this run and not yet seen gone */
const tracked = new Map();

function track(pid, what = '') {
  if (pid) tracked.set(pid, what);
  return pid;
}

function untrack(pid) {
  tracked.delete(pid);
}

function killPid(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL every tracked process that still exists (used on exit and between benchmarks). */
function killAllTracked() {
  for (const pid of [...tracked.keys()]) {
    if (!pidGone(pid)) killPid(pid, 'SIGKILL');
    tracked.delete(pid);
  }
}

process.on('exit', killAllTracked);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAllTracked();
    process.exit(130);
  });
}

/** Gone, or a zombie not reaped yet (PID 1 of a container can be slow to reap): the test
 * `srs -s quit|stop` uses, from this tree's build. */
const { processGone: pidGone } = require(path.join(__dirname, '..', 'dist', 'lifecycle', 'control-client.js'));

/**
 * Spawn a process with its output collected (bounded) and line events counted. `patterns` maps a
 * name to a RegExp: the handle counts matching lines and records when each first matched, so a
 * benchmark can wait for "N request lines" or "listeners closed" without keeping all the output.
 */
function start(cmd, args, { env = process.env, cwd = ROOT, patterns = {}, keep = 64 * 1024, stdio } = {}) {
  const t0 = now();
  const child = spawn(cmd, args, { cwd, env, stdio: stdio ?? ['ignore', 'pipe', 'pipe'] });
  track(child.pid, `${path.basename(cmd)} ${args.join(' ')}`);
  const h = {
    child,
    pid: child.pid,
    t0,
    tail: '',
    counts: {},
    firstAt: {},
    lastAt: {},
    exit: null,
    waiters: [],
  };
  for (const k of Object.keys(patterns)) h.counts[k] = 0;
  let partial = '';
  const onData = (c) => {
    const text = partial + c.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop();
    const t = now();
    for (const line of lines) {
      for (const [k, re] of Object.entries(patterns)) {
        if (re.test(line)) {
          h.counts[k]++;
          if (h.firstAt[k] === undefined) h.firstAt[k] = t;
          h.lastAt[k] = t;
        }
      }
    }
    h.tail = (h.tail + c.toString('utf8')).slice(-keep);
    if (h.waiters.length) h.waiters = h.waiters.filter((w) => !w());
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  h.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      h.exit = { code, signal, at: now() };
      untrack(child.pid);
      if (h.waiters.length) h.waiters = h.waiters.filter((w) => !w());
      resolve(h.exit);
    });
  });
  child.once('error', (e) => {
    h.tail += `\nspawn error: ${e.message}`;
  });
  /** Resolve when counts[name] >= n (event driven: checked on every chunk of output). */
  h.waitCount = (name, n = 1, timeoutMs = 10000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (h.counts[name] >= n) {
          clearTimeout(timer);
          resolve(h.firstAt[name]);
          return true;
        }
        if (h.exit) {
          clearTimeout(timer);
          reject(new Error(`${cmd} exited (${JSON.stringify(h.exit)}) before ${n} lines matching ${name}; output: ${h.tail.slice(-1500)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        h.waiters = h.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${n} lines matching ${name} (got ${h.counts[name]}); output: ${h.tail.slice(-1500)}`));
      }, timeoutMs);
      if (!check()) h.waiters.push(check);
    });
  h.waitExit = async (timeoutMs = 10000) => {
    let timer;
    const t = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms; output: ${h.tail.slice(-1500)}`)), timeoutMs);
    });
    try {
      return await Promise.race([h.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  };
  h.kill = (signal = 'SIGKILL') => (h.exit ? false : killPid(child.pid, signal));
  /** Ask politely (signal), then SIGKILL when the deadline passes; resolves once it has exited. */
  h.stop = async (signal = 'SIGINT', timeoutMs = 3000) => {
    if (h.exit) return h.exit;
    h.kill(signal);
    try {
      return await h.waitExit(timeoutMs);
    } catch {
      h.kill('SIGKILL');
      return h.waitExit(5000);
    }
  };
  return h;
}

/** Stop a process that is not our child (a daemon, an upgraded server) and wait until it is gone. */
async function stopPid(pid, signal = 'SIGINT', timeoutMs = 3000) {
  if (!pid) return;
  killPid(pid, signal);
  try {
    await waitFor(`pid ${pid} gone`, () => pidGone(pid), timeoutMs, 2);
  } catch {
    killPid(pid, 'SIGKILL');
    await waitFor(`pid ${pid} gone after SIGKILL`, () => pidGone(pid), 5000, 2);
  }
  untrack(pid);
}

// ---------------------------------------------------------------------------------------------
// Waiting, ports, connections

/** Resolve when check() returns a truthy value; reject when the deadline passes. */
async function waitFor(what, check, timeoutMs = 10000, stepMs = 5) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await delay(stepMs);
  }
}

function tmpdir(prefix = 'srs-bench-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function rmrf(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

/** Ports handed out in this run: never hand the same one out twice. */
const usedPorts = new Set();

async function freePorts(n) {
  const ports = [];
  while (ports.length < n) {
    const p = await freePort();
    if (usedPorts.has(p)) continue;
    usedPorts.add(p);
    ports.push(p);
  }
  return ports;
}


/**
 * Poll-connect every `stepMs` until every port has accepted once; returns the performance.now()
 * of the round in which the last one accepted. Throws at the deadline, or as soon as
 * `abort()` returns a reason (e.g. the process exited).
 */
async function pollAccept(ports, { timeoutMs = 10000, stepMs = 1, abort } = {}) {
  const pending = new Set(ports);
  const deadline = now() + timeoutMs;
  for (;;) {
    const res = await Promise.all([...pending].map(async (p) => [p, await canConnect(p)]));
    const t = now();
    for (const [p, ok] of res) if (ok) pending.delete(p);
    if (pending.size === 0) return t;
    const why = abort?.();
    if (why) throw new Error(`gave up waiting for ports ${[...pending].join(',')}: ${why}`);
    if (t > deadline) throw new Error(`ports ${[...pending].join(',')} did not accept within ${timeoutMs} ms`);
    await delay(stepMs);
  }
}

/** Open n idle TCP connections to port, `concurrency` connects in flight at a time. */
async function openConnections(port, n, concurrency = 100) {
  const sockets = [];
  let errors = 0;
  let next = 0;
  const one = () =>
    new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {
        errors++;
      });
      s.once('connect', () => {
        sockets.push(s);
        resolve();
      });
      s.once('close', () => resolve());
    });
  const worker = async () => {
    while (next < n) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sockets, errors };
}

/** The shared request, with a 5 s timeout: a benchmark must not hang on a server that stalls. */
function request(port, urlPath, opts = {}) {
  return sharedRequest(port, urlPath, { timeoutMs: 5000, ...opts });
}

async function summaries(apiPort) {
  const r = await request(apiPort, '/api/v1/summaries');
  return r.json?.data;
}

// ---------------------------------------------------------------------------------------------
// Memory

/** Rss, Pss, Private_Clean, Private_Dirty (KB) from /proc/PID/smaps_rollup; private = clean + dirty. */
function smapsRollup(pid) {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const r = { rss: field('Rss'), pss: field('Pss'), privateClean: field('Private_Clean'), privateDirty: field('Private_Dirty') };
  r.private = r.privateClean + r.privateDirty;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Config

/** A config in SRS's grammar with everything inside dir. */
function writeConfig(dir, o) {
  const lines = [
    ...[].concat(o.listen).map((p) => `listen ${p};`),
    `max_connections ${o.maxConnections ?? 5000};`,
    `daemon ${o.daemon ? 'on' : 'off'};`,
    `disable_daemon_for_docker off;`,
    `auto_reload_for_docker off;`,
    `inotify_auto_reload ${o.inotify ? 'on' : 'off'};`,
    `pid ${path.join(dir, o.pidName ?? 'srs.pid')};`,
    `srs_log_tank ${o.tank ?? 'console'};`,
    `srs_log_file ${path.join(dir, o.logName ?? 'srs.log')};`,
    `srs_log_level ${o.level ?? 'trace'};`,
    `grace_start_wait ${o.graceStart ?? 100};`,
    `grace_final_wait ${o.graceFinal ?? 100};`,
    o.api ? `http_api { enabled on; listen ${o.api}; }` : '',
    o.http ? `http_server { enabled on; listen ${o.http}; dir ${path.join(ROOT, 'html')}; }` : '',
    'vhost __defaultVhost__ { }',
    '',
  ];
  const file = path.join(dir, o.name ?? 'srs.conf');
  if (o.atomic) {
    fs.writeFileSync(`${file}.tmp`, lines.join('\n'));
    return { file, tmp: `${file}.tmp` };
  }
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

/** Environment without NODE_EXTRA_CA_CERTS (which costs every Node start 50-90 ms here). */
function envWithoutCA() {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** The env sets the start-up benchmarks run in: as given, and without NODE_EXTRA_CA_CERTS. */
function envSets() {
  const sets = [];
  if (process.env.NODE_EXTRA_CA_CERTS) sets.push({ name: 'with NODE_EXTRA_CA_CERTS', env: { ...process.env } });
  sets.push({ name: process.env.NODE_EXTRA_CA_CERTS ? 'without NODE_EXTRA_CA_CERTS' : 'env as given', env: envWithoutCA() });
  return sets;
}

// ---------------------------------------------------------------------------------------------
// wrk

/** Parse wrk's summary: requests, rps, socket errors, non-2xx/3xx. */
function parseWrk(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : { connect: 0, read: 0, write: 0, timeout: 0 };
  return {
    requests: num(/(\d+) requests in/),
    seconds: (() => {
      const m = /requests in ([\d.]+)(ms|s|m)/.exec(text);
      if (!m) return 0;
      return Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1);
    })(),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    errors,
    socketErrors: errors.connect + errors.read + errors.write + errors.timeout,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    latencyAvg: (/Latency\s+([\d.]+\w+)/.exec(text) ?? [])[1] ?? '',
  };
}

function startWrk(args) {
  return start('wrk', args, { cwd: ROOT, keep: 16 * 1024 });
}

async function runWrkTo(h, timeoutMs) {
  const exit = await h.waitExit(timeoutMs);
  const r = parseWrk(h.tail);
  r.exit = exit.code;
  r.raw = h.tail;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Statistics and tables

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const min = (xs) => Math.min(...xs);
const max = (xs) => Math.max(...xs);
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

function fmt(x, d = 1) {
  if (typeof x === 'number') return Number.isFinite(x) ? x.toFixed(d) : String(x);
  return String(x ?? '');
}

/** Print a table: rows are arrays of cells (strings or numbers formatted already). */
function table(title, header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [`\n== ${title}`, line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)];
  console.log(out.join('\n'));
}

function verdict(ok) {
  return ok ? 'MET' : 'MISSED';
}

module.exports = {
  ROOT,
  SRS,
  now,
  delay,
  track,
  untrack,
  killPid,
  killAllTracked,
  tracked,
  pidGone,
  start,
  stopPid,
  waitFor,
  tmpdir,
  rmrf,
  freePorts,
  canConnect,
  pollAccept,
  openConnections,
  request,
  summaries,
  smapsRollup,
  writeConfig,
  envWithoutCA,
  envSets,
  parseWrk,
  startWrk,
  runWrkTo,
  median,
  min,
  max,
  round,
  fmt,
  table,
  verdict,
};
