'use strict';
// The console's pure logic: what the page says (dist/console/model.js), the server's log tail
// (console-context.ts LogTail) and the event stream's snapshot and closing rule (server/console.ts).
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const fc = require('fast-check');
const m = require('../../dist/console/model.js');
const { LogTail } = require('../../dist/server/console-context.js');
const sc = require('../../dist/server/console.js');
const { ConnectionRegistry } = require('../../dist/server/registry.js');

const grace = (over) => ({ phase: 'idle', detailed: true, since: null, quitAt: null, startWaitMs: 0, finalWaitMs: 0, maxWaitMs: 0, reason: null, open: 0, ...over });

test('formatBytes and formatDuration', () => {
  assert.equal(m.formatBytes(0), '0 B');
  assert.equal(m.formatBytes(1023), '1023 B');
  assert.equal(m.formatBytes(1536), '1.5 KiB');
  assert.equal(m.formatBytes(3 * 1024 * 1024), '3.0 MiB');
  assert.equal(m.formatBytes(-1), '—');
  assert.equal(m.formatDuration(400), '0.4s');
  assert.equal(m.formatDuration(7000), '7s');
  assert.equal(m.formatDuration(65_000), '1m 5s');
  assert.equal(m.formatDuration(3 * 3600_000 + 4 * 60_000), '3h 4m');
  assert.equal(m.formatDuration(26 * 3600_000), '1d 2h');
  assert.equal(m.formatDuration(-5), '0s');
});

test('the probe decides: 401 unauthorized, 404 API off, 2xx connect, else lost', () => {
  assert.equal(m.stateFromProbe(401), 'unauthorized');
  assert.equal(m.stateFromProbe(404), 'api-off');
  assert.equal(m.stateFromProbe(200), 'connecting');
  assert.equal(m.stateFromProbe(0), 'lost');
  assert.equal(m.stateFromProbe(503), 'lost');
  assert.match(m.linkText('api-off', null), /HTTP API is off/);
  assert.match(m.linkText('quitting', grace({ phase: 'draining' })), /^server quitting: draining/);
  assert.match(m.linkText('gone', null), /^gone/);
});

test('countdowns: start_wait closes listeners, grace_max_wait cuts from the quit start, final_wait exits', () => {
  assert.deepEqual(m.countdowns(grace({ phase: 'idle' }), 0), []);
  assert.deepEqual(m.countdowns(grace({ phase: 'start_wait', since: 1000, quitAt: 1000, startWaitMs: 3000 }), 1500), [{ what: 'listeners close in', leftMs: 2500 }]);
  assert.deepEqual(m.countdowns(grace({ phase: 'draining', since: 4000, quitAt: 1000, startWaitMs: 3000, maxWaitMs: 10_000 }), 5000), [
    { what: 'connections are cut (grace_max_wait) in', leftMs: 9000 },
  ]);
  assert.deepEqual(m.countdowns(grace({ phase: 'draining', since: 4000, quitAt: 1000, startWaitMs: 3000, maxWaitMs: 0 }), 5000), [], 'grace_max_wait 0: no bound');
  assert.deepEqual(m.countdowns(grace({ phase: 'final_wait', since: 9000, finalWaitMs: 1000 }), 9400), [{ what: 'exit in', leftMs: 600 }]);
  assert.deepEqual(m.countdowns(grace({ phase: 'final_wait', since: 9000, finalWaitMs: 1000 }), 99_000), [{ what: 'exit in', leftMs: 0 }], 'never negative');
  assert.deepEqual(m.countdowns(grace({ phase: 'quitting', detailed: false }), 0), [], 'no detail, no countdown');
});

test('errorLocation finds file:line:col in SrsError messages', () => {
  assert.equal(m.errorLocation('/tmp/x/srs.conf:7:3: vhost.gop_cache (vhost "a"): "maybe" is not on or off'), '/tmp/x/srs.conf:7:3');
  assert.equal(m.errorLocation('conf/srs.conf:12: unknown directive'), 'conf/srs.conf:12');
  assert.equal(m.errorLocation('quitting: reload ignored'), null);
  assert.equal(m.errorLocation(null), null);
});

