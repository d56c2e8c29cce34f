'use strict';
// srs as an edge (vhost cluster { mode remote; origin A B; }): one origin tier of two servers,
// three edges, one ffmpeg publisher, players (ffmpeg, ffprobe and the lean RTMP client) spread
// over the edges. Assertions are on what the players received and on what the origins' API
// lists (an edge's pull is a player of the origin).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const m = require('./support');
const { rtmpPlayer } = require('../helpers/rtmp-load');

const dir = h.tmpdir('srs-edge-');
let source;
const origins = [];
const edges = [];

/** One srs with its own dir, config text and ports; `vhost` is the default vhost's body. */
async function server(name, vhost, top = '') {
  const [rtmp, api, http] = await h.freePorts(3);
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  const file = path.join(d, 'srs.conf');
  fs.writeFileSync(
    file,
    `listen ${rtmp};\ndaemon off;\npid ${path.join(d, 'srs.pid')};\nsrs_log_tank console;\nsrs_log_level trace;\n${top}\n` +
      `http_api { enabled on; listen ${api}; }\nhttp_server { enabled on; listen ${http}; dir ${path.join(h.ROOT, 'html')}; }\n` +
      `vhost __defaultVhost__ { ${vhost} http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }\n`,
  );
  h.trackPidFile(path.join(d, 'srs.pid'));
  const proc = h.startSrs(['-c', file], { cwd: d });
  await proc.waitForLine(/ready, pid/, 20000);
  return { name, rtmp, api, http, proc, url: (s) => `rtmp://127.0.0.1:${rtmp}/live/${s}`, flv: (s) => `http://127.0.0.1:${http}/live/${s}.flv` };
}

test.before(async () => {
  source = await m.makeSource(dir);
  // the origins' ports first: the edges' config names them
  // a graceful quit of an origin closes its listeners soon (grace_start_wait 100 ms)
  for (let i = 1; i <= 3; i++) origins.push(await server(`origin${i}`, '', 'grace_start_wait 100;\ngrace_final_wait 100;'));
  const list = origins.map((o) => `127.0.0.1:${o.rtmp}`).join(' ');
  for (let i = 1; i <= 3; i++) edges.push(await server(`edge${i}`, `cluster { mode remote; origin ${list}; }`));
});

