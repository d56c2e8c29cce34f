'use strict';
// stream-upgrade: an upgrade (SIGUSR2) under live video. One ~1 Mbit/s publisher and 200 players on
// the old process; SIGUSR2; then 50 players arrive at the new process for the stream still
// published to the old one (the new process pulls it from the old over its relay listener).
// Reported: frames lost per old player across the upgrade (gaps in the publisher's sequence
// numbers; target 0), the relay's extra delay (new players' p99 minus old players' p99; target
// under 5 ms), and the time from SIGUSR2 until a new player's first frame. 3 runs, medians.
// Players are written to at once (`play { mw_latency 0; }`): the merged write SRS defaults to
// would hold every frame up to 350 ms and hide the relay hop's few ms in that noise.
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const L = require('./lib');
const { rtmpPlayer, rtmpPublisher } = require('../test/helpers/rtmp-load');

const RUNS = Number(process.env.SRS_BENCH_RUNS || 3);
const OLD_PLAYERS = Number(process.env.SRS_BENCH_PLAYERS || 200);
const NEW_PLAYERS = 50;
const WINDOW_MS = 8000;

function percentile(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function connectAll(n, make) {
  const out = [];
  for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, make))));
  return out;
}

async function once(dir, i) {
  const [rtmp] = await L.freePorts(1);
  const pidFile = path.join(dir, `up-${i}.pid`);
  const conf = path.join(dir, `up-${i}.conf`);
  fs.writeFileSync(conf, [`listen ${rtmp};`, 'max_connections 5000;', 'daemon off;', 'disable_daemon_for_docker off;', 'auto_reload_for_docker off;', `pid ${pidFile};`, 'srs_log_tank console;', 'srs_log_level warn;', 'grace_final_wait 100;', 'grace_max_wait 30000;', 'vhost __defaultVhost__ { play { mw_latency 0; } }', ''].join('\n'));
  const old = L.start(L.SRS, ['-c', conf]);
  let newPid = null;
  const sockets = [];
  let pub = null;
  try {
    await L.pollAccept([rtmp], { abort: () => old.exit && `srs exited: ${old.tail}` });
    pub = await rtmpPublisher({ port: rtmp, app: 'live', stream: 'up', kbps: 1000 });
    const oldDelays = [];
    const olds = await connectAll(OLD_PLAYERS, () => rtmpPlayer({ port: rtmp, app: 'live', stream: 'up', delays: oldDelays }));
    sockets.push(...olds.map((p) => p.socket));
    await L.waitFor('every old player receiving', () => olds.every((p) => p.frames() > 0), 20000, 20);
    const lost0 = olds.map((p) => p.lost());
    const t0 = performance.now();
    process.kill(old.pid, 'SIGUSR2');
    newPid = await L.waitFor(
      'the new process to own the pid file',
      () => {
        try {
          const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
          return pid && pid !== old.pid ? L.track(pid, 'srs (upgraded)') : null;
        } catch {
          return null;
        }
      },
      20000,
      5,
    );
    const handover = performance.now() - t0;
    const newDelays = [];
    oldDelays.length = 0;
    const news = await connectAll(NEW_PLAYERS, () => rtmpPlayer({ port: rtmp, app: 'live', stream: 'up', delays: newDelays }));
    sockets.push(...news.map((p) => p.socket));
    const firstFrame = await L.waitFor('a new player\'s first frame (through the relay)', () => {
      const at = news.map((p) => p.firstFrameAt()).filter((x) => x !== null);
      return at.length ? Math.min(...at) - t0 : null;
    }, 20000, 2);
    await L.waitFor('every new player receiving', () => news.every((p) => p.frames() > 0), 20000, 20);
    newDelays.length = 0;
    oldDelays.length = 0;
    await new Promise((r) => setTimeout(r, WINDOW_MS)); // the measurement window itself
    const lost = olds.map((p, k) => p.lost() - lost0[k]);
    const newLost = news.map((p) => p.lost());
    return {
      handover_ms: handover,
      first_frame_after_sigusr2_ms: firstFrame,
      old_players_lost_frames_max: Math.max(...lost),
      old_players_lost_frames_total: lost.reduce((a, b) => a + b, 0),
      new_players_lost_frames_max: Math.max(...newLost),
      old_p99_ms: percentile(oldDelays, 99),
      new_p99_ms: percentile(newDelays, 99),
      old_p50_ms: percentile(oldDelays, 50),
      new_p50_ms: percentile(newDelays, 50),
    };
  } finally {
    pub?.stop();
    for (const s of sockets) s.destroy();
    await old.stop('SIGKILL');
    if (newPid) L.killPid(newPid, 'SIGKILL');
  }
}

module.exports = async function streamUpgrade({ dir }) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(dir, i));
  const med = (k) => L.median(runs.map((r) => r[k]));
  const extra = med('new_p99_ms') - med('old_p99_ms');
  L.table(`stream-upgrade: SIGUSR2 under ${OLD_PLAYERS} players of a 1 Mbit/s stream, then ${NEW_PLAYERS} new players (median of ${RUNS})`, ['what', 'value', 'target'], [
    ['frames lost per old player (max over players)', L.fmt(med('old_players_lost_frames_max'), 0), '0 ' + L.verdict(med('old_players_lost_frames_max') === 0)],
    ['frames lost per new player (max)', L.fmt(med('new_players_lost_frames_max'), 0), ''],
    ['relay delay p50 / p99, new players (ms)', `${L.fmt(med('new_p50_ms'), 2)} / ${L.fmt(med('new_p99_ms'), 2)}`, ''],
    ['direct delay p50 / p99, old players (ms)', `${L.fmt(med('old_p50_ms'), 2)} / ${L.fmt(med('old_p99_ms'), 2)}`, ''],
    ['extra delay of the relay at p99 (ms)', L.fmt(extra, 2), '< 5 ' + L.verdict(extra < 5)],
    ['SIGUSR2 until the new process owns the pid file (ms)', L.fmt(med('handover_ms'), 0), ''],
    ['SIGUSR2 until a new player\'s first frame (ms)', L.fmt(med('first_frame_after_sigusr2_ms'), 0), ''],
  ]);
  return { runs, extra_p99_ms: extra };
};