test('appendLog keeps each line once and the last 200; filterLog by level', () => {
  const line = (seq, level = 'Trace') => ({ seq, time: seq, level, cid: '', msg: `m${seq}` });
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 40 }), (sizes) => {
      let tail = [];
      let seq = 0;
      for (const n of sizes) {
        // each event repeats a few lines already sent (the server's window overlaps), then new ones
        const batch = [];
        for (let i = Math.max(1, seq - 3); i <= seq; i++) batch.push(line(i));
        for (let i = 0; i < n; i++) batch.push(line(++seq));
        tail = m.appendLog(tail, batch);
      }
      assert.ok(tail.length <= 200);
      assert.equal(tail.length, Math.min(200, seq));
      tail.forEach((l, i) => assert.equal(l.seq, seq - tail.length + 1 + i));
    }),
  );
  const mixed = [line(1, 'Verbose'), line(2, 'Trace'), line(3, 'Warn'), line(4, 'Error'), line(5, 'Fatal')];
  assert.deepEqual(m.filterLog(mixed, 'Warn').map((l) => l.seq), [3, 4, 5]);
  assert.deepEqual(m.filterLog(mixed, 'Verbose').map((l) => l.seq), [1, 2, 3, 4, 5]);
});

test('clientRows: media clients (kickable) then the other connections, once each', () => {
  const snap = {
    at: 100_000,
    streams: [{ id: 's1', url: '/live/test', app: 'live', name: 'test' }],
    clients: [{ id: 'c1', type: 'fmle-publish', stream: 's1', ip: '127.0.0.1', alive: 10, send_bytes: 5, recv_bytes: 7, url: '/live/test' }],
    connectionList: [
      { id: 'c1', listener: 'rtmp', kind: 'media', remote: '127.0.0.1:5000', since: 90_000 },
      { id: 'h1', listener: 'http_api', kind: 'http', remote: '127.0.0.1:6000', since: 99_000 },
    ],
  };
  assert.deepEqual(m.clientRows(snap), [
    { id: 'c1', type: 'fmle-publish', stream: '/live/test', remote: '127.0.0.1', since: 90_000, bytes: 12, kickable: true },
    { id: 'h1', type: 'http (http_api)', stream: '—', remote: '127.0.0.1:6000', since: 99_000, bytes: null, kickable: false },
  ]);
  assert.equal(m.clientRows({ ...snap, clients: null, streams: null }).length, 2, 'without the media side: the connections');
});

test('flvUrl and codecsText', () => {
  assert.equal(m.flvUrl('http:', '127.0.0.1', 8080, '/live/test'), 'http://127.0.0.1:8080/live/test.flv');
  assert.equal(m.flvUrl('http:', '::1', 8080, '/live/test'), 'http://[::1]:8080/live/test.flv');
  assert.equal(m.flvUrl('http:', 'h', null, '/live/test'), null);
  assert.equal(m.flvUrl('http:', 'h', 8080, 'example.com/live/test'), 'http://h:8080/example.com/live/test.flv', 'off the default vhost');
  assert.equal(
    m.codecsText({ video: { codec: 'H264', profile: 'High', level: '3.1', width: 320, height: 240 }, audio: { codec: 'AAC', sample_rate: 44100, channel: 2, profile: 'LC' } }),
    'H264 High 320x240, AAC 44100Hz 2ch',
  );
  assert.equal(m.codecsText({ video: null, audio: null }), '—');
});

test('LogTail keeps the last lines in SRS level words, with increasing seq', () => {
  const tail = new LogTail(3, () => 42);
  for (let i = 1; i <= 5; i++) tail.write(JSON.stringify({ level: i === 5 ? 50 : 30, time: i, cid: 'abc', msg: `line ${i}` }));
  tail.write('not json\n');
  const lines = tail.lines(10);
  assert.deepEqual(lines.map((l) => l.seq), [4, 5, 6]);
  assert.deepEqual(lines.map((l) => l.level), ['Trace', 'Error', 'Trace']);
  assert.deepEqual(lines[1], { seq: 5, time: 5, level: 'Error', cid: 'abc', msg: 'line 5' });
  assert.deepEqual(lines[2], { seq: 6, time: 42, level: 'Trace', cid: '', msg: 'not json' });
  assert.deepEqual(tail.lines(1).map((l) => l.seq), [6]);
});

test('sseFrame: one event, data on one line', () => {
  assert.equal(sc.sseFrame('log', [{ msg: 'a\nb' }]), 'event: log\ndata: [{"msg":"a\\nb"}]\n\n');
});

