'use strict';
// The edge's pure retry plan, and its pull and publish hand-over driven with fake RTMP clients
// (the real clients, origins and players are in test/stream/edge.test.js).
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const fc = require('fast-check');
const { nextAttempt, EDGE_RETRY } = require('../../dist/media/edge-retry.js');
const { EdgePull, upstreamTcUrl } = require('../../dist/media/edge-pull.js');
const { Edge } = require('../../dist/media/edge.js');
const { waitFor } = require('../helpers/harness');

test('nextAttempt: the first attempt and the one after a lost origin go to the first origin at once', () => {
  assert.deepEqual(nextAttempt(0, 3), { origin: 0, delayMs: 0 });
  assert.deepEqual(nextAttempt(1, 3), { origin: 1, delayMs: EDGE_RETRY.baseMs });
  assert.deepEqual(nextAttempt(2, 3), { origin: 2, delayMs: EDGE_RETRY.baseMs });
  assert.deepEqual(nextAttempt(3, 3), { origin: 0, delayMs: EDGE_RETRY.baseMs });
  assert.deepEqual(nextAttempt(4, 3), { origin: 1, delayMs: EDGE_RETRY.baseMs * 2 });
  assert.throws(() => nextAttempt(0, 0), RangeError);
  assert.throws(() => nextAttempt(-1, 2), RangeError);
});

test('nextAttempt: origins in order, round after round; the pause never shrinks and stays within its bound', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 100000 }), (n, base, extra, f) => {
      const policy = { baseMs: base, maxMs: base + extra };
      const a = nextAttempt(f, n, policy);
      const b = nextAttempt(f + 1, n, policy);
      assert.equal(a.origin, f % n);
      assert.ok(b.delayMs >= a.delayMs);
      assert.ok(b.delayMs <= policy.maxMs && b.delayMs >= Math.min(base, policy.maxMs));
    }),
  );
});

test('upstreamTcUrl names the vhost only when it is not the default one', () => {
  const u = { host: '127.0.0.1', port: 19350, text: '127.0.0.1:19350' };
  assert.equal(upstreamTcUrl(u, 'live', '__defaultVhost__'), 'rtmp://127.0.0.1:19350/live');
  assert.equal(upstreamTcUrl(u, 'live', 'a.b'), 'rtmp://127.0.0.1:19350/live?vhost=a.b');
  assert.equal(upstreamTcUrl({ host: '::1', port: 1935, text: '[::1]:1935' }, 'live', ''), 'rtmp://[::1]:1935/live');
});

// ---- fakes --------------------------------------------------------------------------------------

class FakeClient extends EventEmitter {
  constructor(tcUrl) {
    super();
    this.tcUrl = tcUrl;
    this.closed = null;
    this.played = null;
    this.sent = [];
    this.socket = { writableLength: 0 };
  }
  async play(name) {
    this.played = name;
    return 1;
  }
  async publish(name) {
    this.published = name;
    return 1;
  }
  send(m) {
    this.sent.push(m);
  }
  close(reason = 'closed by client') {
    if (this.closed !== null) return;
    this.closed = reason;
    this.emit('close', reason);
  }
  media(ts = 0) {
    this.emit('message', { type: 9, timestamp: ts, streamId: 1, payload: Buffer.from([0x17, 1]) });
  }
}

/** connect(): answers for the ports in `up`, refuses the others; every client made is kept. */
function network(up) {
  const made = [];
  const tried = [];
  return {
    made,
    tried,
    connect: async (tcUrl) => {
      tried.push(tcUrl);
      const port = Number(new URL(tcUrl).port);
      if (!up.has(port)) throw new Error(`connect ECONNREFUSED 127.0.0.1:${port}`);
      const c = new FakeClient(tcUrl);
      made.push(c);
      return c;
    },
  };
}

function fakeHub() {
  const hub = { publisher: null, fed: [], unpublished: 0, refused: 0 };
  hub.publish = (key, publisher) => {
    if (hub.publisher) {
      hub.refused++;
      return null;
    }
    hub.publisher = publisher;
    let live = true;
    return {
      feed: (m) => live && hub.fed.push({ by: publisher.cid, m }),
      unpublish: () => {
        if (!live) return;
        live = false;
        hub.publisher = null;
        hub.unpublished++;
      },
    };
  };
  hub.play = () => ({ drained() {}, pause() {}, close() {} });
  return hub;
}

