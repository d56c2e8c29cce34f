'use strict';
// The server-side RTMP session in-process: real sockets on 127.0.0.1, the real stream hub, and a
// client built on the same layers (src/media/rtmp/client.ts).
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { RtmpSession } = require('../../../dist/media/rtmp/session');
const { RtmpClient } = require('../../../dist/media/rtmp/client');
const { StreamHub, DEFAULT_MEDIA_SETTINGS } = require('../../../dist/media/hub');
const { encodeAmf0, EcmaArray } = require('../../../dist/media/rtmp/amf0');
const { ServerHandshake, ClientHandshake } = require('../../../dist/media/rtmp/handshake');
const { userControl } = require('../../../dist/media/rtmp/control');

// an H.264 sequence header (AVCDecoderConfigurationRecord, High@3.1), a keyframe and an inter frame
const AVC_SH = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80]);
const KEY = Buffer.concat([Buffer.from([0x17, 1, 0, 0, 0, 0, 0, 0, 5, 0x65]), Buffer.alloc(70000, 0x88)]); // spans chunks
const INTER = Buffer.from([0x27, 1, 0, 0, 0, 0, 0, 0, 3, 0x41, 0x9a, 0x01]);
const AAC_SH = Buffer.from([0xaf, 0, 0x12, 0x10]);
const AAC = Buffer.from([0xaf, 1, 0x21, 0x22, 0x23]);
const META = encodeAmf0(['@setDataFrame', 'onMetaData', new EcmaArray({ width: 320, height: 240 })]);

function defaults(over = {}) {
  return { media: DEFAULT_MEDIA_SETTINGS, chunkSize: 60000, allow: () => true, firstPacketTimeoutMs: 20000, normalTimeoutMs: 5000, ...over };
}

