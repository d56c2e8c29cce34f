'use strict';
// memory: idle RSS and private memory (Private_Clean + Private_Dirty, /proc/PID/smaps_rollup) of srs
// once it has logged ready (all loaded), beside a bare Node listener measured the same way; then the cost of
// an idle media connection: 1,000 TCP connections to the RTMP port (max_connections 5000), wait
// until /api/v1/summaries counts them, measure again. 3 runs, medians.
const L = require('./lib');

const RUNS = 3;
const CONNS = 1000;
const TARGET_RATIO = 2;
const TARGET_PER_CONN_KB = 10;

async function bare() {
  const [port] = await L.freePorts(1);
  const h = L.start('node', ['-e', `require('net').createServer().listen(${port})`]);
  try {
    await L.pollAccept([port], { abort: () => h.exit && 'exited' });
    return L.smapsRollup(h.pid);
  } finally {
    await h.stop('SIGKILL');
  }
}

async function srs(dir, i) {
  const [rtmp, api, http] = await L.freePorts(3);
  const conf = L.writeConfig(dir, { listen: rtmp, api, http, maxConnections: 5000, name: `mem-${i}.conf`, pidName: `mem-${i}.pid` });
  const h = L.start(L.SRS, ['-c', conf]);
  let conns = { sockets: [] };
  try {
    await L.pollAccept([rtmp, api, http], { abort: () => h.exit && `exited: ${h.tail}` });
    // srs binds before it loads its HTTP applications: idle means after the ready line, with
    // everything loaded, not the moment the sockets accept
    await L.waitFor('the ready line', () => /ready, pid/.test(h.tail), 10000);
    const idle = L.smapsRollup(h.pid);
    // one API request first: the per-connection figure should not carry the API's first-use cost
    // (JIT, fastify's lazily built routes); `idle` above is before any request
    const s0 = await L.summaries(api);
    const warm = L.smapsRollup(h.pid);
    conns = await L.openConnections(rtmp, CONNS);
    if (conns.sockets.length !== CONNS) throw new Error(`opened only ${conns.sockets.length} of ${CONNS} connections (${conns.errors} errors)`);
    const seen = await L.waitFor(
      `summaries to count ${CONNS} rtmp connections`,
      async () => {
        const d = await L.summaries(api);
        return (d?.connections?.per_listener?.rtmp ?? 0) >= CONNS ? d : null;
      },
      10000,
      20,
    );
    const loaded = L.smapsRollup(h.pid);
    return {
      idle,
      warm,
      loaded,
      rtmpCounted: seen.connections.per_listener.rtmp,
      serverRssKb: s0?.self?.mem_rss_kbyte,
      perConnKb: (loaded.private - warm.private) / CONNS,
      perConnFromIdleKb: (loaded.private - idle.private) / CONNS,
      perConnRssKb: (loaded.rss - warm.rss) / CONNS,
    };
  } finally {
    for (const s of conns.sockets) s.destroy();
    await h.stop('SIGINT');
  }
}

module.exports = async function memory({ dir }) {
  const b = [];
  const s = [];
  for (let i = 0; i < RUNS; i++) {
    b.push(await bare());
    s.push(await srs(dir, i));
  }
  const med = (arr, f) => L.median(arr.map(f));
  const bareRss = med(b, (x) => x.rss);
  const barePriv = med(b, (x) => x.private);
  const srsRss = med(s, (x) => x.idle.rss);
  const srsPriv = med(s, (x) => x.idle.private);
  const perConn = med(s, (x) => x.perConnKb);
  const perConnIdle = med(s, (x) => x.perConnFromIdleKb);
  const perConnRss = med(s, (x) => x.perConnRssKb);
  const ratio = srsPriv / barePriv;
  const mb = (kb) => L.fmt(kb / 1024, 1);
  L.table(`memory: idle after ready, MB, median of ${RUNS}`, ['process', 'RSS', 'private', 'private clean', 'private dirty', 'private ratio', 'target'], [
    ['bare node listener', mb(bareRss), mb(barePriv), mb(med(b, (x) => x.privateClean)), mb(med(b, (x) => x.privateDirty)), '1.00', ''],
    ['srs idle (rtmp+api+http)', mb(srsRss), mb(srsPriv), mb(med(s, (x) => x.idle.privateClean)), mb(med(s, (x) => x.idle.privateDirty)), L.fmt(ratio, 2), `${L.verdict(ratio <= TARGET_RATIO)} (<= ${TARGET_RATIO}x)`],
    ['srs after 1 API request', mb(med(s, (x) => x.warm.rss)), mb(med(s, (x) => x.warm.private)), mb(med(s, (x) => x.warm.privateClean)), mb(med(s, (x) => x.warm.privateDirty)), L.fmt(med(s, (x) => x.warm.private) / barePriv, 2), ''],
    [`srs with ${CONNS} idle rtmp conns`, mb(med(s, (x) => x.loaded.rss)), mb(med(s, (x) => x.loaded.private)), mb(med(s, (x) => x.loaded.privateClean)), mb(med(s, (x) => x.loaded.privateDirty)), '', ''],
  ]);
  L.table(`memory per idle media connection, KB, median of ${RUNS} (runs: ${s.map((x) => L.fmt(x.perConnKb, 2)).join(', ')})`, ['measure', 'KB/conn', 'target'], [
    ['private, (loaded - after 1 API request) / 1000', L.fmt(perConn, 2), `${L.verdict(perConn <= TARGET_PER_CONN_KB)} (<= ${TARGET_PER_CONN_KB} KB)`],
    ['private, (loaded - idle) / 1000 (includes the API first use)', L.fmt(perConnIdle, 2), `(info: ${L.verdict(perConnIdle <= TARGET_PER_CONN_KB)})`],
    ['RSS, (loaded - after 1 API request) / 1000', L.fmt(perConnRss, 2), ''],
  ]);
  return {
    runs: RUNS,
    connections: CONNS,
    bare: b,
    srs: s,
    median_bare_rss_kb: bareRss,
    median_bare_private_kb: barePriv,
    median_srs_rss_kb: srsRss,
    median_srs_private_kb: srsPriv,
    private_ratio: L.round(ratio, 3),
    ratio_met: ratio <= TARGET_RATIO,
    median_per_conn_private_kb: L.round(perConn, 3),
    median_per_conn_private_from_idle_kb: L.round(perConnIdle, 3),
    median_per_conn_rss_kb: L.round(perConnRss, 3),
    per_conn_met: perConn <= TARGET_PER_CONN_KB,
  };
};
