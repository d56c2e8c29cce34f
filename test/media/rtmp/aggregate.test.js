'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { splitAggregate } = require('../../../dist/media/rtmp/aggregate');
const { RtmpError } = require('../../../dist/media/rtmp/error');

function tag(type, ts, payload, back = true) {
  const h = Buffer.alloc(11);
  h[0] = type;
  h.writeUIntBE(payload.length, 1, 3);
  h.writeUIntBE(ts & 0xffffff, 4, 3);
  h[7] = ts >>> 24;
  const b = Buffer.alloc(back ? 4 : 0);
  if (back) b.writeUInt32BE(11 + payload.length);
  return Buffer.concat([h, payload, b]);
}

test('sub-messages are rebased on the aggregate timestamp, extended byte included', () => {
  const payload = Buffer.concat([tag(9, 0x01000010, Buffer.from([1, 2])), tag(8, 0x01000030, Buffer.from([3]), false)]);
  const out = splitAggregate({ type: 22, timestamp: 500, streamId: 1, payload });
  assert.deepStrictEqual(out.map((m) => [m.type, m.timestamp, m.streamId, [...m.payload]]), [
    [9, 500, 1, [1, 2]],
    [8, 532, 1, [3]],
  ]);
});

test('truncated, overrunning and nested aggregates are refused with RtmpError', () => {
  for (const payload of [Buffer.alloc(5), tag(9, 0, Buffer.alloc(10)).subarray(0, 15), tag(22, 0, tag(9, 0, Buffer.alloc(1)))]) {
    assert.throws(() => splitAggregate({ type: 22, timestamp: 0, streamId: 1, payload }), RtmpError);
  }
});
