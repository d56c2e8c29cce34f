'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { execFileSync, execFile } = require('node:child_process');
const { StreamHub } = require('../../dist/media/hub');
const { matchFlvMount, serveHttpFlv, DEFAULT_FLV_MOUNT } = require('../../dist/media/http-flv');
const { video, audio, metadata, settings, publisher, demuxFlv } = require('./support');

const DEF = '__defaultVhost__';

test('mount matching as SRS: [vhost]/[app]/[stream].flv serves /app/stream.flv, one segment each', () => {
  assert.deepStrictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, DEF, '/live/livestream.flv'), { vhost: DEF, app: 'live', stream: 'livestream' });
  assert.deepStrictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, DEF, '/live/livestream.flv?token=1'), { vhost: DEF, app: 'live', stream: 'livestream' });
  assert.deepStrictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, 'ossrs.net', '/live/livestream.flv'), { vhost: 'ossrs.net', app: 'live', stream: 'livestream' });
  assert.strictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, DEF, '/livestream.flv'), null, 'HTTP has no default app');
  assert.strictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, DEF, '/live/show/livestream.flv'), null);
  assert.strictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, DEF, '/live/livestream.ts'), null);
  assert.strictEqual(matchFlvMount(DEFAULT_FLV_MOUNT, DEF, '/live/.flv'), null);
  assert.deepStrictEqual(matchFlvMount('/flv/[app]/[stream].flv', DEF, '/flv/live/a.b.flv'), { vhost: DEF, app: 'live', stream: 'a.b' });
  assert.strictEqual(matchFlvMount('/flv/[app]/[stream].flv', DEF, '/live/a.flv'), null);
});

/** An http server that serves HTTP-FLV from `hub`, on a free port. */
async function serve(t, hub, onPlayer = () => {}, st = settings()) {
  const server = http.createServer((req, res) => {
    const key = matchFlvMount(DEFAULT_FLV_MOUNT, DEF, req.url);
    if (!key) {
      res.writeHead(404).end();
      return;
    }
    onPlayer(serveHttpFlv(req, res, hub, key, st, 'c1'));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  server.closeAllConnections && t.after(() => server.closeAllConnections());
  return server.address().port;
}

/** Resolves when `check()` is true after some client event, or rejects at the deadline with `what`. */
function until(emitter, events, check, what, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out: ${what}`)), ms);
    const on = () => check() && done();
    function done(err) {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, on);
      err ? reject(err) : resolve();
    }
    for (const e of events) emitter.on(e, on);
    on();
  });
}

test('an HTTP-FLV player: 200 video/x-flv chunked with CORS, FLV header, metadata, headers, GOP, live tags; ends cleanly on drain', async (t) => {
  const hub = new StreamHub();
  const src = hub.publish({ vhost: DEF, app: 'live', stream: 'test' }, publisher(), settings());
  src.feed(metadata());
  src.feed(video(0, { sh: true }));
  src.feed(audio(0, { sh: true }));
  src.feed(video(0, { key: true }));
  src.feed(audio(20));
  const port = await serve(t, hub);
  const res = await new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path: '/live/test.flv', agent: false }, resolve).on('error', reject));
  assert.strictEqual(res.statusCode, 200);
  assert.strictEqual(res.headers['content-type'], 'video/x-flv');
  assert.strictEqual(res.headers['access-control-allow-origin'], '*');
  assert.strictEqual(res.headers['transfer-encoding'], 'chunked');
  const chunks = [];
  let ended = false;
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => (ended = true));
  const tags = () => demuxFlv(Buffer.concat(chunks)).tags;
  await until(res, ['data'], () => chunks.length > 0 && tags().length >= 5, 'the player got metadata, 2 sequence headers and the GOP');
  const got = demuxFlv(Buffer.concat(chunks));
  assert.deepStrictEqual(got.header, { audio: true, video: true });
  assert.deepStrictEqual(got.tags.map((x) => x.type), [18, 9, 8, 9, 8]);
  assert.strictEqual(got.tags[0].data.toString('latin1', 3, 13), 'onMetaData');
  src.feed(video(40));
  await until(res, ['data'], () => tags().length >= 6, 'a live tag arrived');
  assert.strictEqual(tags()[5].timestamp, 40);
  hub.drainAll('gracefully quit');
  await until(res, ['end'], () => ended, 'the response ended with its final chunk');
  assert.strictEqual(demuxFlv(Buffer.concat(chunks)).rest, 0, 'no partial tag at the end');
  assert.strictEqual(hub.counters().players, 0);
});

test('ffprobe plays a real x264 + AAC stream over HTTP-FLV as a late player', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-flv-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const file = path.join(dir, 'in.flv');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=44100', '-t', '2', '-c:v', 'libx264', '-g', '25', '-sc_threshold', '0', '-c:a', 'aac', '-f', 'flv', file]);
  const hub = new StreamHub();
  const src = hub.publish({ vhost: DEF, app: 'live', stream: 'real' }, publisher(), settings());
  for (const tag of demuxFlv(fs.readFileSync(file)).tags) src.feed({ type: tag.type, timestamp: tag.timestamp, streamId: 1, payload: tag.data });
  let consumer = null;
  const port = await serve(t, hub, (c) => {
    consumer = c;
    // the GOP goes out on the next tick; then the stream ends as a drain would end it
    setImmediate(() => setImmediate(() => hub.drainAll('done')));
  });
  const out = await new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-show_streams', '-count_packets', '-of', 'json', `http://127.0.0.1:${port}/live/real.flv`], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`ffprobe: ${err.message} ${stderr}`)) : resolve(stdout)));
  });
  assert.ok(consumer, 'ffprobe connected');
  const streams = JSON.parse(out).streams;
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  assert.strictEqual(v.codec_name, 'h264');
  assert.deepStrictEqual([v.width, v.height], [320, 240]);
  assert.strictEqual(a.codec_name, 'aac');
  // the late player got the last GOP: the 25 frames from the keyframe at 1 s (and its audio)
  assert.strictEqual(Number(v.nb_read_packets), 25);
});

