'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { ChunkReader } = require('../../../dist/media/rtmp/chunk');
const { frameMessage } = require('../../../dist/media/message');
const control = require('../../../dist/media/rtmp/control');
const { RtmpError } = require('../../../dist/media/rtmp/error');

const cat = (parts) => Buffer.concat(parts);
const msg = (type, timestamp, streamId, n, fill = 1) => ({ type, timestamp, streamId, payload: Buffer.alloc(n, fill) });

function feedBytewise(reader, bytes) {
  const out = [];
  for (let i = 0; i < bytes.length; i++) out.push(...reader.push(bytes.subarray(i, i + 1)));
  return out;
}

test('format 0 + format 3 continuations reassemble, fed whole or one byte at a time', () => {
  const m = msg(9, 1234, 1, 1000, 0xab);
  const bytes = cat(frameMessage(m, 6, 128));
  const whole = new ChunkReader().push(bytes);
  assert.strictEqual(whole.length, 1);
  assert.deepStrictEqual(whole[0], m);
  assert.deepStrictEqual(feedBytewise(new ChunkReader(), bytes), [m]);
});

test('formats 1 and 2 add deltas; a format-3 new message repeats the last delta', () => {
  const r = new ChunkReader();
  const b = Buffer.from([
    0x04, 0, 0, 100, 0, 0, 2, 8, 1, 0, 0, 0, 0xaa, 0xbb, // fmt0 csid4 ts100 len2 type8 sid1
    0x44, 0, 0, 20, 0, 0, 1, 8, 0xcc, // fmt1 delta 20 len1
    0x84, 0, 0, 5, 0xdd, // fmt2 delta 5
    0xc4, 0xee, // fmt3 new message: delta 5 again
  ]);
  const out = r.push(b);
  assert.deepStrictEqual(out.map((m) => [m.timestamp, m.streamId, m.type, [...m.payload]]), [
    [100, 1, 8, [0xaa, 0xbb]],
    [120, 1, 8, [0xcc]],
    [125, 1, 8, [0xdd]],
    [130, 1, 8, [0xee]],
  ]);
});

test('two- and three-byte chunk stream ids', () => {
  for (const csid of [64, 319, 320, 65599]) {
    const m = msg(8, 7, 1, 300);
    const out = new ChunkReader().push(cat(frameMessage(m, csid, 128)));
    assert.deepStrictEqual(out, [m], `csid ${csid}`);
  }
});

test('extended timestamp, repeated on format-3 continuations (SRS/Flash) or not (some encoders)', () => {
  const m = msg(9, 0x01000000, 1, 300, 0x11);
  const repeated = cat(frameMessage(m, 6, 128));
  assert.deepStrictEqual(new ChunkReader().push(repeated), [m]);
  assert.deepStrictEqual(feedBytewise(new ChunkReader(), repeated), [m]);
  // without the repeat: fmt0 header with extended ts, then bare fmt3 continuations
  const h = Buffer.from([0x06, 0xff, 0xff, 0xff, 0, 1, 44, 9, 1, 0, 0, 0, 1, 0, 0, 0]);
  const bare = cat([h, m.payload.subarray(0, 128), Buffer.from([0xc6]), m.payload.subarray(128, 256), Buffer.from([0xc6]), m.payload.subarray(256)]);
  assert.deepStrictEqual(new ChunkReader().push(bare), [m]);
});

test('Set Chunk Size applies to the very next chunk; values outside 1..0x7fffffff are refused', () => {
  const r = new ChunkReader();
  const big = msg(9, 0, 1, 5000, 3);
  const out = r.push(cat([...frameMessage(control.setChunkSize(4096), 2, 128), ...frameMessage(big, 6, 4096)]));
  assert.strictEqual(r.chunkSize, 4096);
  assert.deepStrictEqual(out[1], big);
  const bad = Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => new ChunkReader().push(bad), (e) => e instanceof RtmpError && /Set Chunk Size 0/.test(e.message));
  const neg = Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x80, 0, 0, 0]);
  assert.throws(() => new ChunkReader().push(neg), RtmpError);
});

