'use strict';
// srs as an RTMP origin with HTTP-FLV, driven by real clients: ffmpeg publishes (over the digest
// handshake, with releaseStream/FCPublish/createStream/publish as OBS does), ffprobe, ffmpeg and
// rtmpdump play over RTMP, ffprobe over HTTP-FLV. Assertions are on what players received.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const m = require('./support');
const { rtmpPlayer } = require('../helpers/rtmp-load');

function rssMB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

const dir = h.tmpdir('srs-origin-');
let source;
let srv;

test.before(async () => {
  source = await m.makeSource(dir);
  const [rtmp, api, http] = await h.freePorts(3);
  const file = h.writeConfig(dir, {
    rtmp,
    api,
    http,
    // queue_length 10 s (SRS: 30): a stuck player is found out sooner
    extra: `vhost __defaultVhost__ { play { queue_length 10; } http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }`,
  });
  // writeConfig adds an empty default vhost after ours; a second block for the same vhost merges
  // in SRS, but keep the test's config unambiguous
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\nvhost __defaultVhost__ \{ \}\n/, '\n'));
  const proc = h.startSrs(['-c', file], { cwd: dir });
  await proc.waitForLine(/ready, pid/);
  srv = { rtmp, api, http, proc, url: (s) => `rtmp://127.0.0.1:${rtmp}/live/${s}`, flv: (s) => `http://127.0.0.1:${http}/live/${s}.flv` };
});

