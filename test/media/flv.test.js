'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { flvHeader, flvTagHeader, muxFlvTag, flvTagType } = require('../../dist/media/flv');

test('FLV header: signature, version 1, audio/video flags, DataOffset 9, PreviousTagSize0', () => {
  assert.deepStrictEqual(flvHeader(true, true), Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]));
  assert.strictEqual(flvHeader(true, false)[4], 4);
  assert.strictEqual(flvHeader(false, true)[4], 1);
});

test('a video tag: header, the payload itself, PreviousTagSize; timestamps past 24 bits go to TimestampExtended', () => {
  const payload = Buffer.from([0x17, 1, 0, 0, 0, 0xaa, 0xbb]);
  const tag = muxFlvTag({ type: 9, timestamp: 0x01020304, streamId: 1, payload });
  assert.strictEqual(tag[1], payload, 'the payload is not copied');
  const expected = Buffer.from([
    9, 0, 0, 7, // video, DataSize 7
    0x02, 0x03, 0x04, 0x01, // Timestamp 0x020304, TimestampExtended 0x01
    0, 0, 0, // StreamID
    0x17, 1, 0, 0, 0, 0xaa, 0xbb,
    0, 0, 0, 18, // PreviousTagSize = 11 + 7
  ]);
  assert.deepStrictEqual(Buffer.concat(tag), expected);
});

test('data and audio tags; commands have no FLV tag', () => {
  const script = Buffer.concat(muxFlvTag({ type: 18, timestamp: 0, streamId: 1, payload: Buffer.from([2, 0, 1, 0x41]) }));
  assert.deepStrictEqual(script, Buffer.from([18, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x41, 0, 0, 0, 15]));
  assert.strictEqual(flvTagType(8), 8);
  assert.strictEqual(flvTagType(20), null);
  assert.throws(() => muxFlvTag({ type: 20, timestamp: 0, streamId: 0, payload: Buffer.alloc(1) }), RangeError);
  assert.throws(() => flvTagHeader(9, 0, 0x1000000), RangeError);
});
