'use strict';
// Reload with streams playing (issue 12, section 2), asserted on what 20 players received. The
// config lives in kubelet's ConfigMap layout (srs.conf -> ..data/srs.conf, ..data -> ..<version>)
// with inotify_auto_reload on, and srs logs to a file. One ffmpeg publisher; 19 lean RTMP players
// (on two `listen` ports) and one lean HTTP-FLV player record every video timestamp.
//   SIGHUP (a reload, config unchanged), SIGUSR1 (log reopen), then a ConfigMap `..data` swap
//   that removes the second `listen` port and changes the vhost's chunk_size and http_remux mount: no player's
//   timestamps show a gap longer than two frame intervals, no player is closed; the removed port
//   refuses new connections while its players go on; a new player gets the new chunk_size, the
//   players already there keep theirs; new HTTP-FLV requests follow the new mount while the
//   HTTP-FLV player on the old one goes on.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const m = require('./support');
const P = require('./players');

const FRAME_MS = 1000 / m.FPS;

function body(dir, { ports, api, http, chunk, mount = '[vhost]/[app]/[stream].flv' }) {
  return `
listen ${ports.join(' ')};
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank file;
srs_log_file ${path.join(dir, 'srs.log')};
srs_log_level trace;
inotify_auto_reload on;
http_api { enabled on; listen ${api}; }
http_server { enabled on; listen ${http}; dir ${path.join(h.ROOT, 'html')}; }
vhost __defaultVhost__ {
  chunk_size ${chunk};
  http_remux { enabled on; mount ${mount}; }
}
`;
}

function logText(dir) {
  try {
    return fs.readFileSync(path.join(dir, 'srs.log'), 'utf8');
  } catch {
    return '';
  }
}

function waitLog(dir, re, timeoutMs = 10000, file = 'srs.log') {
  return h.waitFor(
    () => `${file} matching ${re} (tail: ${JSON.stringify(logText(dir).slice(-1500))})`,
    () => {
      try {
        return re.test(fs.readFileSync(path.join(dir, file), 'utf8'));
      } catch {
        return false;
      }
    },
    timeoutMs,
    20,
  );
}

