'use strict';
// A graceful quit with a live stream (issue 12, section 3), asserted on what 20 real players
// received: lean RTMP and HTTP-FLV players (every video timestamp, the status events, how the
// connection ended) and ffmpeg recording over RTMP and over HTTP-FLV (ffprobe then reads the
// capture whole). The publisher is ffmpeg.
//  1. SIGQUIT without a bound: readiness 503 at once, a new player is served during
//     grace_start_wait, the listeners close, the drain is logged per stream, every player goes on
//     receiving until the publisher stops; then each is told (UnpublishNotify) and closed cleanly,
//     and srs exits 0 (drained).
//  2. grace_max_wait: the publisher goes on; at the bound every player ends cleanly (RTMP:
//     UnpublishNotify then FIN; HTTP-FLV: the final chunk), the publisher is closed, nothing is cut.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const m = require('./support');
const P = require('./players');

const dir = h.tmpdir('srs-stream-quit-');
let source;

test.before(async () => {
  source = await m.makeSource(dir);
});
test.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it

async function startServer(t, name, grace) {
  const [rtmp, api, http] = await h.freePorts(3);
  const sub = path.join(dir, name);
  fs.mkdirSync(sub);
  const file = h.writeConfig(sub, {
    rtmp,
    api,
    http,
    extra: `${grace}\nvhost __defaultVhost__ { http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }`,
  });
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\nvhost __defaultVhost__ \{ \}\n/, '\n'));
  const proc = h.startSrs(['-c', file], { cwd: sub });
  t.after(() => proc.kill());
  await proc.waitForLine(/ready, pid/);
  return { sub, rtmp, api, http, proc, url: (s) => `rtmp://127.0.0.1:${rtmp}/live/${s}`, flv: (s) => `http://127.0.0.1:${http}/live/${s}.flv` };
}

async function livePublisher(t, srv, name) {
  const pub = m.publish(source, srv.url(name));
  t.after(() => pub.kill());
  await h.waitFor(
    () => `stream ${name} live with video (ffmpeg: ${pub.output.slice(-500)})`,
    async () => {
      const r = await h.request(srv.api, '/api/v1/streams');
      return (r.json?.streams ?? []).some((s) => s.name === name && s.publish?.active && s.video);
    },
    20000,
    100,
  );
  return pub;
}

/** 16 lean RTMP + 1 lean HTTP-FLV players, an ffmpeg recording over RTMP and one over HTTP-FLV: 19. */
async function audience(t, srv, name) {
  const lean = [];
  for (let i = 0; i < 16; i++) lean.push(await P.rtmp(srv.rtmp, 'live', name));
  lean.push(await P.flv(srv.http, `/live/${name}.flv`));
  t.after(() => lean.forEach((p) => p.close()));
  const rec = [
    { file: path.join(srv.sub, 'rtmp.flv'), url: srv.url(name) },
    { file: path.join(srv.sub, 'http.flv'), url: srv.flv(name) },
  ].map((r) => ({ ...r, p: m.record(r.url, r.file, 600) }));
  t.after(() => rec.forEach((r) => r.p.kill()));
  await h.waitFor(
    () => `every player receiving (frames: ${lean.map((p) => p.frames()).join(',')}; recordings: ${rec.map((r) => (fs.existsSync(r.file) ? fs.statSync(r.file).size : -1)).join(',')})`,
    () => lean.every((p) => p.frames() >= 10) && rec.every((r) => fs.existsSync(r.file) && fs.statSync(r.file).size > 50000),
    20000,
    50,
  );
  return { lean, rec };
}

/** Every lean player has received `n` more video frames than in `base`. */
function moreFrames(lean, base, n) {
  return lean.every((p, i) => p.frames() >= base[i] + n);
}

async function assertRecordingsWhole(rec) {
  for (const r of rec) {
    const e = await m.probeErrors(r.file);
    assert.equal(e.code, 0, `ffprobe ${r.url} capture: exit ${e.code}: ${e.errors}`);
    assert.equal(e.errors, '', `ffprobe reads the ${r.url} capture without error (a truncated tag shows here)`);
    const pk = await m.packets(r.file);
    assert.ok(pk.filter((p) => p.codec_type === 'video').length > 50, `${r.url} capture has video`);
  }
}

function assertCleanEnds(lean) {
  for (const [i, p] of lean.entries()) {
    if (p.kind === 'rtmp') {
      assert.ok(p.statuses.includes('NetStream.Play.UnpublishNotify'), `player ${i}: UnpublishNotify (got ${p.statuses.join(',')})`);
      assert.equal(p.statuses.at(-1), 'NetStream.Play.UnpublishNotify', `player ${i}: UnpublishNotify is the last status`);
    }
    assert.ok(p.cleanEnd, `player ${i} (${p.kind}) ended cleanly: ${JSON.stringify(p.end)}`);
    // the first video message is the sequence header (timestamp 0 for a player who joins late)
    const gap = P.largestGap(p.timestamps ? p.timestamps().slice(1) : []);
    assert.ok(gap.gap <= 2 * (1000 / m.FPS) + 1 || !p.timestamps, `player ${i}: no video timestamp gap above two frames (${JSON.stringify(gap)})`);
  }
}