test('an HTTP-FLV client that stops reading is closed as fallen behind, its queue within bound', async (t) => {
  let now = 1_000_000;
  const hub = new StreamHub({ now: () => now });
  const st = settings({ queueLengthMs: 5_000, queueMaxBytes: 256 * 1024 });
  const src = hub.publish({ vhost: DEF, app: 'live', stream: 'stuck' }, publisher(), st);
  src.feed(video(0, { sh: true }));
  let consumer = null;
  const port = await serve(t, hub, (c) => (consumer = c), st);
  const res = await new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path: '/live/stuck.flv', agent: false }, resolve).on('error', reject));
  res.pause(); // reads nothing more: the kernel buffers fill, then the server's socket pushes back
  let closed = false;
  res.socket.on('close', () => (closed = true));
  let ts = 0;
  let maxQueued = 0;
  // feed 100 KB frames until the player is closed; each one second of media apart on the fake clock
  for (let i = 0; i < 400 && hub.counters().playersDroppedBehind === 0; i++) {
    src.feed(video(ts, { key: i % 5 === 0, size: 100_000 }));
    ts += 200;
    now += 200;
    if (consumer) maxQueued = Math.max(maxQueued, consumer.queuedBytes);
    // let the sockets move between frames, so the pushback is real
    await new Promise((r) => setImmediate(r));
  }
  assert.strictEqual(hub.counters().playersDroppedBehind, 1, 'the stuck player was closed');
  assert.ok(maxQueued <= st.queueMaxBytes, `its queue reached ${maxQueued} bytes, over ${st.queueMaxBytes}`);
  // a paused socket does not see its end: read again, and find the connection closed by the server
  res.on('error', () => {});
  res.resume();
  await until(res.socket, ['close'], () => closed, 'the stuck client\'s connection was closed');
  assert.strictEqual(hub.counters().players, 0);
});