/** The status of a GET, without reading its body. */
function statusOf(port, p) {
  return new Promise((resolve, reject) => {
    const req = require('node:http').get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      resolve(res.statusCode);
      req.destroy();
    });
    req.on('error', (e) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

function count(text, re) {
  return (text.match(new RegExp(re.source, 'g')) ?? []).length;
}

test('SIGHUP, SIGUSR1 and a ConfigMap ..data swap with 20 players: no timestamp gap above two frames, a removed port keeps its players, a new chunk_size applies to new sessions', async (t) => {
  const dir = h.tmpdir('srs-stream-reload-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  // no loop: the stream's own timestamps run without a wrap for the whole test
  const source = await m.makeSource(dir, 40);
  const [a, b, api, http] = await h.freePorts(4);
  const cm = path.join(dir, 'cm');
  fs.mkdirSync(cm);
  const v1 = path.join(cm, '..2026_11_30_10_00_00.000000001');
  fs.mkdirSync(v1);
  fs.writeFileSync(path.join(v1, 'srs.conf'), body(dir, { ports: [a, b], api, http, chunk: 4096 }));
  fs.symlinkSync(path.basename(v1), path.join(cm, '..data'));
  fs.symlinkSync('..data/srs.conf', path.join(cm, 'srs.conf'));
  h.trackPidFile(path.join(dir, 'srs.pid'));
  const srs = h.startSrs(['-c', path.join(cm, 'srs.conf')], { cwd: dir });
  t.after(() => srs.kill());
  await waitLog(dir, /ready, pid/);

  const pub = m.publish(source, `rtmp://127.0.0.1:${a}/live/test`, { loop: false });
  t.after(() => pub.kill());
  await h.waitFor(
    () => `the stream live (ffmpeg: ${pub.output.slice(-500)})`,
    async () => ((await h.request(api, '/api/v1/streams')).json?.streams ?? []).some((s) => s.name === 'test' && s.publish?.active && s.video),
    20000,
    100,
  );
  const players = [];
  t.after(() => players.forEach((p) => p.close()));
  for (let i = 0; i < 19; i++) players.push(await P.rtmp(i % 2 ? b : a, 'live', 'test'));
  players.push(await P.flv(http, '/live/test.flv'));
  const onB = players.filter((p, i) => i < 19 && i % 2);

  const progress = async (what, frames = 25) => {
    const base = players.map((p) => p.frames());
    await h.waitFor(() => `${what}: every player +${frames} frames (gained ${players.map((p, i) => p.frames() - base[i]).join(',')})`, () => players.every((p, i) => p.frames() >= base[i] + frames), 15000, 20);
  };
  await progress('before the reloads');
  assert.ok(players.slice(0, 19).every((p) => p.counter.chunkSize === 4096), `players get the vhost's chunk_size 4096 (got ${players.slice(0, 19).map((p) => p.counter.chunkSize)})`);

  // 1. SIGHUP: a reload (nothing changed)
  const reloads = count(logText(dir), /reload ok/);
  srs.kill('SIGHUP');
  await h.waitFor(() => `a reload after SIGHUP (log: ${logText(dir).slice(-800)})`, () => count(logText(dir), /reload ok/) > reloads, 10000, 20);
  await progress('after SIGHUP');

  // 2. SIGUSR1: the log file reopens (logrotate's copy-less rotation)
  fs.renameSync(path.join(dir, 'srs.log'), path.join(dir, 'srs.log.1'));
  srs.kill('SIGUSR1');
  await waitLog(dir, /log file reopened/);
  await progress('after SIGUSR1');

  // 3. the ConfigMap changes: kubelet writes a new version and swaps ..data atomically
  const v2 = path.join(cm, '..2026_11_30_10_05_00.000000002');
  fs.mkdirSync(v2);
  fs.writeFileSync(path.join(v2, 'srs.conf'), body(dir, { ports: [a], api, http, chunk: 8192, mount: '[vhost]/[app]/[stream].v2.flv' }));
  fs.symlinkSync(path.basename(v2), path.join(cm, '..data_tmp'));
  fs.renameSync(path.join(cm, '..data_tmp'), path.join(cm, '..data'));
  fs.rmSync(v1, { recursive: true });
  await waitLog(dir, new RegExp(`reload: stopped listening at [^\\n]*:${b} \\(rtmp\\)`));
  await waitLog(dir, /reload ok: applied [^\n]*chunk_size/);
  await waitLog(dir, /reload ok: applied [^\n]*http_remux/);
  assert.equal(await h.canConnect(b), false, `the removed port ${b} refuses new connections`);
  await progress('after the ..data swap');
  await progress('a second later, the removed port\'s players too');
  assert.ok(onB.length === 9 && onB.every((p) => !p.end.closed), 'the players of the removed port stay');

  const late = await P.rtmp(a, 'live', 'test');
  t.after(() => late.close());
  await h.waitFor(() => `the new player receives (frames ${late.frames()})`, () => late.frames() >= 10, 10000, 20);
  assert.equal(late.counter.chunkSize, 8192, 'a session after the reload gets the new chunk_size');
  assert.ok(players.slice(0, 19).every((p) => p.counter.chunkSize === 4096), 'the sessions already there keep theirs');
  // the http_remux mount moved: new requests follow it, the HTTP-FLV player already there goes on
  const v2flv = await P.flv(http, '/live/test.v2.flv');
  t.after(() => v2flv.close());
  await h.waitFor(() => `a player on the new mount receives (frames ${v2flv.frames()})`, () => v2flv.frames() >= 10, 10000, 20);
  const old = await statusOf(http, '/live/test.flv');
  assert.notEqual(old, 200, 'the old mount no longer serves the stream to new requests');

  for (const [i, p] of players.entries()) {
    assert.ok(!p.end.closed, `player ${i} (${p.kind}) still open: ${JSON.stringify(p.end)}`);
    const ts = p.timestamps ? p.timestamps().slice(1) : null;
    if (!ts) continue;
    assert.ok(ts.length > 100, `player ${i}: ${ts.length} video timestamps`);
    // the timestamps advance a frame interval per frame (a parser that missed them would show no gap)
    assert.ok(ts.at(-1) - ts[0] >= (ts.length - 1) * FRAME_MS * 0.9, `player ${i}: timestamps advance (${ts[0]}..${ts.at(-1)} over ${ts.length} frames)`);
    const gap = P.largestGap(ts);
    assert.ok(gap.gap <= 2 * FRAME_MS + 1, `player ${i}: no video timestamp gap above two frame intervals (${2 * FRAME_MS} ms): ${JSON.stringify(gap)}`);
  }
  const flvPlayer = players[19];
  assert.ok(flvPlayer.frames() > 100, `the HTTP-FLV player received through the reloads (${flvPlayer.frames()} frames)`);
  t.diagnostic(`frames per RTMP player: min ${Math.min(...players.slice(0, 19).map((p) => p.frames()))}; HTTP-FLV ${flvPlayer.frames()}`);
});
