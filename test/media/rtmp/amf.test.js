'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { encodeAmf0, decodeAmf0, EcmaArray } = require('../../../dist/media/rtmp/amf0');
const { decodeAmf3Value } = require('../../../dist/media/rtmp/amf3');
const { RtmpError } = require('../../../dist/media/rtmp/error');

const plain = (v) => JSON.parse(JSON.stringify(v));

test('AMF0 round-trips numbers, booleans, strings, null, undefined, objects, strict arrays, dates, long strings', () => {
  const long = 'x'.repeat(70000);
  const values = [1.5, -0, true, false, 'héllo', null, undefined, { a: 1, b: { c: 'd' } }, [1, 'two', null], new Date(1700000000000), long];
  const back = decodeAmf0(encodeAmf0(values));
  assert.strictEqual(back.length, values.length);
  assert.strictEqual(back[0], 1.5);
  assert.ok(Object.is(back[1], -0));
  assert.deepStrictEqual(back.slice(2, 7), [true, false, 'héllo', null, undefined]);
  assert.deepStrictEqual(plain(back[7]), { a: 1, b: { c: 'd' } });
  assert.deepStrictEqual(back[8], [1, 'two', null]);
  assert.strictEqual(back[9].getTime(), 1700000000000);
  assert.strictEqual(back[10], long);
  // long string marker
  const enc = encodeAmf0([long]);
  assert.strictEqual(enc[0], 0x0c);
});

test('AMF0 ECMA array: encoded with its count, decoded to an object', () => {
  const enc = encodeAmf0([new EcmaArray({ duration: 0, width: 1280 })]);
  assert.strictEqual(enc[0], 0x08);
  assert.strictEqual(enc.readUInt32BE(1), 2);
  assert.deepStrictEqual(plain(decodeAmf0(enc)[0]), { duration: 0, width: 1280 });
});

test('AMF0 refuses truncation, a stray object end, references, and deep nesting, with RtmpError', () => {
  const cases = [Buffer.from([0x00, 1, 2]), Buffer.from([0x02, 0, 5, 0x61]), Buffer.from([0x09]), Buffer.from([0x07, 0, 0]), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff])];
  let deep = Buffer.from([0x05]);
  for (let i = 0; i < 40; i++) deep = Buffer.concat([Buffer.from([0x0a, 0, 0, 0, 1]), deep]);
  cases.push(deep);
  for (const c of cases) assert.throws(() => decodeAmf0(c), (e) => e instanceof RtmpError, c.toString('hex').slice(0, 40));
});

test('AMF3 values behind the 0x11 switch: integers, doubles, strings with references, arrays, dynamic objects', () => {
  // object with dynamic traits: 0x0a, U29 0x0b (inline traits, dynamic, 0 sealed), class "" (0x01), "app" -> "live", "n" -> int -5, end
  const obj = Buffer.from([0x0a, 0x0b, 0x01, 0x07, 0x61, 0x70, 0x70, 0x06, 0x09, 0x6c, 0x69, 0x76, 0x65, 0x03, 0x6e, 0x04, 0xff, 0xff, 0xff, 0xfb, 0x01]);
  const v = decodeAmf3Value(obj, 0);
  assert.deepStrictEqual(plain(v.value), { app: 'live', n: -5 });
  assert.strictEqual(v.offset, obj.length);
  // array of two strings, the second a reference to the first
  const arr = Buffer.from([0x09, 0x05, 0x01, 0x06, 0x05, 0x68, 0x69, 0x06, 0x00]);
  assert.deepStrictEqual(decodeAmf3Value(arr, 0).value, ['hi', 'hi']);
  // via AMF0
  const mixed = Buffer.concat([Buffer.from([0x02, 0, 1, 0x61, 0x11]), Buffer.from([0x04, 0x05])]);
  assert.deepStrictEqual(decodeAmf0(mixed), ['a', 5]);
  assert.throws(() => decodeAmf3Value(Buffer.from([0x06, 0x02]), 0), /string reference 1 is undefined/);
  assert.throws(() => decodeAmf3Value(Buffer.from([0x09, 0xff, 0xff, 0xff, 0x7f]), 0), RtmpError);
  assert.throws(() => decodeAmf3Value(Buffer.from([0x0d]), 0), /unsupported AMF3 marker/);
});
