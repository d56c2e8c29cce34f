'use strict';
// edge: an edge tier. One origin, two edges (cluster { mode remote; }), one ~1 Mbit/s publisher on
// the origin, 500 players spread over the edges; then the same 500 players on the origin directly.
// Reported: CPU per player on an edge (its utime+stime over a 10 s window, less its cost with no
// player, divided by its players) beside the origin's per player, and what the origin pays for
// the two edges' pulls beside two direct players (the pull must cost no more than one player),
// measured while each edge has one player, and again under the full load.
const fs = require('node:fs');
const path = require('node:path');
const L = require('./lib');
const { rtmpPlayer, rtmpPublisher } = require('../test/helpers/rtmp-load');

const PLAYERS = Number(process.env.SRS_BENCH_PLAYERS || 500);
const WINDOW_MS = Number(process.env.SRS_BENCH_WINDOW_MS || 10000);
/** % of a core one 10 ms tick is over the window */
const RESOLUTION = 1000 / WINDOW_MS;

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function cpuOver(pids) {
  const c0 = pids.map(cpuSeconds);
  const t0 = L.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS)); // the measurement window itself
  const secs = (L.now() - t0) / 1000;
  return pids.map((p, i) => ((cpuSeconds(p) - c0[i]) / secs) * 100);
}

async function server(dir, name, extra) {
  const [rtmp] = await L.freePorts(1);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, [`listen ${rtmp};`, 'max_connections 5000;', 'daemon off;', 'disable_daemon_for_docker off;', 'auto_reload_for_docker off;', `pid ${path.join(dir, `${name}.pid`)};`, 'srs_log_tank console;', 'srs_log_level warn;', extra, ''].join('\n'));
  const h = L.start(L.SRS, ['-c', conf]);
  await L.pollAccept([rtmp], { abort: () => h.exit && `${name} exited: ${h.tail}` });
  return { h, rtmp };
}

async function connectAll(n, make) {
  const out = [];
  for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => make(i + k)))));
  return out;
}

module.exports = async function edge({ dir }) {
  const origin = await server(dir, 'origin', 'vhost __defaultVhost__ { }');
  const edgeCfg = `vhost __defaultVhost__ { cluster { mode remote; origin 127.0.0.1:${origin.rtmp}; } }`;
  const edges = [await server(dir, 'edge1', edgeCfg), await server(dir, 'edge2', edgeCfg)];
  const pub = await rtmpPublisher({ port: origin.rtmp, app: 'live', stream: 'tier', kbps: 1000 });
  const sockets = [];
  try {
    const pids = [origin.h.pid, ...edges.map((e) => e.h.pid)];
    const idle = await cpuOver(pids);
    // a second idle window: how far two windows of the same load differ, the floor under which a
    // difference means nothing
    const idle2 = await cpuOver([origin.h.pid]);
    const noise = Math.max(RESOLUTION, Math.abs(idle2[0] - idle[0]));
    // one player per edge first: each edge's pull starts; the origin then serves two pulls
    const firsts = await Promise.all(edges.map((e) => rtmpPlayer({ port: e.rtmp, app: 'live', stream: 'tier' })));
    sockets.push(...firsts.map((p) => p.socket));
    await L.waitFor('a frame through each edge', () => firsts.every((p) => p.frames() > 0), 20000, 20);
    // the pulls' cost to the origin, measured while each edge has one player: with 500 players the
    // edges take both cores, and the origin's figure then carries that contention too (shown apart)
    const pulls = await cpuOver([origin.h.pid]);
    const onEdges = await connectAll(PLAYERS - 2, (i) => rtmpPlayer({ port: edges[i % 2].rtmp, app: 'live', stream: 'tier' }));
    sockets.push(...onEdges.map((p) => p.socket));
    const all = [...firsts, ...onEdges];
    await L.waitFor('every edge player receiving', () => all.every((p) => p.frames() > 0), 30000, 20);
    const f0 = all.map((p) => p.frames());
    const tier = await cpuOver(pids);
    const behind = all.filter((p, i) => p.frames() - f0[i] < (WINDOW_MS / 1000) * 25 * 0.95).length;
    for (const s of sockets.splice(0)) s.destroy();
    // the same players straight on the origin
    const direct = await connectAll(PLAYERS, () => rtmpPlayer({ port: origin.rtmp, app: 'live', stream: 'tier' }));
    sockets.push(...direct.map((p) => p.socket));
    await L.waitFor('every direct player receiving', () => direct.every((p) => p.frames() > 0), 30000, 20);
    const flat = await cpuOver([origin.h.pid]);
    const originPerPlayer = (flat[0] - idle[0]) / PLAYERS;
    const edgePerPlayer = edges.map((_, k) => (tier[k + 1] - idle[k + 1]) / (PLAYERS / 2));
    const pullsCost = pulls[0] - idle[0];
    const loadedCost = tier[0] - idle[0];
    L.table(`edge: ${PLAYERS} players over 2 edges of one origin, a 1 Mbit/s stream, ${WINDOW_MS / 1000} s windows`, ['what', 'value'], [
      ['CPU per player on edge 1 / edge 2 (% of a core)', `${L.fmt(edgePerPlayer[0], 4)} / ${L.fmt(edgePerPlayer[1], 4)}`],
      [`CPU per player on the origin, ${PLAYERS} direct players`, L.fmt(originPerPlayer, 4)],
      ['origin CPU for the 2 edge pulls (% of a core)', L.fmt(pullsCost, 3)],
      ['the same while the edges serve every player (contention included)', L.fmt(loadedCost, 3)],
      ['the same as players: 2 x origin CPU per player', L.fmt(2 * originPerPlayer, 3)],
      // /proc counts CPU in 10 ms ticks (over a 10 s window, 0.1% of a core), and two windows of
      // the same load differ by more than that
      ['noise: two idle windows of the origin differ by', L.fmt(noise, 3)],
      ['a pull costs no more than a player', pullsCost <= 2 * originPerPlayer ? L.verdict(true) : pullsCost <= noise ? `below the noise (${L.fmt(noise, 3)}% of a core)` : L.verdict(false)],
      ['edge players behind (< 95% of frames)', `${behind}/${PLAYERS}`],
    ]);
    return { idle, idle2, noise, pulls, tier, flat, edgePerPlayer, originPerPlayer, pullsCost, loadedCost, behind };
  } finally {
    pub.stop();
    for (const s of sockets) s.destroy();
    for (const x of [origin, ...edges]) await x.h.stop('SIGKILL');
  }
};
