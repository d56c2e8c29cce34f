'use strict';
// quit:
//  graceful: 1,000 idle media connections, SIGQUIT (grace_start_wait 100, grace_final_wait 500); when
//    the server logs that its listeners are closed, the client closes all 1,000; overhead = exit time
//    - last close - grace_final_wait. Median of 5.
//  fast: 1,000 idle media connections, SIGINT until the process has exited. Median of 5.
//  wrk through SIGQUIT (grace_start_wait 2000): wrk #1 (1 s) is running when SIGQUIT arrives and ends
//    before the listeners close: its errors and non-2xx must be 0. wrk #2 starts right after it and
//    runs across the listener close: what it reports is the cost of a closed port, not of the server.
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const RUNS = 5;
const CONNS = 1000;
const FINAL_WAIT = 500;
const TARGET_GRACE_OVERHEAD = 50;
const TARGET_FAST = 100;

const PATTERNS = {
  quitStart: /start gracefully quit/,
  listenersClosed: /listeners closed, draining/,
  drained: /all connections closed, final wait/,
  bye: /bye/,
  versions: /GET \/api\/v1\/versions/,
};

/**
 * The baseline: a bare Node server doing the same job with nothing else (hold connections; on
 * SIGQUIT wait 100 ms, close the listener, exit 500 ms after the last connection closed; on SIGINT
 * destroy everything and exit). It is the floor Node itself sets on this machine.
 */
const BARE = `
const net = require('net');
const socks = new Set();
let quitting = false;
const done = () => setTimeout(() => process.exit(0), ${FINAL_WAIT});
const s = net.createServer((c) => {
  socks.add(c);
  if (socks.size === ${CONNS}) console.log('conns ${CONNS}');
  c.on('error', () => {});
  c.on('end', () => c.end());
  c.on('close', () => { socks.delete(c); if (quitting && socks.size === 0) done(); });
}).listen(+process.argv[1]);
process.on('SIGQUIT', () => setTimeout(() => {
  quitting = true; s.close(); console.log('listeners closed, draining');
  if (socks.size === 0) done();
}, 100));
process.on('SIGINT', () => { s.close(); for (const c of socks) c.destroy(); process.exit(0); });
`;

async function withConnections(dir, tag, kind) {
  const [rtmp, api] = await L.freePorts(2);
  let h;
  let pidFile = null;
  if (kind === 'srs') {
    const conf = L.writeConfig(dir, { listen: rtmp, api, maxConnections: 5000, graceStart: 100, graceFinal: FINAL_WAIT, name: `${tag}.conf`, pidName: `${tag}.pid` });
    pidFile = path.join(dir, `${tag}.pid`);
    h = L.start(L.SRS, ['-c', conf], { patterns: PATTERNS });
    await L.pollAccept([rtmp, api], { abort: () => h.exit && `exited: ${h.tail}` });
  } else {
    h = L.start('node', ['-e', BARE, String(rtmp)], { patterns: { ...PATTERNS, conns: /^conns / } });
    await L.pollAccept([rtmp], { abort: () => h.exit && `exited: ${h.tail}` });
  }
  const conns = await L.openConnections(rtmp, CONNS);
  if (conns.sockets.length !== CONNS) throw new Error(`opened ${conns.sockets.length} of ${CONNS}`);
  if (kind === 'srs') await L.waitFor(`summaries to count ${CONNS} rtmp connections`, async () => ((await L.summaries(api))?.connections?.per_listener?.rtmp ?? 0) >= CONNS, 10000, 20);
  else await h.waitCount('conns', 1, 10000);
  return { h, conns, rtmp, api, pidFile };
}

async function graceful(dir, i, kind) {
  const s = await withConnections(dir, `grace-${kind}-${i}`, kind);
  try {
    const tq = L.now();
    process.kill(s.h.pid, 'SIGQUIT');
    const tl = await s.h.waitCount('listenersClosed', 1, 5000);
    for (const c of s.conns.sockets) c.destroy();
    const tc = L.now();
    const exit = await s.h.waitExit(10000);
    return {
      startWaitSeen: tl - tq,
      drainSeen: (s.h.firstAt.drained ?? NaN) - tc,
      exitAfterClose: exit.at - tc,
      overhead: exit.at - tc - FINAL_WAIT,
      code: exit.code,
      pidFileRemoved: s.pidFile ? !fs.existsSync(s.pidFile) : null,
    };
  } finally {
    for (const c of s.conns.sockets) c.destroy();
    await s.h.stop('SIGKILL');
  }
}