test('SIGQUIT with 20 players and a live publisher: served during grace_start_wait, every player receives until the publisher stops, then ends cleanly', async (t) => {
  const srv = await startServer(t, 'unbounded', 'grace_start_wait 1500; grace_final_wait 0; grace_max_wait 0;');
  const pub = await livePublisher(t, srv, 'test');
  const { lean, rec } = await audience(t, srv, 'test');

  srv.proc.kill('SIGQUIT');
  await srv.proc.waitForLine(/start gracefully quit/, 3000);
  const ready = await h.request(srv.api, '/readyz');
  assert.equal(ready.status, 503, 'readiness 503 at once');
  // grace_start_wait: everything works, a new player is served
  const late = await P.rtmp(srv.rtmp, 'live', 'test');
  t.after(() => late.close());
  lean.push(late);
  await h.waitFor(() => `the player who came during grace_start_wait receives (frames ${late.frames()})`, () => late.frames() >= 10, 10000, 20);
  assert.doesNotMatch(srv.proc.output, /listeners closed/, 'the player came before the listeners closed (grace_start_wait too short for this box?)');

  await srv.proc.waitForLine(/listeners closed, draining/, 5000);
  await srv.proc.waitForLine(/drain: __defaultVhost__\/live\/test, 1 publisher, 20 players/, 3000);
  await h.waitFor('the RTMP port refuses new connections', async () => !(await h.canConnect(srv.rtmp)), 5000, 20);

  // the stream goes on: every player receives 2 s more
  const base = lean.map((p) => p.frames());
  await h.waitFor(() => `every player receiving after the listeners closed (gained ${lean.map((p, i) => p.frames() - base[i]).join(',')})`, () => moreFrames(lean, base, 50), 15000, 50);
  assert.ok(lean.every((p) => !p.end.closed), 'no player was closed while the publisher publishes');

  const stopped = Date.now();
  pub.kill('SIGINT');
  await pub.waitExit(10000, 'the ffmpeg publisher');
  await h.waitFor(() => `every player closed (${lean.map((p) => JSON.stringify(p.end)).join(' ')})`, () => lean.every((p) => p.end.closed), 10000, 20);
  for (const r of rec) await r.p.waitExit(15000, `ffmpeg recording ${r.url}`);
  const exit = await srv.proc.waitForExit(15000);
  assert.equal(exit.code, 0, srv.proc.output.slice(-2000));
  assert.match(srv.proc.output, /graceful quit done \(drained\)/);
  assert.match(srv.proc.output, /drain: __defaultVhost__\/live\/test, 0 publishers, 1?\d players/, `the drain logged the publisher leaving: ${srv.proc.output.split('\n').filter((l) => /drain:|rtmp close.*publish/.test(l)).join('\n')}`);
  assert.match(srv.proc.output, /drain: __defaultVhost__\/live\/test, 0 publishers, 0 players/, 'the drain logged the stream gone');
  assert.doesNotMatch(srv.proc.output, /cut \d+ connections/);
  assertCleanEnds(lean);
  await assertRecordingsWhole(rec);
  t.diagnostic(`players closed within ${Date.now() - stopped} ms of the publisher stop (ffmpeg and srs exits included)`);
});

test('SIGQUIT with grace_max_wait: the publisher goes on, and at the bound every player ends cleanly (no truncated tag), the publisher is closed', async (t) => {
  const srv = await startServer(t, 'bounded', 'grace_start_wait 200; grace_final_wait 0; grace_max_wait 2500;');
  const pub = await livePublisher(t, srv, 'test');
  const { lean, rec } = await audience(t, srv, 'test');
  lean.push(await P.rtmp(srv.rtmp, 'live', 'test'));
  await h.waitFor('the 20th player receiving', () => lean.at(-1).frames() >= 10, 10000, 20);

  srv.proc.kill('SIGQUIT');
  await srv.proc.waitForLine(/listeners closed, draining/, 5000);
  await srv.proc.waitForLine(/drain: __defaultVhost__\/live\/test, 1 publisher, 20 players/, 3000);
  const base = lean.map((p) => p.frames());
  await h.waitFor(() => `every player receiving after the listeners closed (gained ${lean.map((p, i) => p.frames() - base[i]).join(',')})`, () => moreFrames(lean, base, 25), 10000, 50);

  await srv.proc.waitForLine(/grace_max_wait reached/, 10000);
  await h.waitFor(() => `every player closed (${lean.map((p) => JSON.stringify(p.end)).join(' ')})`, () => lean.every((p) => p.end.closed), 5000, 20);
  const pe = await pub.waitExit(10000, 'the ffmpeg publisher, closed at the bound');
  for (const r of rec) await r.p.waitExit(15000, `ffmpeg recording ${r.url}`);
  const exit = await srv.proc.waitForExit(15000);
  assert.equal(exit.code, 0, srv.proc.output.slice(-2000));
  assert.match(srv.proc.output, /graceful quit done \(deadline\)/);
  assert.doesNotMatch(srv.proc.output, /cut \d+ connections/, 'every connection ended cleanly at the bound, none was destroyed');
  assertCleanEnds(lean);
  await assertRecordingsWhole(rec);
  t.diagnostic(`publisher ffmpeg exited ${JSON.stringify(pe)}`);
});