test.after(() => {
  srv?.proc.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function api(p, opts) {
  const r = await h.request(srv.api, p, opts);
  return { status: r.status, json: r.json ?? null };
}

async function streamNamed(name) {
  const r = await api('/api/v1/streams');
  return (r.json.streams ?? []).find((s) => s.name === name) ?? null;
}

/** Publish `name` with ffmpeg and wait until the API shows it live with both codecs known. */
async function live(t, name) {
  const pub = m.publish(source, srv.url(name));
  t.after(() => pub.kill());
  const s = await h.waitFor(
    () => `stream ${name} live in /api/v1/streams with video and audio (ffmpeg: ${pub.output.slice(-500)})`,
    async () => {
      const st = await streamNamed(name);
      return st?.publish?.active && st.video && st.audio ? st : null;
    },
    20000,
    100,
  );
  return { pub, stream: s };
}

test('ffmpeg publishes; ffprobe sees H.264 320x240 and AAC 44.1 kHz stereo over RTMP and over HTTP-FLV', async (t) => {
  await live(t, 'probe');
  for (const url of [srv.url('probe'), srv.flv('probe')]) {
    const streams = await m.probeStreams(url);
    const v = streams.find((s) => s.codec_type === 'video');
    const a = streams.find((s) => s.codec_type === 'audio');
    assert.ok(v && a, `${url}: a video and an audio stream (got ${JSON.stringify(streams)})`);
    assert.equal(v.codec_name, 'h264', url);
    assert.equal(v.width, m.WIDTH, url);
    assert.equal(v.height, m.HEIGHT, url);
    assert.equal(a.codec_name, 'aac', url);
    assert.equal(Number(a.sample_rate), 44100, url);
    assert.equal(a.channels, 2, url);
  }
  // ffmpeg publishes as OBS does (releaseStream, FCPublish, createStream, publish) over the digest
  // (FP9) handshake; its players do the same handshake
  const log = srv.proc.output;
  assert.match(log, /rtmp handshake done \(digest\)/, 'ffmpeg\'s digest handshake was answered as one');
  assert.match(log, /rtmp publish/, 'the publish was logged');
});

test('a late player starts at a keyframe, sequence headers first, and receives every frame of its window', async (t) => {
  await live(t, 'late');
  const seconds = 4;
  for (const [kind, url] of [['rtmp', srv.url('late')], ['http-flv', srv.flv('late')]]) {
    const out = path.join(dir, `late-${kind}.flv`);
    const rec = m.record(url, out, seconds);
    t.after(() => rec.kill());
    const e = await rec.waitExit(30000, `ffmpeg recording ${url}`);
    assert.equal(e.code, 0, `ffmpeg recorded ${url}: ${rec.output.slice(-800)}`);
    const pkts = await m.packets(out);
    const video = pkts.filter((p) => p.codec_type === 'video');
    const audio = pkts.filter((p) => p.codec_type === 'audio');
    assert.ok(video.length > 0, `${kind}: video packets`);
    assert.match(video[0].flags, /K/, `${kind}: the first video packet is a keyframe (flags ${video[0].flags})`);
    // the window: `seconds` of live frames, plus at most one GOP from the cache at the start
    const lo = m.FPS * seconds - 3;
    const hi = m.FPS * seconds + m.GOP + 3;
    assert.ok(video.length >= lo && video.length <= hi, `${kind}: ${video.length} video packets in ${seconds} s at ${m.FPS} fps (want ${lo}..${hi})`);
    // AAC at 44.1 kHz: 43 frames a second
    assert.ok(audio.length >= 43 * seconds - 10, `${kind}: ${audio.length} audio packets in ${seconds} s`);
    // no gap: consecutive video pts at most two frame intervals apart
    const pts = video.map((p) => Number(p.dts_time ?? p.pts_time));
    for (let i = 1; i < pts.length; i++) assert.ok(pts[i] - pts[i - 1] <= 2 / m.FPS + 0.001, `${kind}: a gap of ${(pts[i] - pts[i - 1]).toFixed(3)} s at packet ${i}`);
  }
});

test('rtmpdump plays the stream', { skip: !m.exists('rtmpdump') && 'rtmpdump is not installed (.ci/run installs it)' }, async (t) => {
  await live(t, 'dump');
  const out = path.join(dir, 'dump.flv');
  const r = await h.run('rtmpdump', ['-q', '--live', '-r', srv.url('dump'), '--stop', '3', '-o', out], { timeoutMs: 30000 });
  assert.ok(fs.existsSync(out) && fs.statSync(out).size > 0, `rtmpdump wrote nothing (exit ${r.code}): ${r.output.slice(-800)}`);
  const pkts = await m.packets(out);
  const video = pkts.filter((p) => p.codec_type === 'video');
  assert.ok(video.length >= m.FPS, `rtmpdump received ${video.length} video packets`);
  assert.match(video[0].flags, /K/, 'rtmpdump starts at a keyframe');
});

test('a second publisher to a live stream is refused; the first one and its players carry on', async (t) => {
  await live(t, 'busy');
  const player = await rtmpPlayer({ port: srv.rtmp, app: 'live', stream: 'busy' });
  t.after(() => player.socket.destroy());
  const second = m.publish(source, srv.url('busy'), { loop: false });
  t.after(() => second.kill());
  const e = await second.waitExit(20000, 'the second publisher');
  assert.notEqual(e.code, 0, `the second publisher must be refused: ${second.output.slice(-500)}`);
  const before = player.frames();
  await h.waitFor(`the player keeps receiving after the refusal (frames ${player.frames()})`, () => player.frames() > before + m.FPS, 10000);
  const s = await streamNamed('busy');
  assert.equal(s.publish.active, true);
});

test('a publisher leaves and returns: its players get UnpublishNotify, stay connected and resume, their timestamps carrying on (time_jitter full)', async (t) => {
  const P = require('./players');
  const first = await live(t, 'again');
  const players = await Promise.all(Array.from({ length: 3 }, () => P.rtmp(srv.rtmp, 'live', 'again')));
  t.after(() => players.forEach((p) => p.socket.destroy()));
  await h.waitFor('every player receives frames', () => players.every((p) => p.frames() > m.FPS), 15000);
  first.pub.kill('SIGKILL');
  await h.waitFor(() => `UnpublishNotify at every player (got ${JSON.stringify(players.map((p) => p.statuses))})`, () => players.every((p) => p.statuses.includes('NetStream.Play.UnpublishNotify')), 10000);
  assert.ok(players.every((p) => !p.socket.destroyed), 'players stay connected after the publisher left');
  const at = players.map((p) => p.frames());
  const pub = m.publish(source, srv.url('again'));
  t.after(() => pub.kill());
  await h.waitFor(() => `every player resumes (frames ${players.map((p) => p.frames())} from ${at})`, () => players.every((p, i) => p.frames() > at[i] + m.FPS), 20000);
  // the new publisher starts again at 0; its players see no step back and no jump (the first
  // video message is the sequence header, stamped when the stream began)
  for (const [i, p] of players.entries()) {
    const gap = P.largestGap(p.timestamps().slice(1));
    assert.ok(gap.gap <= 250, `player ${i}: the republish shows in its video timestamps: ${JSON.stringify(gap)}`);
  }
});

test('API: /api/v1/streams in SRS shape, /api/v1/clients with types, DELETE kicks a client', async (t) => {
  const { stream } = await live(t, 'api');
  assert.equal(stream.app, 'live');
  assert.equal(stream.vhost !== undefined, true);
  assert.equal(stream.video.codec, 'H264');
  assert.equal(stream.video.width, m.WIDTH);
  assert.equal(stream.video.height, m.HEIGHT);
  assert.equal(stream.audio.codec, 'AAC');
  assert.equal(stream.audio.sample_rate, 44100);
  assert.equal(stream.audio.channel, 2);
  for (const k of ['id', 'name', 'vhost', 'app', 'tcUrl', 'live_ms', 'clients', 'frames', 'send_bytes', 'recv_bytes', 'kbps', 'publish']) assert.ok(k in stream, `stream has ${k}`);
  const one = await api(`/api/v1/streams/${stream.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.json.stream.name, 'api');
  const player = await rtmpPlayer({ port: srv.rtmp, app: 'live', stream: 'api' });
  t.after(() => player.socket.destroy());
  await h.waitFor('the player receives frames', () => player.frames() > 0, 10000);
  const clients = await h.waitFor('clients lists a publisher and an RTMP player on live/api', async () => {
    const r = await api('/api/v1/clients');
    const cs = (r.json.clients ?? []).filter((c) => c.stream === stream.id);
    return cs.some((c) => c.publish) && cs.some((c) => !c.publish && c.type === 'rtmp-play') ? cs : null;
  });
  const viewer = clients.find((c) => !c.publish);
  const kicked = await api(`/api/v1/clients/${viewer.id}`, { method: 'DELETE' });
  assert.equal(kicked.status, 200);
  await Promise.race([player.closed, h.waitFor('the kicked player closed', () => player.socket.destroyed, 5000)]);
  const missing = await api('/api/v1/streams/999999');
  assert.equal(missing.status, 404);
});

test('one player that reads nothing while 10 others play: it is closed and counted, the others get every frame', async (t) => {
  const { rtmpPublisher } = require('../helpers/rtmp-load');
  // 8 Mbit/s so that the stuck player's kernel buffers fill in seconds
  const pub = await rtmpPublisher({ port: srv.rtmp, app: 'live', stream: 'stuck', kbps: 8000 });
  t.after(() => pub.stop());
  const stuck = await rtmpPlayer({ port: srv.rtmp, app: 'live', stream: 'stuck', stuck: true });
  t.after(() => stuck.socket.destroy());
  const good = await Promise.all(Array.from({ length: 10 }, () => rtmpPlayer({ port: srv.rtmp, app: 'live', stream: 'stuck' })));
  t.after(() => good.forEach((p) => p.socket.destroy()));
  await h.waitFor('the 10 players receive frames', () => good.every((p) => p.frames() > 0), 10000);
  const from = good.map((p) => p.frames());
  const sentFrom = pub.frames();
  const rss0 = rssMB(srv.proc.pid);
  // the stuck client reads nothing, so it cannot see its own close: ask the server
  // its id: the connection whose remote port is the stuck socket's, playing
  const stuckId = await h.waitFor('the stuck player in /api/v1/clients', async () => {
    const r = (await api('/api/v1/clients')).json;
    const conn = r.data.clients.find((c) => c.remote.endsWith(`:${stuck.socket.localPort}`));
    return conn && r.clients.some((c) => c.id === conn.id && c.type === 'rtmp-play') ? conn.id : null;
  });
  let peak = rss0;
  await h.waitFor(
    'the server to close the stuck player and count it in /metrics',
    async () => {
      peak = Math.max(peak, rssMB(srv.proc.pid));
      const m = await h.request(srv.api, '/metrics');
      return /srs_players_dropped_total [1-9]/.test(m.text);
    },
    90000,
    250,
  );
  const left = (await api('/api/v1/clients')).json.clients.map((c) => c.id);
  assert.ok(!left.includes(stuckId), 'the stuck player is gone from /api/v1/clients');
  // the bound: one player's queue (8 MiB) plus what the socket holds, not the whole stream
  assert.ok(peak - rss0 < 64, `the server's memory stayed bounded: ${rss0.toFixed(1)} -> ${peak.toFixed(1)} MB`);
  // every frame published meanwhile reaches every other player (the last ones may still be held
  // by the merged write, mw_latency 350 ms: wait for them)
  const sent = pub.frames() - sentFrom;
  await h.waitFor(
    () => `every other player to receive the ${sent} frames published meanwhile; they got ${good.map((p, i) => p.frames() - from[i]).join(', ')}`,
    () => good.every((p, i) => p.frames() - from[i] >= sent),
    5000,
  );
});

test('garbage after the handshake closes that connection only; the server keeps serving', async (t) => {
  const net = require('node:net');
  const fc = require('fast-check');
  await live(t, 'fuzz');
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (bytes) => {
      const sock = net.connect({ port: srv.rtmp, host: '127.0.0.1' });
      sock.on('error', () => {});
      // read (and drop) what the server says, so its close reaches us
      sock.resume();
      await new Promise((r) => sock.once('connect', r));
      sock.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536), Buffer.alloc(1536), Buffer.from(bytes)]));
      sock.end();
      await new Promise((r) => sock.once('close', r));
    }),
    { numRuns: 100 },
  );
  const streams = await m.probeStreams(srv.url('fuzz'));
  assert.ok(streams.some((s) => s.codec_type === 'video'), 'a player still gets the stream after 100 garbage connections');
});

test('an HTTP-FLV player that leaves (FIN) while its stream has no publisher is gone at once: no slot, no client row', async () => {
  const net = require('node:net');
  const inClients = async () => (await api('/api/v1/clients')).json.clients.filter((c) => c.type === 'flv-play' && c.url === '/live/nobody').length;
  const s = net.connect({ port: srv.http, host: '127.0.0.1' });
  let closed = false;
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  let head = '';
  await new Promise((resolve, reject) => {
    s.on('connect', () => s.write('GET /live/nobody.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    const timer = setTimeout(() => reject(new Error(`no response head within 10 s: ${JSON.stringify(head)}`)), 10_000);
    s.on('data', (d) => {
      head += d;
      if (head.includes('\r\n\r\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.match(head, /^HTTP\/1\.1 200 /);
  await h.waitFor('the waiting FLV player in /api/v1/clients', async () => (await inClients()) === 1, 10000, 50);
  s.end(); // the player leaves: FIN, and it reads on
  await h.waitFor('the server to close the connection of the HTTP-FLV player that sent its FIN', () => closed, 10000, 20);
  await h.waitFor('the player gone from /api/v1/clients', async () => (await inClients()) === 0, 10000, 50);
});
