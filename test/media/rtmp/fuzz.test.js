'use strict';
// Any byte sequence fed to the chunk and AMF layers either yields values or throws RtmpError,
// quickly, and the reader's held bytes stay within its bound.
const test = require('node:test');
const assert = require('node:assert');
const fc = require('fast-check');
const { ChunkReader } = require('../../../dist/media/rtmp/chunk');
const { decodeAmf0, encodeAmf0 } = require('../../../dist/media/rtmp/amf0');
const { decodeAmf3Value } = require('../../../dist/media/rtmp/amf3');
const { decodeCommand } = require('../../../dist/media/rtmp/command');
const { ServerHandshake } = require('../../../dist/media/rtmp/handshake');
const { RtmpError } = require('../../../dist/media/rtmp/error');
const { frameMessage } = require('../../../dist/media/message');

function onlyRtmpError(fn) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof RtmpError)) throw e;
  }
}

const bytes = fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a));
const splits = fc.array(fc.nat(4096), { maxLength: 8 });

test('chunk reader: random bytes in random pieces yield messages or an RtmpError, memory bounded', () => {
  fc.assert(
    fc.property(bytes, splits, (b, cuts) => {
      const r = new ChunkReader({ maxMessageSize: 65536, maxChunkStreams: 8, maxPendingBytes: 100000 });
      const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
      let at = 0;
      onlyRtmpError(() => {
        for (const p of [...points, b.length]) {
          for (const m of r.push(b.subarray(at, p))) assert.ok(m.payload.length <= 65536);
          at = p;
        }
      });
    }),
    { numRuns: 2000 },
  );
});

test('chunk reader: valid frames with corrupted bytes never throw anything but RtmpError', () => {
  const msgArb = fc.record({ type: fc.integer({ min: 1, max: 22 }), timestamp: fc.nat(), streamId: fc.nat(3), payload: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) });
  fc.assert(
    fc.property(fc.array(msgArb, { maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), (msgs, flips) => {
      const wire = Buffer.concat(msgs.flatMap((m) => frameMessage(m, 3 + (m.type % 60), 128)));
      for (const [i, v] of flips) if (wire.length) wire[i % wire.length] = v;
      onlyRtmpError(() => new ChunkReader({ maxChunkStreams: 16 }).push(wire));
    }),
    { numRuns: 1000 },
  );
});

test('chunk reader: intact frames always come back as sent (property)', () => {
  const msgArb = fc.record({ type: fc.constantFrom(8, 9, 18, 20), timestamp: fc.nat(), streamId: fc.nat(3), payload: fc.uint8Array({ maxLength: 1000 }).map((a) => Buffer.from(a)) });
  fc.assert(
    fc.property(fc.array(msgArb, { maxLength: 6 }), fc.nat(50), (msgs, step) => {
      const wire = Buffer.concat(msgs.flatMap((m) => frameMessage(m, m.type === 8 ? 7 : 6, 128)));
      const r = new ChunkReader();
      const out = [];
      const n = step + 1;
      for (let i = 0; i < wire.length; i += n) out.push(...r.push(wire.subarray(i, i + n)));
      assert.deepStrictEqual(out.map((m) => [m.type, m.timestamp, m.streamId, m.payload.toString('hex')]), msgs.map((m) => [m.type, m.timestamp, m.streamId, m.payload.toString('hex')]));
    }),
    { numRuns: 300 },
  );
});

test('AMF0/AMF3/commands: random bytes decode or throw RtmpError', () => {
  fc.assert(
    fc.property(bytes, (b) => {
      onlyRtmpError(() => decodeAmf0(b));
      onlyRtmpError(() => decodeAmf3Value(b, 0));
      onlyRtmpError(() => decodeCommand({ type: 17, timestamp: 0, streamId: 0, payload: b }));
    }),
    { numRuns: 3000 },
  );
});

test('AMF0: encoded values decode to themselves (property)', () => {
  const leaf = fc.oneof(fc.double({ noNaN: true }), fc.boolean(), fc.string(), fc.constant(null));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ minLength: 1 }), tie('v'), { maxKeys: 4 })),
  })).v;
  fc.assert(
    fc.property(fc.array(value, { maxLength: 4 }), (vs) => {
      const back = decodeAmf0(encodeAmf0(vs));
      assert.deepStrictEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(vs)));
    }),
    { numRuns: 500 },
  );
});

test('AMF0: mutated encodings of valid values decode or throw RtmpError', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.double(), fc.dictionary(fc.string(), fc.string())), { maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), (vs, flips) => {
      const b = encodeAmf0(vs);
      for (const [i, v] of flips) if (b.length) b[i % b.length] = v;
      onlyRtmpError(() => decodeAmf0(b));
    }),
    { numRuns: 1000 },
  );
});

test('server handshake: any bytes complete it, or throw RtmpError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 3200 }), (a) => {
      onlyRtmpError(() => new ServerHandshake().feed(Buffer.from(a)));
    }),
    { numRuns: 300 },
  );
});

test('aggregate split: random payloads split or throw RtmpError', () => {
  const { splitAggregate } = require('../../../dist/media/rtmp/aggregate');
  fc.assert(
    fc.property(bytes, (b) => {
      onlyRtmpError(() => {
        for (const m of splitAggregate({ type: 22, timestamp: 0, streamId: 1, payload: b })) assert.ok(m.payload.length <= b.length);
      });
    }),
    { numRuns: 1000 },
  );
});