test('Abort drops the partial message of a chunk stream', () => {
  const r = new ChunkReader();
  const parts = frameMessage(msg(9, 0, 1, 200), 6, 128);
  r.push(cat(parts.slice(0, 2)));
  assert.ok(r.inMessage === false || r.inMessage === true);
  const out = r.push(cat(frameMessage(control.abort(6), 2, 128)));
  assert.strictEqual(out[0].type, 2);
  const m = msg(9, 50, 1, 10);
  assert.deepStrictEqual(r.push(cat(frameMessage(m, 6, 128))), [m]);
});

test('bounds: message length cap, chunk stream count cap, fresh stream with format 2/3', () => {
  // a 3-byte length cannot pass 16 MiB - 1: the default bound is the format's; a lower one is enforced
  const huge = Buffer.from([0x06, 0, 0, 0, 0x01, 0, 0x01, 9, 1, 0, 0, 0]); // 65537 bytes
  assert.throws(() => new ChunkReader({ maxMessageSize: 65536 }).push(huge), (e) => e instanceof RtmpError && /65537 bytes .* over the 65536-byte bound/.test(e.message));
  const pend = new ChunkReader({ maxPendingBytes: 300 });
  const two = [...frameMessage(msg(9, 0, 1, 1000), 6, 128).slice(0, 4), ...frameMessage(msg(8, 0, 1, 1000), 7, 128).slice(0, 4)];
  assert.throws(() => pend.push(cat(two)), /unfinished messages hold over 300 bytes/);
  const r = new ChunkReader({ maxChunkStreams: 4 });
  const many = [];
  for (let c = 3; c < 9; c++) many.push(Buffer.from([0x00 | c, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0x55]));
  assert.throws(() => r.push(cat(many)), /more than 4 chunk streams/);
  assert.throws(() => r.push(Buffer.from([1])), /more than 4 chunk streams/, 'stays failed');
  assert.throws(() => new ChunkReader().push(Buffer.from([0xc5])), /starts with a format-3 header/);
  // a new header inside an unfinished message
  const inside = cat([...frameMessage(msg(9, 0, 1, 200), 6, 128).slice(0, 2), Buffer.from([0x06, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0])]);
  assert.throws(() => new ChunkReader().push(inside), /inside a message/);
});

test('acknowledgement after the peer window of bytes, then again after the next window', () => {
  const r = new ChunkReader();
  r.push(cat(frameMessage(control.windowAckSize(1000), 2, 128)));
  assert.strictEqual(r.takeAck(), null);
  const m = msg(9, 0, 1, 1200);
  r.push(cat(frameMessage(m, 6, 128)));
  const seq = r.takeAck();
  assert.strictEqual(seq, r.bytesReceived);
  assert.strictEqual(r.takeAck(), null);
});

test('control codecs round-trip', () => {
  const { decodeControl, userControl, UserControlEvent, setPeerBandwidth } = control;
  assert.deepStrictEqual(decodeControl(control.setChunkSize(60000)), { kind: 'setChunkSize', size: 60000 });
  assert.deepStrictEqual(decodeControl(control.windowAckSize(2500000)), { kind: 'windowAckSize', size: 2500000 });
  assert.deepStrictEqual(decodeControl(setPeerBandwidth(2500000, 2)), { kind: 'setPeerBandwidth', size: 2500000, limit: 2 });
  assert.deepStrictEqual(decodeControl(control.acknowledgement(5)), { kind: 'acknowledgement', sequence: 5 });
  assert.deepStrictEqual(decodeControl(userControl(UserControlEvent.StreamBegin, 1)), { kind: 'userControl', event: 0, streamId: 1 });
  assert.deepStrictEqual(decodeControl(userControl(UserControlEvent.SetBufferLength, 1, 3000)), { kind: 'userControl', event: 3, streamId: 1, bufferLengthMs: 3000 });
  assert.deepStrictEqual(decodeControl(userControl(UserControlEvent.PingRequest, 777)), { kind: 'userControl', event: 6, streamId: 0, timestamp: 777 });
  assert.throws(() => control.setChunkSize(0), RangeError);
});
