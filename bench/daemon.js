'use strict';
// daemon: how long `./objs/srs -c conf` with `daemon on` takes to return 0 (it returns once the daemon
// reports ready), beside the foreground start-up of the same config (exec until every listener
// accepts). Medians of 10 each, interleaved, in both env sets. At the moment the starter returned,
// one connect per listener is attempted: they must all succeed, and the pid file must exist.
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const RUNS = 10;
const TARGET = 1.2;

async function config(dir, tag, daemon) {
  const [rtmp, api, http] = await L.freePorts(3);
  // the foreground run logs to the console so its ready line can be seen as it is written
  const conf = L.writeConfig(dir, { listen: rtmp, api, http, daemon, tank: daemon ? 'file' : 'console', name: `${tag}.conf`, pidName: `${tag}.pid`, logName: `${tag}.log` });
  return { conf, ports: [rtmp, api, http], pidFile: path.join(dir, `${tag}.pid`), log: path.join(dir, `${tag}.log`) };
}

async function daemonRun(dir, env, tag) {
  const c = await config(dir, tag, true);
  const h = L.start(L.SRS, ['-c', c.conf], { env });
  let daemonPid = null;
  try {
    const exit = await h.waitExit(15000);
    const ms = exit.at - h.t0;
    // what a script that ran `srs -c conf && next-step` would see right now
    const pidFileThere = fs.existsSync(c.pidFile);
    const connects = await Promise.all(c.ports.map((p) => L.canConnect(p)));
    if (pidFileThere) {
      daemonPid = Number(fs.readFileSync(c.pidFile, 'utf8').trim()) || null;
      L.track(daemonPid, 'srs daemon');
    }
    if (exit.code !== 0) throw new Error(`daemon starter exited ${JSON.stringify(exit)}: ${h.tail}`);
    return { ms, code: exit.code, allConnected: connects.every(Boolean), connected: connects.filter(Boolean).length, pidFileThere, daemonPid, printed: h.tail.trim() };
  } finally {
    if (!daemonPid && fs.existsSync(c.pidFile)) daemonPid = Number(fs.readFileSync(c.pidFile, 'utf8').trim()) || null;
    if (daemonPid) await L.stopPid(daemonPid, 'SIGINT');
    await h.stop('SIGKILL');
  }
}

async function foregroundRun(dir, env, tag) {
  const c = await config(dir, tag, false);
  const h = L.start(L.SRS, ['-c', c.conf], { env, patterns: { ready: /ready, pid/ } });
  try {
    const t = await L.pollAccept(c.ports, { abort: () => h.exit && `exited ${JSON.stringify(h.exit)}: ${h.tail}` });
    // srs binds first and says ready once its HTTP applications are built: the daemon's starter
    // returns on that word, so the like-for-like foreground figure is the ready line
    const ready = await h.waitCount('ready');
    return { ms: t - h.t0, readyMs: ready - h.t0 };
  } finally {
    await h.stop('SIGINT');
  }
}

module.exports = async function daemon({ dir }) {
  const result = { runs: RUNS, target_ratio: TARGET, sets: {} };
  const rows = [];
  let n = 0;
  for (const set of L.envSets()) {
    await daemonRun(dir, set.env, `warm-d${n}`);
    await foregroundRun(dir, set.env, `warm-f${n++}`);
    const d = [];
    const f = [];
    for (let i = 0; i < RUNS; i++) {
      d.push(await daemonRun(dir, set.env, `d${n}-${i}`));
      f.push(await foregroundRun(dir, set.env, `f${n}-${i}`));
    }
    n++;
    const md = L.median(d.map((x) => x.ms));
    const ma = L.median(f.map((x) => x.ms));
    const mf = L.median(f.map((x) => x.readyMs));
    const connectedRuns = d.filter((x) => x.allConnected).length;
    const pidRuns = d.filter((x) => x.pidFileThere).length;
    result.sets[set.name] = {
      daemon_return_ms: d.map((x) => L.round(x.ms, 2)),
      foreground_accept_ms: f.map((x) => L.round(x.ms, 2)),
      foreground_ready_ms: f.map((x) => L.round(x.readyMs, 2)),
      median_daemon_ms: L.round(md, 2),
      median_foreground_ms: L.round(mf, 2),
      ratio: L.round(md / mf, 3),
      met: md / mf <= TARGET,
      runs_all_listeners_accepted_at_return: connectedRuns,
      runs_pid_file_present_at_return: pidRuns,
      starter_output_example: d[0]?.printed,
    };
    rows.push([set.name, 'foreground: exec -> all 3 listeners accept', L.fmt(ma), L.fmt(L.min(f.map((x) => x.ms))), L.fmt(L.max(f.map((x) => x.ms))), L.fmt(ma / mf, 2), '(info)', '']);
    rows.push([set.name, 'foreground: exec -> ready line', L.fmt(mf), L.fmt(L.min(f.map((x) => x.readyMs))), L.fmt(L.max(f.map((x) => x.readyMs))), '1.00', '', '']);
    rows.push([set.name, 'daemon on: exec -> starter exits 0', L.fmt(md), L.fmt(L.min(d.map((x) => x.ms))), L.fmt(L.max(d.map((x) => x.ms))), L.fmt(md / mf, 2), `${L.verdict(md / mf <= TARGET)} (<= ${TARGET}x)`, `${connectedRuns}/${RUNS} all accept, ${pidRuns}/${RUNS} pid file`]);
  }
  L.table(`daemon: ms, median of ${RUNS}`, ['env', 'what', 'median', 'min', 'max', 'ratio', 'target', 'at return'], rows);
  return result;
};