test('shouldClose: never while serving or in start_wait; at once in final_wait; when draining with nothing else left', () => {
  assert.equal(sc.shouldClose(grace({ phase: 'idle', open: 0 })), false);
  assert.equal(sc.shouldClose(grace({ phase: 'start_wait', open: 0 })), false, 'listeners still accept: nothing is held');
  assert.equal(sc.shouldClose(grace({ phase: 'draining', open: 2 })), false, 'the operator watches the drain');
  assert.equal(sc.shouldClose(grace({ phase: 'draining', open: 0 })), true, 'the console must not hold the drain');
  assert.equal(sc.shouldClose(grace({ phase: 'final_wait', open: 0 })), true);
  assert.equal(sc.shouldClose(grace({ phase: 'quitting', detailed: false, open: 1 })), false);
  assert.equal(sc.shouldClose(grace({ phase: 'quitting', detailed: false, open: 0 })), true);
});

/** A socket the registry can admit: its close is ours to emit. */
function fakeSocket(port) {
  const s = new EventEmitter();
  s.remoteAddress = '127.0.0.1';
  s.remotePort = port;
  s.destroy = () => s.emit('close');
  return s;
}

function fakeContext(over = {}) {
  const registry = new ConnectionRegistry(10, () => 1000);
  return {
    version: '1.2.3',
    startedAt: 0,
    configFile: '/etc/srs.conf',
    cwd: '/',
    registry,
    metrics: null,
    daemonDecision: () => ({ daemon: false, reason: 'daemon off', container: '' }),
    lastReload: () => null,
    isReady: () => true,
    upgrade: () => ({ generation: 1, parentPid: null, inherited: [] }),
    rawApi: () => ({ enabled: true, allowReload: false }),
    auth: () => ({ enabled: true, username: 'a', password: 'b' }),
    log: () => null,
    reload: async () => null,
    ...over,
  };
}

test('buildSnapshot without the optional context: not-available markers, phase from readiness', () => {
  const ctx = fakeContext();
  const api = fakeSocket(1);
  const media = fakeSocket(2);
  ctx.registry.admit(api, 'http_api', 'http');
  ctx.registry.admit(media, 'rtmp', 'media');
  let snap = sc.buildSnapshot(ctx, new Set([api]));
  assert.equal(snap.streams, null);
  assert.equal(snap.clients, null);
  assert.equal(snap.config.generation, null);
  assert.equal(snap.config.auth, true);
  assert.equal(snap.logAvailable, false);
  assert.equal(snap.flvPort, null);
  assert.deepEqual(snap.listeners.map((l) => [l.role, l.endpoint, l.connections]), [['http_api', null, 1], ['rtmp', null, 1]]);
  assert.deepEqual(snap.grace, grace({ phase: 'idle', detailed: false, startWaitMs: null, finalWaitMs: null, maxWaitMs: null, open: 1 }), 'the console\u2019s own stream is not counted');
  ctx.isReady = () => false;
  snap = sc.buildSnapshot(ctx, new Set([api]));
  assert.equal(snap.grace.phase, 'quitting');
  media.destroy();
  assert.equal(sc.shouldClose(sc.buildSnapshot(ctx, new Set([api])).grace), true);
});

test('buildSnapshot with the controller\u2019s fields: grace, generation, listeners, media, FLV port', () => {
  const ctx = fakeContext({
    grace: () => ({ phase: 'draining', since: 5, quitAt: 2, startWaitMs: 3, finalWaitMs: 4, maxWaitMs: 0, reason: 'SIGQUIT' }),
    configGeneration: () => 3,
    listenersBound: () => [
      { role: 'rtmp', endpoint: '0.0.0.0:1935', inherited: true },
      { role: 'http_server', endpoint: '0.0.0.0:8080', inherited: false },
    ],
    mediaView: () => ({ streams: () => [{ id: 's' }], clients: () => [] }),
    logTail: () => [],
  });
  const snap = sc.buildSnapshot(ctx);
  assert.equal(snap.grace.phase, 'draining');
  assert.equal(snap.grace.detailed, true);
  assert.equal(snap.grace.reason, 'SIGQUIT');
  assert.equal(snap.config.generation, 3);
  assert.equal(snap.flvPort, 8080);
  assert.equal(snap.logAvailable, true);
  assert.deepEqual(snap.streams, [{ id: 's' }]);
  assert.deepEqual(snap.listeners[0], { role: 'rtmp', endpoint: '0.0.0.0:1935', inherited: true, connections: 0, accepted: 0, refused: 0 });
  assert.equal(sc.portOf('[::]:1985'), 1985);
  assert.equal(sc.portOf('nothing'), null);
});

test('formatClock: 24 h local time with milliseconds', () => {
  const d = new Date(2026, 0, 2, 14, 3, 9, 42);
  assert.equal(m.formatClock(d.getTime()), '14:03:09.042');
});
