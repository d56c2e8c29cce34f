'use strict';
// The session fed arbitrary bytes after a valid handshake and connect, on in-memory duplexes:
// it never throws, closes at most its own connection with one log line, and a publisher on the
// same hub carries on.
const test = require('node:test');
const assert = require('node:assert');
const { Duplex } = require('node:stream');
const fc = require('fast-check');
const { RtmpSession } = require('../../../dist/media/rtmp/session');
const { StreamHub, DEFAULT_MEDIA_SETTINGS } = require('../../../dist/media/hub');
const { ClientHandshake } = require('../../../dist/media/rtmp/handshake');
const { frameMessage } = require('../../../dist/media/message');
const cmd = require('../../../dist/media/rtmp/command');

function memorySocket() {
  const d = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  d.remoteAddress = '127.0.0.1';
  d.remotePort = 5000;
  return d;
}

function handshakeBytes() {
  const c = new ClientHandshake({ randomBytes: (n) => Buffer.alloc(n, 1), nowSeconds: () => 0 });
  const c0c1 = c.start();
  return Buffer.concat([c0c1, Buffer.alloc(1536, 2)]);
}

const CONNECT = Buffer.concat(frameMessage(cmd.command('connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' }), 3, 128));

test('arbitrary bytes after connect close at most their own session, with one log line', () => {
  const hub = new StreamHub({ schedule: (fn) => fn() });
  const resolver = { vhostNames: () => [], settings: () => ({ media: DEFAULT_MEDIA_SETTINGS, chunkSize: 60000, allow: () => true, firstPacketTimeoutMs: 60000, normalTimeoutMs: 60000 }) };
  const quiet = { info() {}, warn() {}, error() {} };
  const pubSock = memorySocket();
  const pub = new RtmpSession(pubSock, { hub, resolver, log: quiet, cid: 'pub' });
  pub.start(Buffer.concat([handshakeBytes(), CONNECT]));
  pubSock.emit('data', Buffer.concat(frameMessage(cmd.command('publish', 2, null, ['keep', 'live'], 1), 5, 128)));
  assert.strictEqual(pub.snapshot().kind, 'publisher');
  let n = 0;
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 2048 }), { maxLength: 6 }), (pieces) => {
      const lines = [];
      const log = { info: () => {}, warn: (o, m) => lines.push({ o, m }), error: (o, m) => lines.push({ o, m, error: true }) };
      const sock = memorySocket();
      const s = new RtmpSession(sock, { hub, resolver, log, cid: `f${++n}` });
      s.start(Buffer.concat([handshakeBytes(), CONNECT]));
      for (const p of pieces) sock.emit('data', Buffer.from(p));
      assert.ok(!lines.some((l) => l.error), JSON.stringify(lines));
      assert.ok(lines.length <= 1, JSON.stringify(lines));
      if (s.closed && lines.length === 1) {
        assert.strictEqual(lines[0].o.cid, `f${n}`);
        assert.strictEqual(lines[0].o.remote, '127.0.0.1:5000');
        assert.ok(lines[0].o.reason);
      }
      s.drain('next run');
    }),
    { numRuns: 400 },
  );
  assert.ok(!pub.closed, 'the publisher on the same hub is untouched');
  assert.strictEqual(hub.publish({ vhost: '__defaultVhost__', app: 'live', stream: 'keep' }, { cid: 'x', remote: '', kick() {} }, DEFAULT_MEDIA_SETTINGS), null, 'its stream is still published');
  pub.drain('done');
});
