'use strict';
// startup: exec until every listener accepts (poll-connect every 1 ms, deadline 10 s), srs in the
// foreground with console logging beside a bare Node listener started the same way. Runs are
// interleaved (bare, srs full, srs rtmp-only, bare, ...) so drift hits every row alike, and the whole
// set runs twice: with the environment as given and without NODE_EXTRA_CA_CERTS.
const L = require('./lib');

const RUNS = 11;
const TARGET = 1.3;
const API_DEADLINE_MS = 3000;

async function bareNode(env) {
  const [port] = await L.freePorts(1);
  const h = L.start('node', ['-e', `require('net').createServer().listen(${port})`], { env });
  try {
    const t = await L.pollAccept([port], { abort: () => h.exit && `exited ${JSON.stringify(h.exit)}` });
    return { ms: t - h.t0 };
  } finally {
    await h.stop('SIGKILL');
  }
}

async function srs(dir, env, i, full) {
  const [rtmp, api, http] = await L.freePorts(3);
  const conf = L.writeConfig(dir, { listen: rtmp, api: full ? api : null, http: full ? http : null, name: `srs-${i}.conf`, pidName: `srs-${i}.pid` });
  const ports = full ? [rtmp, api, http] : [rtmp];
  const h = L.start(L.SRS, ['-c', conf], { env, patterns: { ready: / ready, pid \d+/ } });
  try {
    const t = await L.pollAccept(ports, { abort: () => h.exit && `exited ${JSON.stringify(h.exit)}: ${h.tail}` });
    // accepting is not answering: an HTTP app built after the bind answers later (info column)
    let apiMs = NaN;
    if (full) {
      // a server that accepts but never answers is reported (NaN, counted), not a crash of the bench
      const answered = await L.waitFor('api answers', async () => (await L.request(api, '/api/v1/versions', { timeoutMs: API_DEADLINE_MS }).catch(() => ({}))).status === 200, API_DEADLINE_MS, 1).catch(() => false);
      if (answered) apiMs = L.now() - h.t0;
    }
    // the ready line arrives through a pipe: give it a moment to land, so its time can be reported
    await h.waitCount('ready', 1, 2000);
    return { ms: t - h.t0, readyLineMs: h.firstAt.ready - h.t0, apiMs };
  } finally {
    await h.stop('SIGINT');
  }
}

module.exports = async function startup({ dir }) {
  const result = { runs: RUNS, target_ratio: TARGET, sets: {} };
  const rows = [];
  for (const set of L.envSets()) {
    // warm-up (page cache, first-exec costs), not counted
    await bareNode(set.env);
    await srs(dir, set.env, `warm-${set.name.length}`, true);
    const bare = [];
    const full = [];
    const rtmpOnly = [];
    const readyLine = [];
    const apiAnswer = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push((await bareNode(set.env)).ms);
      const f = await srs(dir, set.env, `${set.name.length}-f${i}`, true);
      full.push(f.ms);
      readyLine.push(f.readyLineMs);
      apiAnswer.push(f.apiMs);
      rtmpOnly.push((await srs(dir, set.env, `${set.name.length}-r${i}`, false)).ms);
    }
    const mb = L.median(bare);
    const mf = L.median(full);
    const mr = L.median(rtmpOnly);
    result.sets[set.name] = {
      bare_node_ms: bare.map((x) => L.round(x, 2)),
      srs_full_ms: full.map((x) => L.round(x, 2)),
      srs_rtmp_only_ms: rtmpOnly.map((x) => L.round(x, 2)),
      srs_ready_line_ms: readyLine.map((x) => L.round(x, 2)),
      srs_api_answers_ms: apiAnswer.map((x) => L.round(x, 2)),
      median_srs_api_answers_ms: L.round(L.median(apiAnswer), 2),
      runs_api_never_answered: apiAnswer.filter((x) => !Number.isFinite(x)).length,
      median_bare_ms: L.round(mb, 2),
      median_srs_full_ms: L.round(mf, 2),
      median_srs_rtmp_only_ms: L.round(mr, 2),
      median_srs_ready_line_ms: L.round(L.median(readyLine), 2),
      ratio_full: L.round(mf / mb, 3),
      ratio_rtmp_only: L.round(mr / mb, 3),
      met: mf / mb <= TARGET,
    };
    rows.push([set.name, 'bare node listener (1 port)', L.fmt(mb), L.fmt(L.min(bare)), L.fmt(L.max(bare)), '1.00', '']);
    rows.push([set.name, 'srs rtmp+api+http (3 ports)', L.fmt(mf), L.fmt(L.min(full)), L.fmt(L.max(full)), L.fmt(mf / mb, 2), `${L.verdict(mf / mb <= TARGET)} (<= ${TARGET}x)`]);
    rows.push([set.name, '  (its "ready" log line seen)', L.fmt(L.median(readyLine)), L.fmt(L.min(readyLine)), L.fmt(L.max(readyLine)), '', '']);
    const noAnswer = apiAnswer.filter((x) => !Number.isFinite(x)).length;
    const answered = apiAnswer.filter((x) => Number.isFinite(x));
    rows.push([set.name, '  (first /api/v1/versions 200)', L.fmt(L.median(answered)), answered.length ? L.fmt(L.min(answered)) : '-', answered.length ? L.fmt(L.max(answered)) : '-', L.fmt(L.median(answered) / mb, 2), noAnswer ? `NO ANSWER within ${API_DEADLINE_MS} ms in ${noAnswer}/${RUNS}` : '(info)']);
    rows.push([set.name, 'srs rtmp only (1 port)', L.fmt(mr), L.fmt(L.min(rtmpOnly)), L.fmt(L.max(rtmpOnly)), L.fmt(mr / mb, 2), '(info)']);
  }
  L.table(`startup: exec -> every listener accepts, ms, median of ${RUNS}`, ['env', 'what', 'median', 'min', 'max', 'ratio', 'target'], rows);
  return result;
};
