'use strict';
// reload: time from the trigger until the new config is live, where live = the new `listen` port
// accepts (poll-connect every 1 ms). Two triggers, 20 times each, against one running srs each:
//   SIGHUP after the new config was written in place;
//   an atomic rename (write srs.conf.tmp, rename over srs.conf) with `inotify_auto_reload on`.
// Between iterations the bench waits for the `<pidfile>.reload` status to show the reload finished,
// so iterations do not overlap; the status's own at - started_at is reported too.
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const RUNS = 20;
const TARGET_MEDIAN = { sighup: 20, rename: 50 };
const CEILING = 200;

function readStatus(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

async function series(dir, kind) {
  const [first] = await L.freePorts(1);
  const base = { inotify: kind === 'rename', name: `${kind}.conf`, pidName: `${kind}.pid` };
  const conf = L.writeConfig(dir, { ...base, listen: first });
  const statusFile = path.join(dir, `${kind}.pid.reload`);
  const h = L.start(L.SRS, ['-c', conf], { patterns: { reloadOk: /reload ok: applied/, reloadFail: /reload failed/, ready: / ready, pid \d+/ } });
  const lat = [];
  const serverMs = [];
  let oldStillAccepting = 0;
  try {
    await L.pollAccept([first], { abort: () => h.exit && `exited: ${h.tail}` });
    // the port accepts before the config watch is set up (it starts just before the ready line):
    // a change in between is lost (see README), so the first trigger waits for the ready line
    await h.waitCount('ready', 1, 5000);
    let prevPort = first;
    for (let i = 0; i <= RUNS; i++) {
      const [port] = await L.freePorts(1);
      const before = readStatus(statusFile);
      let t0;
      if (kind === 'sighup') {
        L.writeConfig(dir, { ...base, listen: port });
        t0 = L.now();
        process.kill(h.pid, 'SIGHUP');
      } else {
        const { file, tmp } = L.writeConfig(dir, { ...base, listen: port, atomic: true });
        t0 = L.now();
        fs.renameSync(tmp, file);
      }
      const t1 = await L.pollAccept([port], { timeoutMs: 5000, abort: () => h.exit && `exited: ${h.tail}` }).catch((e) => {
        throw new Error(`${kind} reload ${i} (listen ${prevPort} -> ${port}): ${e.message}; server output: ${h.tail.slice(-2500)}`);
      });
      const status = await L.waitFor(
        'reload status file to record this reload',
        () => {
          const s = readStatus(statusFile);
          return s && (!before || s.at !== before.at || s.started_at !== before.started_at) ? s : null;
        },
        5000,
        1,
      );
      if (!status.ok) throw new Error(`reload ${i} failed: ${JSON.stringify(status)}`);
      if (await L.canConnect(prevPort)) oldStillAccepting++;
      prevPort = port;
      if (i === 0) continue; // warm-up
      lat.push(t1 - t0);
      if (Number.isFinite(status.at) && Number.isFinite(status.started_at)) serverMs.push(status.at - status.started_at);
    }
    return { lat, serverMs, oldStillAccepting, reloadOkLines: h.counts.reloadOk, reloadFailLines: h.counts.reloadFail, statusExample: readStatus(statusFile) };
  } finally {
    await h.stop('SIGINT');
  }
}

module.exports = async function reload({ dir }) {
  const result = { runs: RUNS };
  const rows = [];
  for (const kind of ['sighup', 'rename']) {
    const r = await series(dir, kind);
    const med = L.median(r.lat);
    const mx = L.max(r.lat);
    const met = med <= TARGET_MEDIAN[kind] && mx <= CEILING;
    result[kind] = {
      latency_ms: r.lat.map((x) => L.round(x, 2)),
      median_ms: L.round(med, 2),
      max_ms: L.round(mx, 2),
      server_reported_ms: r.serverMs,
      median_server_reported_ms: L.median(r.serverMs),
      old_port_still_accepting_after: r.oldStillAccepting,
      reload_ok_lines: r.reloadOkLines,
      reload_failed_lines: r.reloadFailLines,
      status_example: r.statusExample,
      met,
    };
    rows.push([
      kind === 'sighup' ? 'SIGHUP -> new port accepts' : 'rename over config (inotify) -> new port accepts',
      L.fmt(med, 2),
      L.fmt(L.min(r.lat), 2),
      L.fmt(mx, 2),
      L.fmt(L.median(r.serverMs), 0),
      `${L.verdict(met)} (median <= ${TARGET_MEDIAN[kind]}, max <= ${CEILING})`,
      `${r.reloadOkLines} ok, ${r.reloadFailLines} failed; old port open after: ${r.oldStillAccepting}`,
    ]);
  }
  L.table(`reload: ms, ${RUNS} runs each (after 1 warm-up)`, ['trigger', 'median', 'min', 'max', 'server at-started_at', 'target', 'log'], rows);
  return result;
};