/** A server on port 0 that runs an RtmpSession per connection. */
async function startServer(t, opts = {}) {
  const hub = new StreamHub();
  const lines = [];
  const log = {
    info: (o, m) => lines.push({ level: 'info', ...o, msg: m }),
    warn: (o, m) => lines.push({ level: 'warn', ...o, msg: m }),
    error: (o, m) => lines.push({ level: 'error', ...o, msg: m }),
  };
  const sessions = [];
  let n = 0;
  const settings = defaults(opts.settings);
  const server = net.createServer((socket) => {
    const s = new RtmpSession(socket, {
      hub,
      resolver: { vhostNames: () => ['__defaultVhost__'], settings: () => settings },
      log,
      cid: `c${++n}`,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      identifyTimeoutMs: opts.identifyTimeoutMs,
      onClose: (sess, reason) => sessions.find((x) => x.s === sess).closed.resolve(reason),
    });
    const closed = {};
    closed.p = new Promise((r) => (closed.resolve = r));
    sessions.push({ s, closed });
    s.start();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const clients = [];
  t.after(() => {
    for (const c of clients) c.close();
    for (const { s } of sessions) s.drain('test over');
    server.close();
  });
  const connect = async (app = 'live') => {
    const { client } = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/${app}`);
    clients.push(client);
    return client;
  };
  return { hub, lines, sessions, port, connect };
}

/** Resolve when `pred(value)` holds for an event, or fail after `ms` saying what did not happen. */
function waitEvent(emitter, event, pred, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const on = (v) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(v);
    };
    emitter.on(event, on);
  });
}

function within(p, ms, what) {
  let timer;
  return Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

const media = (type, timestamp, payload) => ({ type, timestamp, streamId: 1, payload });

function collect(client, count, what) {
  const got = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}: got ${got.length} of ${count} messages`)), 10000);
    client.on('message', (m) => {
      got.push(m);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

test('OBS-style publish (releaseStream, FCPublish, createStream, publish) over the digest handshake; a player gets metadata, sequence headers, GOP and live frames', async (t) => {
  const srv = await startServer(t);
  const pub = await srv.connect();
  const fcPublish = waitEvent(pub, 'command', (c) => c.name === 'onFCPublish', 5000, 'onFCPublish');
  await pub.publish('livestream');
  assert.strictEqual(pub.socket.remotePort, srv.port);
  await fcPublish;
  pub.send(media(18, 0, META));
  pub.send(media(9, 0, AVC_SH));
  pub.send(media(8, 0, AAC_SH));
  pub.send(media(9, 0, KEY));
  pub.send(media(8, 20, AAC));
  pub.send(media(9, 40, INTER));
  const player = await srv.connect();
  const got = collect(player, 7, '|RtmpSampleAccess, metadata, 2 sequence headers, the GOP');
  await player.play('livestream');
  const [access, ...msgs] = await got;
  assert.deepStrictEqual(require('../../../dist/media/rtmp/amf0').decodeAmf0(access.payload), ['|RtmpSampleAccess', true, true]);
  assert.deepStrictEqual(msgs.map((m) => m.type), [18, 9, 8, 9, 8, 9]);
  assert.deepStrictEqual(require('../../../dist/media/rtmp/amf0').decodeAmf0(msgs[0].payload)[0], 'onMetaData');
  assert.ok(msgs[1].payload.equals(AVC_SH));
  assert.ok(msgs[3].payload.equals(KEY), 'a 70000-byte keyframe arrives whole over 60000-byte chunks');
  const live = waitEvent(player, 'message', (m) => m.timestamp === 80, 5000, 'one live frame after the GOP');
  pub.send(media(9, 80, INTER));
  assert.ok((await live).payload.equals(INTER));
  const snap = srv.sessions.map(({ s }) => s.snapshot());
  assert.deepStrictEqual(snap.map((x) => [x.cid, x.kind, x.stream]), [['c1', 'publisher', '__defaultVhost__/live/livestream'], ['c2', 'rtmp-player', '__defaultVhost__/live/livestream']]);
  assert.ok(snap[0].bytesIn > KEY.length && snap[1].bytesOut > KEY.length);
});

test('a second publisher to a live stream gets NetStream.Publish.BadName and is closed; the first carries on', async (t) => {
  const srv = await startServer(t);
  const a = await srv.connect();
  await a.publish('busy');
  const b = await srv.connect();
  await assert.rejects(b.publish('busy'), /NetStream.Publish.BadName/);
  await within(srv.sessions[1].closed.p, 5000, 'the second publisher to be closed');
  assert.ok(!srv.sessions[0].s.closed);
  assert.ok(srv.lines.some((l) => l.cid === 'c2' && /stream is busy/.test(l.msg)));
});

test('publisher leaves: the player gets UnpublishNotify and stays; a new publisher brings PublishNotify and frames', async (t) => {
  const srv = await startServer(t);
  const player = await srv.connect();
  await player.play('s');
  const pub = await srv.connect();
  await pub.publish('s');
  pub.send(media(9, 0, AVC_SH));
  pub.send(media(9, 0, KEY));
  await waitEvent(player, 'message', (m) => m.payload.equals(KEY), 5000, 'the keyframe at the player');
  const notify = waitEvent(player, 'status', (s) => s.code === 'NetStream.Play.UnpublishNotify', 5000, 'UnpublishNotify');
  pub.close();
  await notify;
  assert.ok(!player.closed);
  const again = waitEvent(player, 'status', (s) => s.code === 'NetStream.Play.PublishNotify', 5000, 'PublishNotify');
  const pub2 = await srv.connect();
  await pub2.publish('s');
  await again;
  pub2.send(media(9, 1000, AVC_SH));
  pub2.send(media(9, 1000, KEY));
  await waitEvent(player, 'message', (m) => m.payload.equals(KEY), 5000, 'the new publisher\'s keyframe at the player');
});

test('FCUnpublish answers onFCUnpublish, _result and Unpublish.Success; the connection stays and may publish again', async (t) => {
  const srv = await startServer(t);
  const pub = await srv.connect();
  const sid = await pub.publish('again');
  const success = waitEvent(pub, 'status', (s) => s.code === 'NetStream.Unpublish.Success', 5000, 'Unpublish.Success');
  const res = await pub.call('FCUnpublish', null, ['again'], 9, sid);
  assert.strictEqual(res.name, '_result');
  await success;
  const started = pub.waitStatus(['NetStream.Publish.Start']);
  pub.send(require('../../../dist/media/rtmp/command').command('publish', 10, null, ['again', 'live'], sid));
  await started;
});

test('malformed input closes only that connection, with one log line naming cid, remote and reason', async (t) => {
  const srv = await startServer(t);
  const good = await srv.connect();
  await good.publish('ok');
  const raw = net.connect(srv.port, '127.0.0.1');
  const hs = new ClientHandshake();
  raw.write(hs.start());
  let done = false;
  const ended = new Promise((r) => raw.on('close', r));
  raw.on('data', (b) => {
    if (done) return;
    const step = hs.feed(b);
    if (step.done) {
      done = true;
      raw.write(step.reply);
      raw.write(Buffer.from([0xc9, 1, 2, 3])); // a format-3 chunk on a chunk stream never started
    }
  });
  raw.on('error', () => {});
  await within(ended, 5000, 'the malformed connection to close');
  // the handshake's own line aside, the malformed input is one line
  const lines = srv.lines.filter((l) => l.cid === 'c2' && !/handshake done/.test(l.msg));
  assert.strictEqual(lines.length, 1, JSON.stringify(lines));
  assert.strictEqual(lines[0].level, 'warn');
  assert.match(lines[0].reason, /chunk stream 9 starts with a format-3 header/);
  assert.match(lines[0].remote, /^127\.0\.0\.1:\d+$/);
  assert.ok(!good.closed && !srv.sessions[0].s.closed);
  good.send(media(9, 0, AVC_SH));
});

test('thousands of chunk stream ids, and an AMF garbage command, each close only their connection', async (t) => {
  const srv = await startServer(t);
  const { frameMessage } = require('../../../dist/media/message');
  for (const [what, bytes] of [
    ['chunk streams', Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from([0x01, i & 0xff, i >> 8, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0x55])))],
    ['amf', Buffer.concat(frameMessage({ type: 20, timestamp: 0, streamId: 0, payload: Buffer.from([0x02, 0, 7, 0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x03, 0, 1]) }, 3, 128))],
  ]) {
    const raw = net.connect(srv.port, '127.0.0.1');
    raw.on('error', () => {});
    const hs = new ClientHandshake();
    raw.write(hs.start());
    let done = false;
    raw.on('data', (b) => {
      if (done) return;
      const step = hs.feed(b);
      if (step.done) {
        done = true;
        raw.write(Buffer.concat([step.reply, bytes]));
      }
    });
    await within(new Promise((r) => raw.on('close', r)), 5000, `the ${what} connection to close`);
  }
  const warns = srv.lines.filter((l) => l.level === 'warn');
  assert.deepStrictEqual(warns.map((l) => l.cid), ['c1', 'c2']);
  assert.match(warns[0].reason, /more than 64 chunk streams/);
  assert.strictEqual(warns[1].layer, 'amf0');
});

test('publish firstpkt_timeout closes a publisher that sends nothing; normal_timeout one that stops', async (t) => {
  const srv = await startServer(t, { settings: { firstPacketTimeoutMs: 150, normalTimeoutMs: 150 } });
  const a = await srv.connect();
  await a.publish('quiet');
  const reason = await within(srv.sessions[0].closed.p, 5000, 'the first-packet timeout');
  assert.strictEqual(reason, 'publish first packet timeout');
  const b = await srv.connect();
  await b.publish('stops');
  b.send(media(9, 0, AVC_SH));
  const reason2 = await within(srv.sessions[1].closed.p, 5000, 'the normal timeout');
  assert.strictEqual(reason2, 'publish normal timeout');
});

test('drain: a player is told UnpublishNotify and closed; a publisher is closed; the stream is free again', async (t) => {
  const srv = await startServer(t);
  const pub = await srv.connect();
  await pub.publish('d');
  const player = await srv.connect();
  await player.play('d');
  const notify = waitEvent(player, 'status', (s) => s.code === 'NetStream.Play.UnpublishNotify', 5000, 'UnpublishNotify on drain');
  const playerClosed = waitEvent(player, 'close', () => true, 5000, 'the player to be closed');
  srv.sessions[1].s.drain('quit');
  await notify;
  await playerClosed;
  srv.sessions[0].s.drain('quit');
  await within(srv.sessions[0].closed.p, 5000, 'the publisher to be closed');
  const pub2 = await srv.connect();
  await pub2.publish('d');
});

test('ping request is answered; pause sends Pause.Notify and unpause Unpause.Notify; getStreamLength gets a _result', async (t) => {
  const srv = await startServer(t);
  const player = await srv.connect();
  const sid = await player.play('p');
  const pong = waitEvent(player, 'control', (c) => c && c.kind === 'userControl' && c.event === 7 && c.timestamp === 4242, 5000, 'PingResponse');
  player.send(userControl(6, 4242));
  await pong;
  const paused = player.waitStatus(['NetStream.Pause.Notify']);
  player.send(require('../../../dist/media/rtmp/command').command('pause', 0, null, [true, 0], sid));
  await paused;
  const resumed = player.waitStatus(['NetStream.Unpause.Notify']);
  player.send(require('../../../dist/media/rtmp/command').command('pause', 0, null, [false, 0], sid));
  await resumed;
  const len = await player.call('getStreamLength', null, ['p']);
  assert.strictEqual(len.name, '_result');
});

test('a handshake that never completes is closed at the handshake timeout', async (t) => {
  const srv = await startServer(t, { handshakeTimeoutMs: 150 });
  const raw = net.connect(srv.port, '127.0.0.1');
  raw.on('error', () => {});
  raw.write(Buffer.from([3, 0, 0]));
  await within(new Promise((r) => raw.on('close', r)), 5000, 'the stalled handshake to be closed');
  assert.ok(srv.lines.some((l) => l.cid === 'c1' && /handshake timeout/.test(l.msg)));
  assert.ok(ServerHandshake);
});

test('connect: Window Ack Size 2500000, Set Peer Bandwidth, and the vhost\'s chunk size (clamped to 128..65536) come first', async (t) => {
  for (const [configured, want] of [[4096, 4096], [100, 128], [1 << 20, 65536]]) {
    const srv = await startServer(t, { settings: { chunkSize: configured } });
    const { RtmpClient: C } = require('../../../dist/media/rtmp/client');
    const controls = [];
    const origEmit = C.prototype.emit;
    const c = await new Promise((resolve, reject) => {
      C.prototype.emit = function (ev, v) {
        if (ev === 'control') controls.push(v);
        return origEmit.apply(this, arguments);
      };
      C.connect(`rtmp://127.0.0.1:${srv.port}/live`).then(({ client }) => resolve(client), reject);
    }).finally(() => (C.prototype.emit = origEmit));
    c.close();
    assert.deepStrictEqual(controls.slice(0, 3), [
      { kind: 'windowAckSize', size: 2500000 },
      { kind: 'setPeerBandwidth', size: 2500000, limit: 2 },
      { kind: 'setChunkSize', size: want },
    ]);
  }
});

test('security deny closes with one log line; an unknown vhost without __defaultVhost__ is rejected at connect', async (t) => {
  const srv = await startServer(t, { settings: { allow: (action) => action !== 'publish' } });
  const c = await srv.connect();
  await assert.rejects(c.publish('x'), /closed/);
  const lines = srv.lines.filter((l) => l.cid === 'c1' && l.level === 'warn');
  assert.deepStrictEqual(lines.map((l) => l.msg), ['rtmp publish denied by security, close']);
  const p = await srv.connect();
  await p.play('x');

  const hub = new StreamHub();
  const server = net.createServer((socket) => new RtmpSession(socket, { hub, cid: 'r1', log: { info() {}, warn() {}, error() {} }, resolver: { vhostNames: () => [], settings: () => null } }).start());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  await assert.rejects(RtmpClient.connect(`rtmp://127.0.0.1:${server.address().port}/live`), /connect answered _error/);
});

test('AMF3 command messages (type 17) are answered; Acknowledgement is sent after the client\'s window', async (t) => {
  const srv = await startServer(t);
  const c = await srv.connect();
  const { encodeAmf0 } = require('../../../dist/media/rtmp/amf0');
  const answer = waitEvent(c, 'command', (x) => x.transactionId === 77, 5000, '_result of an AMF3 createStream');
  c.send({ type: 17, timestamp: 0, streamId: 0, payload: Buffer.concat([Buffer.from([0]), encodeAmf0(['createStream', 77, null])]) });
  const res = await answer;
  assert.deepStrictEqual([res.name, res.args[0]], ['_result', 1]);
  await c.publish('ack');
  c.setWindowAckSize(50000);
  const ack = waitEvent(c, 'control', (x) => x && x.kind === 'acknowledgement', 5000, 'an Acknowledgement');
  c.send(media(9, 0, AVC_SH));
  c.send(media(9, 0, KEY));
  const a = await ack;
  assert.ok(a.sequence >= 50000, `sequence ${a.sequence}`);
});

test('aggregate messages are split into their audio and video messages', async (t) => {
  // the publisher's timestamps as they are (time_jitter off), to see the aggregate's own
  const srv = await startServer(t, { settings: { media: { ...DEFAULT_MEDIA_SETTINGS, timeJitter: 'off' } } });
  const pub = await srv.connect();
  await pub.publish('agg');
  const player = await srv.connect();
  await player.play('agg');
  const tag = (type, ts, payload) => {
    const h = Buffer.alloc(11);
    h[0] = type;
    h.writeUIntBE(payload.length, 1, 3);
    h.writeUIntBE(ts & 0xffffff, 4, 3);
    h[7] = ts >>> 24;
    const back = Buffer.alloc(4);
    back.writeUInt32BE(11 + payload.length);
    return Buffer.concat([h, payload, back]);
  };
  const got = [];
  const three = new Promise((resolve) => player.on('message', (m) => m.type !== 18 && got.push(m) === 3 && resolve()));
  pub.send({ type: 22, timestamp: 1000, streamId: 1, payload: Buffer.concat([tag(9, 500, AVC_SH), tag(9, 500, KEY), tag(8, 520, AAC_SH)]) });
  await within(three, 5000, 'three messages out of one aggregate');
  assert.deepStrictEqual(got.map((m) => [m.type, m.timestamp]), [[9, 1000], [9, 1000], [8, 1020]]);
});

test('a player that reads nothing is closed when it falls behind; the publisher and a reading player carry on', async (t) => {
  const srv = await startServer(t, { settings: { media: { ...DEFAULT_MEDIA_SETTINGS, queueLengthMs: 500, queueMaxBytes: 1 << 20 } } });
  const pub = await srv.connect();
  await pub.publish('slow');
  const stuck = await srv.connect();
  await stuck.play('slow');
  stuck.socket.pause();
  const good = await srv.connect();
  await good.play('slow');
  const frame = Buffer.concat([Buffer.from([0x27, 1, 0, 0, 0]), Buffer.alloc(64 * 1024, 0x33)]);
  pub.send(media(9, 0, AVC_SH));
  pub.send(media(9, 0, KEY));
  let ts = 0;
  const stuckSession = srv.sessions[1];
  const behind = within(stuckSession.closed.p, 30000, 'the stuck player to be closed');
  let stop = false;
  behind.finally(() => (stop = true)).catch(() => {});
  // 25 frames a second of 64 KiB with a keyframe every second, until the hub gives up on the stuck player
  while (!stop) {
    ts += 40;
    pub.send(media(9, ts, ts % 1000 === 0 ? KEY : frame));
    await new Promise((r) => setTimeout(r, 10));
  }
  const reason = await behind;
  assert.strictEqual(reason, 'fell behind');
  assert.ok(!srv.sessions[0].s.closed && !srv.sessions[2].s.closed);
  const live = waitEvent(good, 'message', (m) => m.timestamp === ts + 40, 5000, 'the reading player to get the next frame');
  pub.send(media(9, ts + 40, frame));
  await live;
});

test('drain of a publisher in mid-message waits for that message, then closes it', async (t) => {
  const srv = await startServer(t);
  const pub = await srv.connect();
  await pub.publish('mid');
  const player = await srv.connect();
  await player.play('mid');
  pub.send(media(9, 0, AVC_SH));
  const session = srv.sessions[0].s;
  const { frameMessage } = require('../../../dist/media/message');
  const wire = Buffer.concat(frameMessage(media(9, 0, KEY), 6, 60000));
  const before = session.snapshot().bytesIn;
  pub.socket.write(wire.subarray(0, 1000));
  const deadline = Date.now() + 5000;
  while (session.snapshot().bytesIn < before + 1000) {
    if (Date.now() > deadline) throw new Error('the server did not read the first 1000 bytes within 5 s');
    await new Promise((r) => setImmediate(r));
  }
  session.drain('quit');
  assert.ok(!session.closed, 'still open in mid-message');
  const key = waitEvent(player, 'message', (m) => m.payload.equals(KEY), 5000, 'the finished keyframe at the player');
  pub.socket.write(wire.subarray(1000));
  assert.strictEqual(await within(srv.sessions[0].closed.p, 5000, 'the publisher to close after its message'), 'quit');
  await key;
});

test('hub.drainAll: players get UnpublishNotify before their socket ends; publishers are closed', async (t) => {
  const srv = await startServer(t);
  const pub = await srv.connect();
  await pub.publish('all');
  const player = await srv.connect();
  await player.play('all');
  const notify = waitEvent(player, 'status', (s) => s.code === 'NetStream.Play.UnpublishNotify', 5000, 'UnpublishNotify from hub.drainAll');
  const closed = waitEvent(player, 'close', () => true, 5000, 'the player to be closed');
  srv.hub.drainAll('quit');
  await notify;
  await closed;
  assert.strictEqual(await within(srv.sessions[0].closed.p, 5000, 'the publisher to be closed'), 'quit');
});

test('a connection that neither publishes nor plays is closed at the identify timeout, also after it unpublished', async (t) => {
  const srv = await startServer(t, { identifyTimeoutMs: 200 });
  const idle = await srv.connect();
  assert.strictEqual(await within(srv.sessions[0].closed.p, 5000, 'the idle connection to close'), 'no publish or play in time');
  assert.ok(idle);
  const pub = await srv.connect();
  const sid = await pub.publish('x');
  pub.send(require('../../../dist/media/rtmp/command').command('deleteStream', 0, null, [sid]));
  assert.strictEqual(await within(srv.sessions[1].closed.p, 5000, 'the unpublished connection to close'), 'no publish or play in time');
});