async function fast(dir, i, kind) {
  const s = await withConnections(dir, `fast-${kind}-${i}`, kind);
  try {
    const t0 = L.now();
    process.kill(s.h.pid, 'SIGINT');
    const exit = await s.h.waitExit(10000);
    return { ms: exit.at - t0, code: exit.code, pidFileRemoved: s.pidFile ? !fs.existsSync(s.pidFile) : null };
  } finally {
    for (const c of s.conns.sockets) c.destroy();
    await s.h.stop('SIGKILL');
  }
}

async function wrkThroughQuit(dir) {
  const [rtmp, api] = await L.freePorts(2);
  const conf = L.writeConfig(dir, { listen: rtmp, api, graceStart: 2000, graceFinal: FINAL_WAIT, name: 'wrk.conf', pidName: 'wrk.pid' });
  const h = L.start(L.SRS, ['-c', conf], { patterns: PATTERNS });
  try {
    await L.pollAccept([rtmp, api], { abort: () => h.exit && `exited: ${h.tail}` });
    const url = `http://127.0.0.1:${api}/api/v1/versions`;
    const w1 = L.startWrk(['-t2', '-c32', '-d1s', url]);
    // SIGQUIT once wrk's requests are flowing (the server has logged 200 of them)
    await h.waitCount('versions', 200, 5000);
    const tq = L.now();
    const before = h.counts.versions;
    process.kill(h.pid, 'SIGQUIT');
    const r1 = await L.runWrkTo(w1, 10000);
    const w1End = w1.exit.at;
    const closedBeforeW1End = h.firstAt.listenersClosed !== undefined && h.firstAt.listenersClosed < w1End;
    const w2 = L.startWrk(['-t2', '-c32', '-d2s', url]);
    const tw2 = w2.t0;
    const r2 = await L.runWrkTo(w2, 10000);
    const exit = await h.waitExit(10000);
    return {
      wrk1: { ...r1, raw: undefined },
      wrk2: { ...r2, raw: undefined },
      wrk1_raw: r1.raw,
      wrk2_raw: r2.raw,
      sigquit_after_wrk1_start_ms: tq - w1.t0,
      wrk1_end_after_sigquit_ms: w1End - tq,
      listeners_closed_after_sigquit_ms: h.firstAt.listenersClosed - tq,
      wrk2_start_after_sigquit_ms: tw2 - tq,
      wrk2_end_after_sigquit_ms: w2.exit.at - tq,
      exit_after_sigquit_ms: exit.at - tq,
      exit_code: exit.code,
      requests_logged_before_sigquit: before,
      requests_logged_total: h.counts.versions,
      wrk1_valid: !closedBeforeW1End,
    };
  } finally {
    await h.stop('SIGKILL');
  }
}

