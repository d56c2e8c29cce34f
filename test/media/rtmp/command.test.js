'use strict';
const test = require('node:test');
const assert = require('node:assert');
const cmd = require('../../../dist/media/rtmp/command');
const { encodeAmf0, decodeAmf0 } = require('../../../dist/media/rtmp/amf0');

const plain = (v) => JSON.parse(JSON.stringify(v));

test('connect: decoded from AMF0 and from the AMF3 command form (type 17)', () => {
  const body = encodeAmf0(['connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live', objectEncoding: 0 }]);
  for (const m of [{ type: 20, timestamp: 0, streamId: 0, payload: body }, { type: 17, timestamp: 0, streamId: 0, payload: Buffer.concat([Buffer.from([0]), body]) }]) {
    const c = cmd.decodeCommand(m);
    assert.strictEqual(c.name, 'connect');
    assert.strictEqual(c.transactionId, 1);
    const r = cmd.parseConnect(c);
    assert.strictEqual(r.tcUrl, 'rtmp://127.0.0.1/live');
    assert.strictEqual(r.app, 'live');
  }
  assert.throws(() => cmd.parseConnect(cmd.decodeCommand(cmd.command('connect', 1, { app: 'x' }))), /without tcUrl/);
});

test('play defaults are SRS\'s (start -2, duration -1, reset true); publish type defaults to live', () => {
  assert.deepStrictEqual(cmd.parsePlay(cmd.decodeCommand(cmd.command('play', 4, null, ['s']))), { name: 's', start: -2, duration: -1, reset: true });
  assert.deepStrictEqual(cmd.parsePlay(cmd.decodeCommand(cmd.command('play', 4, null, ['s', -1, 10, false]))), { name: 's', start: -1, duration: 10, reset: false });
  assert.deepStrictEqual(cmd.parsePublish(cmd.decodeCommand(cmd.command('publish', 5, null, ['s?k=v']))), { name: 's?k=v', type: 'live' });
  assert.deepStrictEqual(cmd.parsePause(cmd.decodeCommand(cmd.command('pause', 0, null, [true, 1000]))), { pause: true, timeMs: 1000 });
  assert.throws(() => cmd.parsePlay(cmd.decodeCommand(cmd.command('play', 4, null, []))), /without a stream name/);
});

test('replies carry SRS\'s field values', () => {
  const r = decodeAmf0(cmd.connectResult(1, 0, { server: 'srs/0.1.0', version: '0.1.0', pid: 42, cid: 'c1' }).payload);
  assert.strictEqual(r[0], '_result');
  assert.strictEqual(r[1], 1);
  assert.deepStrictEqual(plain(r[2]), { fmsVer: 'FMS/3,5,3,888', capabilities: 127, mode: 1 });
  const info = plain(r[3]);
  assert.strictEqual(info.code, 'NetConnection.Connect.Success');
  assert.strictEqual(info.description, 'Connection succeeded');
  assert.strictEqual(info.level, 'status');
  assert.strictEqual(info.data.version, '3,5,3,888');
  assert.strictEqual(info.data.srs_id, 'c1');
  const start = decodeAmf0(cmd.Status.publishStart(1).payload);
  assert.deepStrictEqual(plain(start[3]), { level: 'status', code: 'NetStream.Publish.Start', description: 'Started publishing stream.', clientid: 'ASAICiss' });
  const reset = decodeAmf0(cmd.Status.playReset(1).payload);
  assert.deepStrictEqual(plain(reset[3]), { level: 'status', code: 'NetStream.Play.Reset', description: 'Playing and resetting stream.', details: 'stream', clientid: 'ASAICiss' });
  const fc = decodeAmf0(cmd.Status.onFCPublish(1).payload);
  assert.strictEqual(fc[0], 'onFCPublish');
  const sa = cmd.Status.sampleAccess(1);
  assert.strictEqual(sa.type, 18);
  assert.deepStrictEqual(decodeAmf0(sa.payload), ['|RtmpSampleAccess', true, true]);
  const bad = decodeAmf0(cmd.Status.publishBadName(1).payload);
  assert.strictEqual(plain(bad[3]).code, 'NetStream.Publish.BadName');
  assert.strictEqual(plain(bad[3]).level, 'error');
  assert.deepStrictEqual(decodeAmf0(cmd.fmleStartResult(3).payload), ['_result', 3, null, undefined]);
  assert.deepStrictEqual(decodeAmf0(cmd.createStreamResult(4, 1).payload), ['_result', 4, null, 1]);
});