test.after(() => {
  for (const s of [...origins, ...edges]) s.proc.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function clients(srv) {
  const r = await h.request(srv.api, '/api/v1/clients');
  assert.equal(r.status, 200, `${srv.name} /api/v1/clients`);
  return r.json.clients ?? [];
}

async function streamOn(srv, name) {
  const r = await h.request(srv.api, '/api/v1/streams');
  return (r.json?.streams ?? []).find((s) => s.name === name) ?? null;
}

/** Publish `name` to `srv` with ffmpeg and wait until its API shows it live with both codecs. */
async function live(t, srv, name) {
  const pub = m.publish(source, srv.url(name));
  t.after(() => pub.kill());
  await h.waitFor(
    () => `stream ${name} live on ${srv.name} with video and audio (ffmpeg: ${pub.output.slice(-500)})`,
    async () => {
      const st = await streamOn(srv, name);
      return st?.publish?.active && st.video && st.audio;
    },
    20000,
    100,
  );
  return pub;
}

/** The origin's players that are edges' pulls (no test player plays on an origin in these tests). */
async function pullsOn(srv, name) {
  return (await clients(srv)).filter((c) => !c.publish && c.name === name && c.type === 'rtmp-play');
}

/** No gap in a recording: consecutive video dts at most two frame intervals apart; a keyframe first. */
async function assertEveryFrame(file, what, seconds) {
  const pkts = await m.packets(file);
  const video = pkts.filter((p) => p.codec_type === 'video');
  assert.ok(video.length > 0, `${what}: video packets`);
  assert.match(video[0].flags, /K/, `${what}: the first video packet is a keyframe`);
  const lo = m.FPS * seconds - 3;
  assert.ok(video.length >= lo, `${what}: ${video.length} video packets in ${seconds} s at ${m.FPS} fps (want >= ${lo})`);
  const dts = video.map((p) => Number(p.dts_time ?? p.pts_time));
  for (let i = 1; i < dts.length; i++) assert.ok(dts[i] - dts[i - 1] <= 2 / m.FPS + 0.001, `${what}: a gap of ${(dts[i] - dts[i - 1]).toFixed(3)} s at packet ${i}`);
  assert.ok(pkts.some((p) => p.codec_type === 'audio'), `${what}: audio packets`);
}

test('players on three edges each receive every frame; each edge pulls the stream once from the first origin', async (t) => {
  await live(t, origins[0], 'tier');
  const seconds = 4;
  const recs = [];
  // ffmpeg over RTMP on every edge, ffmpeg over HTTP-FLV on the first, lean players on all
  for (const [i, e] of edges.entries()) {
    for (const [kind, url] of [['rtmp', e.url('tier')], ...(i === 0 ? [['flv', e.flv('tier')]] : [])]) {
      const file = path.join(dir, `tier-${e.name}-${kind}.flv`);
      const rec = m.record(url, file, seconds);
      t.after(() => rec.kill());
      recs.push({ rec, file, what: `${e.name} ${kind} (${url})` });
    }
  }
  const lean = [];
  for (const e of edges) {
    for (let k = 0; k < 3; k++) {
      const p = await rtmpPlayer({ port: e.rtmp, app: 'live', stream: 'tier' });
      t.after(() => p.socket.destroy());
      lean.push({ p, e });
    }
  }
  // ffprobe over HTTP-FLV on the third edge: both codecs, as published
  const probed = await m.probeStreams(edges[2].flv('tier'));
  assert.deepEqual(probed.map((x) => x.codec_name).sort(), ['aac', 'h264'], `ffprobe on edge3 over HTTP-FLV: ${JSON.stringify(probed)}`);
  for (const r of recs) {
    const x = await r.rec.waitExit(40000, `ffmpeg recording ${r.what}`);
    assert.equal(x.code, 0, `ffmpeg recorded ${r.what}: ${r.rec.output.slice(-800)}`);
    await assertEveryFrame(r.file, r.what, seconds);
  }
  // the lean players: at least `seconds` of frames each, so far
  await h.waitFor(
    () => `every lean player on the edges received ${m.FPS * seconds} video frames (got ${lean.map((l) => l.p.frames()).join(',')})`,
    () => lean.every((l) => l.p.frames() >= m.FPS * seconds),
    20000,
    100,
  );
  // one pull per edge on the origin, whatever the number of players on the edge
  const pulls = await pullsOn(origins[0], 'tier');
  assert.equal(pulls.length, edges.length, `origin1 lists one pull per edge (got ${JSON.stringify(pulls.map((c) => c.ip + ' ' + c.tcUrl))})`);
  assert.equal((await pullsOn(origins[1], 'tier')).length + (await pullsOn(origins[2], 'tier')).length, 0, 'the other origins are not asked');
  for (const e of edges) assert.match(e.proc.output, new RegExp(`edge pull start from 127\\.0\\.0\\.1:${origins[0].rtmp}`), `${e.name} logs its pull's start and origin`);
  // the edges' API shows the pull as the stream's publisher and every player of it
  const st = await streamOn(edges[0], 'tier');
  assert.ok(st?.publish?.active, `edge1 shows the stream published (by its pull): ${JSON.stringify(st)}`);
});

test('a publish to an edge reaches the origin: a player on the origin receives it', async (t) => {
  const pub = await live(t, edges[1], 'up');
  const st = await h.waitFor(
    () => 'the stream published to edge2 appears live on origin1',
    async () => {
      const s = await streamOn(origins[0], 'up');
      return s?.publish?.active && s.video && s.audio ? s : null;
    },
    20000,
    100,
  );
  assert.equal(st.video.codec, 'H264');
  const file = path.join(dir, 'up-origin.flv');
  const rec = m.record(origins[0].url('up'), file, 3);
  t.after(() => rec.kill());
  const x = await rec.waitExit(30000, 'ffmpeg recording from origin1');
  assert.equal(x.code, 0, `ffmpeg recorded the forwarded stream from origin1: ${rec.output.slice(-800)}`);
  await assertEveryFrame(file, 'origin1 player of a stream published to edge2', 3);
  assert.match(edges[1].proc.output, /edge forward start to 127\.0\.0\.1:\d+/, 'edge2 logs its forward');
  // the forward ends with the publisher: the origin no longer has a publisher for it
  pub.kill();
  await h.waitFor('origin1 no longer shows "up" published once the edge publisher left', async () => !(await streamOn(origins[0], 'up'))?.publish?.active, 15000, 100);
  assert.match(edges[1].proc.output, /edge forward stop/, 'edge2 logs the forward stop');
});

test('the origin dies: players stay on the edges (UnpublishNotify), the publisher moves to the second origin, the edges find it and players resume; idle edges pull nothing', async (t) => {
  let pub = await live(t, origins[0], 'move');
  const players = [];
  for (const e of edges) {
    for (let k = 0; k < 2; k++) {
      const p = await rtmpPlayer({ port: e.rtmp, app: 'live', stream: 'move' });
      t.after(() => p.socket.destroy());
      players.push({ p, e });
    }
  }
  await h.waitFor(
    () => `every player received 25 frames before the origin dies (got ${players.map((x) => x.p.frames()).join(',')})`,
    () => players.every((x) => x.p.frames() >= 25),
    20000,
    50,
  );
  origins[0].proc.kill('SIGKILL');
  await origins[0].proc.waitForExit(10000);
  await pub.waitExit(15000, 'ffmpeg publishing to the killed origin');
  await h.waitFor(
    () => `every edge player told NetStream.Play.UnpublishNotify (statuses: ${JSON.stringify(players.map((x) => x.p.statuses))})`,
    () => players.every((x) => x.p.statuses.includes('NetStream.Play.UnpublishNotify')),
    15000,
    50,
  );
  const before = players.map((x) => x.p.frames());
  // the publisher republishes to the second origin
  pub = await live(t, origins[1], 'move');
  await h.waitFor(
    () => `every edge player resumed: NetStream.Play.PublishNotify and 50 more frames (frames ${players.map((x, i) => x.p.frames() - before[i]).join(',')}; statuses ${JSON.stringify(players.map((x) => x.p.statuses.slice(-3)))})`,
    () => players.every((x, i) => x.p.statuses.lastIndexOf('NetStream.Play.PublishNotify') > x.p.statuses.lastIndexOf('NetStream.Play.UnpublishNotify') && x.p.frames() - before[i] >= 50),
    40000,
    100,
  );
  for (const x of players) assert.ok(!x.p.socket.destroyed, `${x.e.name}: the player's connection stayed open`);
  for (const e of edges) assert.match(e.proc.output, new RegExp(`edge pull retry 127\\.0\\.0\\.1:${origins[1].rtmp} in \\d+ ms stream=__defaultVhost__/live/move`), `${e.name} logs its retry of the second origin with the delay`);
  assert.equal((await pullsOn(origins[1], 'move')).length, edges.length, 'origin2 lists one pull per edge');
  // the players leave: every edge stops pulling (after its idle time)
  for (const x of players) x.p.socket.destroy();
  await h.waitFor(
    async () => `origin2 lists no edge pull of "move" once the players left (got ${JSON.stringify(await pullsOn(origins[1], 'move'))})`,
    async () => (await pullsOn(origins[1], 'move')).length === 0,
    20000,
    200,
  );
  for (const e of edges) await e.proc.waitForLine(/edge pull stop \(idle\) stream=__defaultVhost__\/live\/move/, 5000);
});

test('the second origin quits gracefully (SIGQUIT) and its publisher stops: the edges keep their players, find the stream on the third origin, and the quitting origin exits', async (t) => {
  const [, o2, o3] = origins;
  let pub = await live(t, o2, 'quit');
  const players = [];
  for (const e of edges) {
    const p = await rtmpPlayer({ port: e.rtmp, app: 'live', stream: 'quit' });
    t.after(() => p.socket.destroy());
    players.push({ p, e });
  }
  await h.waitFor(() => `every player received 25 frames (got ${players.map((x) => x.p.frames())})`, () => players.every((x) => x.p.frames() >= 25), 20000, 50);
  assert.equal((await pullsOn(o2, 'quit')).length, edges.length, 'origin2 serves one pull per edge');
  o2.proc.kill('SIGQUIT');
  await o2.proc.waitForLine(/listeners closed/, 10000);
  // the publisher stops (as an encoder does when its server goes away) and comes back on the third origin
  pub.kill();
  await pub.waitExit(10000, 'ffmpeg publishing to origin2');
  await o2.proc.waitForExit(20000);
  const before = players.map((x) => x.p.frames());
  pub = await live(t, o3, 'quit');
  await h.waitFor(
    () => `every edge player resumed from origin3 (frames ${players.map((x, i) => x.p.frames() - before[i])}; statuses ${JSON.stringify(players.map((x) => x.p.statuses.slice(-3)))})`,
    () => players.every((x, i) => x.p.statuses.lastIndexOf('NetStream.Play.PublishNotify') > x.p.statuses.lastIndexOf('NetStream.Play.UnpublishNotify') && x.p.frames() - before[i] >= 50),
    45000,
    100,
  );
  for (const x of players) assert.ok(!x.p.socket.destroyed, `${x.e.name}: the player stayed connected`);
  assert.equal((await pullsOn(o3, 'quit')).length, edges.length, 'origin3 serves one pull per edge');
  for (const x of players) x.p.socket.destroy();
});