module.exports = async function quit({ dir }) {
  const g = [];
  const f = [];
  const bg = [];
  const bf = [];
  for (let i = 0; i < RUNS; i++) {
    g.push(await graceful(dir, i, 'srs'));
    bg.push(await graceful(dir, i, 'bare'));
    f.push(await fast(dir, i, 'srs'));
    bf.push(await fast(dir, i, 'bare'));
  }
  const w = await wrkThroughQuit(dir);
  const mo = L.median(g.map((x) => x.overhead));
  const mf = L.median(f.map((x) => x.ms));
  L.table(`quit with ${CONNS} idle media connections: ms, median of ${RUNS}`, ['what', 'median', 'min', 'max', 'target', 'checks'], [
    ['graceful: SIGQUIT -> "listeners closed" line', L.fmt(L.median(g.map((x) => x.startWaitSeen))), L.fmt(L.min(g.map((x) => x.startWaitSeen))), L.fmt(L.max(g.map((x) => x.startWaitSeen))), '(grace_start_wait 100)', ''],
    ['graceful: last client close -> "all connections closed" line', L.fmt(L.median(g.map((x) => x.drainSeen))), L.fmt(L.min(g.map((x) => x.drainSeen))), L.fmt(L.max(g.map((x) => x.drainSeen))), '', ''],
    ['graceful: last client close -> exit', L.fmt(L.median(g.map((x) => x.exitAfterClose))), L.fmt(L.min(g.map((x) => x.exitAfterClose))), L.fmt(L.max(g.map((x) => x.exitAfterClose))), `(grace_final_wait ${FINAL_WAIT})`, ''],
    ['graceful overhead = exit - last close - final wait', L.fmt(mo), L.fmt(L.min(g.map((x) => x.overhead))), L.fmt(L.max(g.map((x) => x.overhead))), `${L.verdict(mo < TARGET_GRACE_OVERHEAD)} (< ${TARGET_GRACE_OVERHEAD})`, `exit 0: ${g.filter((x) => x.code === 0).length}/${RUNS}, pid file removed: ${g.filter((x) => x.pidFileRemoved).length}/${RUNS}`],
    ['bare node: overhead, same definition', L.fmt(L.median(bg.map((x) => x.overhead))), L.fmt(L.min(bg.map((x) => x.overhead))), L.fmt(L.max(bg.map((x) => x.overhead))), '(baseline)', `exit 0: ${bg.filter((x) => x.code === 0).length}/${RUNS}`],
    ['fast quit: SIGINT -> exit', L.fmt(mf), L.fmt(L.min(f.map((x) => x.ms))), L.fmt(L.max(f.map((x) => x.ms))), `${L.verdict(mf < TARGET_FAST)} (< ${TARGET_FAST})`, `exit 0: ${f.filter((x) => x.code === 0).length}/${RUNS}, pid file removed: ${f.filter((x) => x.pidFileRemoved).length}/${RUNS}`],
    ['bare node: SIGINT -> exit', L.fmt(L.median(bf.map((x) => x.ms))), L.fmt(L.min(bf.map((x) => x.ms))), L.fmt(L.max(bf.map((x) => x.ms))), '(baseline)', `exit 0: ${bf.filter((x) => x.code === 0).length}/${RUNS}`],
  ]);
  const row = (name, r) => [name, r.requests, L.fmt(r.rps, 0), r.errors.connect, r.errors.read, r.errors.write, r.errors.timeout, r.non2xx];
  L.table(
    `wrk -t2 -c32 /api/v1/versions through SIGQUIT (grace_start_wait 2000): SIGQUIT at +${L.fmt(w.sigquit_after_wrk1_start_ms, 0)} ms into wrk #1; wrk #1 ended at SIGQUIT+${L.fmt(w.wrk1_end_after_sigquit_ms, 0)}; listeners closed at SIGQUIT+${L.fmt(w.listeners_closed_after_sigquit_ms, 0)}; exit at SIGQUIT+${L.fmt(w.exit_after_sigquit_ms, 0)} (code ${w.exit_code})`,
    ['wrk run', 'requests', 'req/s', 'connect err', 'read err', 'write err', 'timeout', 'non-2xx'],
    [row(`#1 across SIGQUIT, before listeners close${w.wrk1_valid ? '' : ' (INVALID: listeners closed first)'}`, w.wrk1), row(`#2 from SIGQUIT+${L.fmt(w.wrk2_start_after_sigquit_ms, 0)} to +${L.fmt(w.wrk2_end_after_sigquit_ms, 0)}, across the close`, w.wrk2)],
  );
  const beforeErrs = w.wrk1.socketErrors + w.wrk1.non2xx;
  console.log(`before the listeners close: ${beforeErrs} errors + non-2xx: ${L.verdict(beforeErrs === 0 && w.wrk1_valid)} (should be 0)`);
  return {
    runs: RUNS,
    connections: CONNS,
    graceful: g,
    fast: f,
    bare_graceful: bg,
    bare_fast: bf,
    median_bare_graceful_overhead_ms: L.round(L.median(bg.map((x) => x.overhead)), 2),
    median_bare_fast_ms: L.round(L.median(bf.map((x) => x.ms)), 2),
    median_graceful_overhead_ms: L.round(mo, 2),
    graceful_met: mo < TARGET_GRACE_OVERHEAD,
    median_fast_ms: L.round(mf, 2),
    fast_met: mf < TARGET_FAST,
    wrk_through_sigquit: w,
    wrk_before_close_met: beforeErrs === 0 && w.wrk1_valid,
  };
};
