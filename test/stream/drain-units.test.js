'use strict';
// Unit tests of the drain's pure parts: the per-stream drain log (src/media/drain.ts), the
// closing listener's settle rule (src/server/listeners.ts settleDone), and how an HTTP-FLV
// response ends at the drain's bound when its client reads slowly (src/media/http-flv.ts).
const test = require('node:test');
const assert = require('node:assert/strict');
const { drainCounts, drainLine, drainChanges, StreamDrainLog } = require('../../dist/media/drain.js');
const { settleDone, ACCEPT_QUIET_MS, ACCEPT_SETTLE_MAX_MS } = require('../../dist/server/listeners.js');
const { StreamHub, DEFAULT_MEDIA_SETTINGS } = require('../../dist/media/hub.js');
const { serveHttpFlv } = require('../../dist/media/http-flv.js');

const stream = (o) => ({ id: 'vid-s', name: 'test', vhost: 'vid-v', app: 'live', clients: 0, publish: { active: false }, ...o });

test('drain lines: SRS\'s stream path, singular and plural', () => {
  const counts = drainCounts([stream({ clients: 21, publish: { active: true } })], [{ id: 'vid-v', name: '__defaultVhost__' }]);
  assert.deepEqual(counts, [{ path: '__defaultVhost__/live/test', publishers: 1, players: 20 }]);
  assert.equal(drainLine(counts[0]), 'drain: __defaultVhost__/live/test, 1 publisher, 20 players');
  assert.equal(drainLine({ path: 'v/a/s', publishers: 0, players: 1 }), 'drain: v/a/s, 0 publishers, 1 player');
});

test('drain log: said when it changes, not on every sweep; a stream gone is said once', () => {
  const said = new Map();
  const a = { path: 'v/live/a', publishers: 1, players: 20 };
  const b = { path: 'v/live/b', publishers: 1, players: 3 };
  assert.deepEqual(drainChanges([a, b], said), ['drain: v/live/a, 1 publisher, 20 players', 'drain: v/live/b, 1 publisher, 3 players']);
  assert.deepEqual(drainChanges([a, b], said), []);
  assert.deepEqual(drainChanges([{ ...a, publishers: 0 }, b], said), ['drain: v/live/a, 0 publishers, 20 players']);
  assert.deepEqual(drainChanges([b], said), ['drain: v/live/a, 0 publishers, 0 players']);
  assert.deepEqual(drainChanges([b], said), []);
  const lines = [];
  let counts = [a];
  const log = new StreamDrainLog(() => counts, (l) => lines.push(l));
  log.report();
  log.report();
  counts = [];
  log.report();
  assert.deepEqual(lines, ['drain: v/live/a, 1 publisher, 20 players', 'drain: v/live/a, 0 publishers, 0 players']);
});

test('a closing listener closes after ACCEPT_QUIET_MS without arrivals, or at ACCEPT_SETTLE_MAX_MS', () => {
  assert.equal(settleDone(0, 0), ACCEPT_QUIET_MS);
  assert.equal(settleDone(ACCEPT_QUIET_MS - 10, 200), 10);
  assert.equal(settleDone(ACCEPT_QUIET_MS, 200), 0);
  assert.equal(settleDone(0, ACCEPT_SETTLE_MAX_MS), 0, 'clients that never stop arriving do not hold it open');
  assert.equal(settleDone(0, ACCEPT_SETTLE_MAX_MS - 5), 5);
  assert.ok(settleDone(ACCEPT_QUIET_MS - 0.2, 0) >= 1, 'never a busy loop');
});

/** An HTTP-FLV response whose socket is above its high-water mark (the client reads slowly). */
function slowResponse() {
  const events = [];
  const socket = {
    destroyed: false,
    writableNeedDrain: true,
    cork() {},
    uncork() {},
    write: () => false,
    on() {},
    once() {},
    off() {},
    destroy() {
      this.destroyed = true;
      events.push('destroy');
    },
  };
  const res = {
    socket,
    writeHead() {},
    flushHeaders() {},
    write: () => false,
    end: () => events.push('end'),
    once() {},
  };
  const req = { socket: { remoteAddress: '127.0.0.1' }, headers: { host: 'localhost' } };
  return { req, res, events };
}

test('HTTP-FLV: at the drain\'s bound a slow player gets the final chunk; a kicked one on a live stream is destroyed', () => {
  const hub = new StreamHub({ schedule: (fn) => fn() });
  const key = { vhost: '__defaultVhost__', app: 'live', stream: 'test' };
  hub.publish(key, { cid: 'pub', remote: '127.0.0.1', kick() {} }, DEFAULT_MEDIA_SETTINGS);
  const slow = slowResponse();
  serveHttpFlv(slow.req, slow.res, hub, key, DEFAULT_MEDIA_SETTINGS, 'slow');
  const kicked = slowResponse();
  serveHttpFlv(kicked.req, kicked.res, hub, key, DEFAULT_MEDIA_SETTINGS, 'kicked');
  assert.equal(hub.kick('kicked'), true);
  assert.deepEqual(kicked.events, ['destroy'], 'a live stream\'s stuck player is not kept');
  hub.drainAll('the graceful quit is over');
  assert.deepEqual(slow.events, ['end'], 'ended after what is queued: the final chunk, no truncated tag');
});
