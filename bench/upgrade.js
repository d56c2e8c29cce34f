'use strict';
// upgrade:
//  throughput: wrk -t2 -c32 -d6s against /api/v1/versions on a fresh srs with no upgrade (baseline),
//    then the same on another fresh srs with a SIGUSR2 upgrade in the middle (sent once the server
//    has logged half as many requests as the baseline run served): requests/s ratio, socket errors
//    and non-2xx of each.
//  handover: SIGUSR2 until the new pid is in the pid file and answers /api/v1/summaries with it as
//    data.self.pid (poll every 1 ms), median of 5, each on a fresh srs; the server's own
//    `<pidfile>.upgrade` at - started_at is reported beside it.
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');

const RUNS = 5;
const WRK = ['-t2', '-c32', '-d6s'];

const PATTERNS = {
  versions: /GET \/api\/v1\/versions/,
  upgradeReady: /upgrade: pid \d+ .* is ready/,
  upgradeFailed: /upgrade failed/,
  bye: /bye/,
};

function readPid(file) {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

async function fresh(dir, tag, graceFinal = 500) {
  const [rtmp, api] = await L.freePorts(2);
  const conf = L.writeConfig(dir, { listen: rtmp, api, graceFinal, name: `${tag}.conf`, pidName: `${tag}.pid` });
  const h = L.start(L.SRS, ['-c', conf], { patterns: PATTERNS });
  await L.pollAccept([rtmp, api], { abort: () => h.exit && `exited: ${h.tail}` });
  // the API may bind before it answers: wait for a real answer, so wrk starts against a ready server
  await L.waitFor('api answers', async () => (await L.request(api, '/api/v1/versions').catch(() => ({}))).status === 200, 10000, 1);
  return { h, rtmp, api, pidFile: path.join(dir, `${tag}.pid`) };
}

/**
 * SIGUSR2 at t0; resolves when the pid file holds a pid other than the old one and a fresh
 * connection to the API is answered by that pid. Polls every `stepMs`.
 */
async function handover(s, stepMs = 1) {
  const oldPid = s.h.pid;
  const t0 = L.now();
  process.kill(oldPid, 'SIGUSR2');
  const newPid = await L.waitFor('a new pid in the pid file', () => {
    const p = readPid(s.pidFile);
    return p && p !== oldPid ? p : null;
  }, 15000, stepMs);
  const tPid = L.now();
  L.track(newPid, 'srs (upgraded)');
  await L.waitFor(`pid ${newPid} to answer the API`, async () => {
    const r = await L.request(s.api, '/api/v1/summaries').catch(() => null);
    return r?.json?.data?.self?.pid === newPid;
  }, 15000, stepMs);
  const t1 = L.now();
  return { newPid, oldPid, ms: t1 - t0, pidFileMs: tPid - t0 };
}

async function cleanup(s, newPid) {
  if (newPid) await L.stopPid(newPid, 'SIGINT');
  await s.h.stop('SIGINT');
}

async function handoverRun(dir, i) {
  const s = await fresh(dir, `ho-${i}`, 100);
  let newPid = null;
  try {
    const r = await handover(s);
    newPid = r.newPid;
    const status = await L.waitFor('upgrade status file', () => readJson(`${s.pidFile}.upgrade`), 5000, 1);
    // the old one drains (nothing open) and leaves
    const oldExit = await s.h.waitExit(10000);
    const oldbinGone = !fs.existsSync(`${s.pidFile}.oldbin`);
    return { ...r, serverMs: status.at - status.started_at, status, oldExitCode: oldExit.code, oldExitAfterMs: oldExit.at - s.h.t0, oldbinGone };
  } finally {
    await cleanup(s, newPid);
  }
}

async function wrkRun(dir, tag, upgradeAt) {
  const s = await fresh(dir, tag, 500);
  let newPid = null;
  try {
    const w = L.startWrk([...WRK, `http://127.0.0.1:${s.api}/api/v1/versions`]);
    let ho = null;
    if (upgradeAt) {
      await s.h.waitCount('versions', upgradeAt, 15000);
      ho = await handover(s, 5);
      newPid = ho.newPid;
    }
    const r = await L.runWrkTo(w, 30000);
    let oldExit = null;
    if (upgradeAt) oldExit = await s.h.waitExit(15000);
    return { wrk: r, handover: ho, oldExitCode: oldExit?.code ?? null, logged: s.h.counts.versions, upgradeFailedLines: s.h.counts.upgradeFailed };
  } finally {
    await cleanup(s, newPid);
  }
}

module.exports = async function upgrade({ dir }) {
  const base = await wrkRun(dir, 'wrk-base', 0);
  const half = Math.max(100, Math.floor(base.wrk.requests / 2));
  const up = await wrkRun(dir, 'wrk-up', half);
  const ratio = up.wrk.rps / base.wrk.rps;
  const ho = [];
  for (let i = 0; i < RUNS; i++) ho.push(await handoverRun(dir, i));
  const row = (name, r) => [name, r.wrk.requests, L.fmt(r.wrk.rps, 0), r.wrk.latencyAvg, r.wrk.errors.connect, r.wrk.errors.read, r.wrk.errors.write, r.wrk.errors.timeout, r.wrk.non2xx];
  L.table(`upgrade under load: wrk ${WRK.join(' ')} /api/v1/versions; requests/s ratio ${L.fmt(ratio, 3)}`, ['run', 'requests', 'req/s', 'lat avg', 'connect err', 'read err', 'write err', 'timeout', 'non-2xx'], [
    row('no upgrade (baseline)', base),
    row(`SIGUSR2 after ${half} requests (handover ${L.fmt(up.handover?.ms, 0)} ms)`, up),
  ]);
  const upErrs = up.wrk.socketErrors + up.wrk.non2xx;
  console.log(`errors during the upgrade run: ${upErrs} (${L.verdict(upErrs === 0)}, should be 0); old process exit code ${up.oldExitCode}; req/s ratio ${L.fmt(ratio, 3)}`);
  const ms = ho.map((x) => x.ms);
  const mp = ho.map((x) => x.pidFileMs);
  const sv = ho.map((x) => x.serverMs);
  L.table(`upgrade handover (idle server): ms, median of ${RUNS}`, ['what', 'median', 'min', 'max', 'checks'], [
    ['SIGUSR2 -> new pid in the pid file', L.fmt(L.median(mp)), L.fmt(L.min(mp)), L.fmt(L.max(mp)), ''],
    ['SIGUSR2 -> new pid in the pid file and answering', L.fmt(L.median(ms)), L.fmt(L.min(ms)), L.fmt(L.max(ms)), `old exit 0: ${ho.filter((x) => x.oldExitCode === 0).length}/${RUNS}, .oldbin removed: ${ho.filter((x) => x.oldbinGone).length}/${RUNS}`],
    ['server-reported (.upgrade at - started_at)', L.fmt(L.median(sv)), L.fmt(L.min(sv)), L.fmt(L.max(sv)), `ok: ${ho.filter((x) => x.status?.ok).length}/${RUNS}`],
  ]);
  return {
    wrk_args: WRK,
    baseline: { ...base, wrk: { ...base.wrk, raw: undefined }, wrk_raw: base.wrk.raw },
    with_upgrade: { ...up, wrk: { ...up.wrk, raw: undefined }, wrk_raw: up.wrk.raw },
    upgrade_after_requests: half,
    rps_ratio: L.round(ratio, 3),
    upgrade_run_errors: upErrs,
    handover: ho,
    median_handover_ms: L.round(L.median(ms), 2),
    median_handover_pid_file_ms: L.round(L.median(mp), 2),
    median_handover_server_ms: L.median(sv),
  };
};