const log = { lines: [], info(o, m) { this.lines.push(m); }, warn(o, m) { this.lines.push(m); }, error(o, m) { this.lines.push(m); } };
const origins = [
  { host: '127.0.0.1', port: 1, text: '127.0.0.1:1' },
  { host: '127.0.0.1', port: 2, text: '127.0.0.1:2' },
];
const key = { vhost: '__defaultVhost__', app: 'live', stream: 's' };
const settings = { gopCache: true, queueLengthMs: 30000, queueMaxBytes: 1 << 20, mwLatencyMs: 350, mwMsgs: 8 };

function pull(net, hub, extra = {}) {
  const stops = [];
  const p = new EdgePull({
    key,
    hub,
    settings: () => settings,
    upstreams: () => origins,
    upstreamVhost: '__defaultVhost__',
    connect: net.connect,
    log,
    cid: 'edge-1',
    what: 'edge pull',
    retry: { baseMs: 5, maxMs: 20 },
    mediaTimeoutMs: 200,
    idleMs: 50,
    onStop: (x) => stops.push(x),
    ...extra,
  });
  return { p, stops };
}

test('a pull starts with its first player, takes the first origin that answers, publishes on the first media', async () => {
  const net = network(new Set([2]));
  const hub = fakeHub();
  const { p } = pull(net, hub);
  p.join();
  await waitFor('a client connected to the second origin', () => net.made.length === 1);
  assert.deepEqual(net.tried, ['rtmp://127.0.0.1:1/live', 'rtmp://127.0.0.1:2/live']);
  await waitFor('the pull played "s"', () => net.made[0].played === 's');
  assert.equal(hub.publisher, null, 'no media yet: the stream has no publisher');
  net.made[0].media(40);
  assert.equal(hub.publisher, p);
  assert.equal(hub.fed.length, 1);
  assert.equal(p.remote, '127.0.0.1:2');
  p.stop('test');
});

test('the origin drops the stream: players are told, and after no media the pull moves on; a lost connection starts over at the first origin', async () => {
  const net = network(new Set([1, 2]));
  const hub = fakeHub();
  const { p } = pull(net, hub);
  p.join();
  await waitFor('the pull played on origin 1', () => net.made[0]?.played === 's');
  net.made[0].media();
  net.made[0].emit('status', { code: 'NetStream.Play.UnpublishNotify', level: 'status' });
  assert.equal(hub.unpublished, 1, 'the stream is unpublished locally');
  await waitFor('after no media the pull tries origin 2', () => net.made[1]?.played === 's', 3000);
  assert.match(net.made[1].tcUrl, /:2\//);
  assert.ok(net.made[0].closed, 'the quiet origin is disconnected');
  net.made[1].media();
  assert.equal(hub.publisher, p, 'republished from origin 2');
  net.made[1].close('server closed');
  assert.equal(hub.unpublished, 2);
  await waitFor('after a lost connection the pull starts over at origin 1', () => net.made[2]?.played === 's');
  assert.match(net.made[2].tcUrl, /:1\//);
  p.stop('test');
});

test('a pull stops idleMs after its last player left, not while a player is back', async () => {
  const net = network(new Set([1]));
  const hub = fakeHub();
  const { p, stops } = pull(net, hub, { idleMs: 80 });
  p.join();
  await waitFor('played', () => net.made[0]?.played === 's');
  net.made[0].media();
  p.leave();
  p.join(); // back before the idle time: nothing stops
  // an absence can only be shown by letting time pass: longer than idleMs, and no stop came
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(stops.length, 0, 'no stop while a player is there');
  p.leave();
  await waitFor('the idle stop', () => stops.length === 1, 2000);
  assert.ok(net.made[0].closed, 'disconnected');
  assert.equal(hub.publisher, null, 'the stream released');
  assert.ok(log.lines.includes('edge pull stop (idle)'));
});

test('a local publish takes the stream from the pull; when it leaves, the pull resumes for waiting players', async () => {
  const net = network(new Set([1]));
  const hub = fakeHub();
  const edge = new Edge({
    hub,
    upstream: () => ({ origins: [origins[0]], vhost: '__defaultVhost__', forward: false, what: 'upgrade relay' }),
    settings: () => settings,
    log: () => log,
    connect: net.connect,
    retry: { baseMs: 5, maxMs: 20 },
    mediaTimeoutMs: 1000,
    idleMs: 1000,
  });
  const leave = edge.playerJoined(key);
  await waitFor('the relay played', () => net.made[0]?.played === 's');
  net.made[0].media();
  assert.match(hub.publisher.cid, /^edge-/);
  const local = { cid: 'c1', remote: '127.0.0.1:5', kick() {} };
  const src = edge.publish(key, local, settings);
  assert.ok(src, 'the local publisher got the stream');
  assert.equal(hub.publisher, local);
  assert.ok(net.made[0].closed, 'the pull disconnected');
  src.feed({ type: 9, timestamp: 0, streamId: 1, payload: Buffer.from([0x17]) });
  assert.equal(hub.fed.at(-1).by, 'c1');
  assert.equal(net.made.length, 1, 'no pull while the local publisher is there');
  src.unpublish();
  await waitFor('the pull came back for the waiting player', () => net.made[1]?.played === 's');
  leave();
  leave(); // idempotent
  edge.stopAll('test');
  assert.deepEqual(edge.pulling(), []);
});

test('an edge publish is forwarded to the first origin that takes it, queued until it does, and ends with the publisher', async () => {
  const net = network(new Set([2]));
  const hub = fakeHub();
  const edge = new Edge({
    hub,
    upstream: () => ({ origins, vhost: 'v', forward: true, what: 'edge pull' }),
    settings: () => settings,
    log: () => log,
    connect: net.connect,
  });
  const kicks = [];
  const pub = { cid: 'c2', remote: '127.0.0.1:6', kick: (r) => kicks.push(r) };
  const src = edge.publish(key, pub, settings);
  src.feed({ type: 9, timestamp: 0, streamId: 1, payload: Buffer.from([0x17, 0]) });
  await waitFor('the forward published to origin 2', () => net.made[0]?.published === 's');
  assert.deepEqual(net.tried, ['rtmp://127.0.0.1:1/live?vhost=v', 'rtmp://127.0.0.1:2/live?vhost=v']);
  src.feed({ type: 9, timestamp: 40, streamId: 1, payload: Buffer.from([0x27, 1]) });
  assert.deepEqual(net.made[0].sent.map((m) => m.timestamp), [0, 40], 'the queued message first, then the live one');
  src.unpublish();
  assert.ok(net.made[0].closed, 'the forward ends with the publisher');
  assert.deepEqual(kicks, []);
  // an origin lost mid-publish closes the edge's publisher
  const src2 = edge.publish(key, pub, settings);
  await waitFor('second forward', () => net.made[1]?.published === 's');
  net.made[1].close('server closed');
  assert.equal(kicks.length, 1, 'the publisher is closed when its forward loses the origin');
  src2.unpublish();
});

test('a second local publisher is refused and leaves the pull yielded; an API kick of a pull with players starts it over', async () => {
  const net = network(new Set([1]));
  const hub = fakeHub();
  const edge = new Edge({
    hub,
    upstream: () => ({ origins: [origins[0]], vhost: '__defaultVhost__', forward: false, what: 'upgrade relay' }),
    settings: () => settings,
    log: () => log,
    connect: net.connect,
    retry: { baseMs: 5, maxMs: 20 },
    mediaTimeoutMs: 1000,
    idleMs: 1000,
  });
  const a = edge.publish(key, { cid: 'a', remote: '', kick() {} }, settings);
  const leave = edge.playerJoined(key);
  assert.equal(net.tried.length, 0, 'no pull while a local publisher holds the stream');
  assert.equal(edge.publish(key, { cid: 'b', remote: '', kick() {} }, settings), null, 'the hub refuses a second publisher');
  assert.equal(net.tried.length, 0, 'the refused publish does not wake the pull');
  a.unpublish();
  await waitFor('the pull starts once the local publisher left', () => net.made[0]?.played === 's');
  net.made[0].media();
  const pullHandle = hub.publisher;
  assert.match(pullHandle.cid, /^edge-/);
  pullHandle.kick('kicked');
  assert.ok(net.made[0].closed, 'the kicked pull disconnected');
  await waitFor('the kicked pull starts over for its player', () => net.made[1]?.played === 's');
  leave();
  edge.stopAll('test');
  assert.ok(net.made[1].closed);
});
