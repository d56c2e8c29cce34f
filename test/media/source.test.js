'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { StreamHub } = require('../../dist/media/hub');
const { stripSetDataFrame } = require('../../dist/media/source');
const { MessageType } = require('../../dist/media/message');
const { video, audio, metadata, fakeSink, manual, settings, publisher, AVC_CONFIG } = require('./support');

const KEY = { vhost: '__defaultVhost__', app: 'live', stream: 'test' };

/** The message types and flags a sink received, in order: 'meta', 'vsh', 'ash', 'key', 'v', 'a'. */
function kinds(sink) {
  const out = [];
  for (const p of sink.payloads()) {
    if (p[0] === 2) out.push('meta');
    else if (p[0] === 0x17 && p[1] === 0) out.push('vsh');
    else if (p[0] === 0x17) out.push('key');
    else if (p[0] === 0x27) out.push('v');
    else if (p[0] === 0xaf && p[1] === 0) out.push('ash');
    else if (p[0] === 0xaf) out.push('a');
    else out.push('?');
  }
  return out;
}

function startStream(hub, pub = publisher()) {
  const src = hub.publish(KEY, pub, settings());
  src.feed(metadata());
  src.feed(video(0, { sh: true }));
  src.feed(audio(0, { sh: true }));
  return src;
}

test('a late player starts with metadata, sequence headers, then the GOP from the last keyframe', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = startStream(hub);
  src.feed(video(0, { key: true }));
  src.feed(audio(10));
  src.feed(video(33));
  src.feed(video(66, { key: true })); // clears the GOP
  src.feed(audio(70));
  src.feed(video(100));
  const sink = fakeSink('p1');
  hub.play(KEY, sink, settings());
  m.runTicks();
  assert.deepStrictEqual(kinds(sink), ['meta', 'vsh', 'ash', 'key', 'a', 'v']);
  // the metadata is stored without its @setDataFrame wrapper, as SRS stores it
  assert.strictEqual(sink.payloads()[0].toString('latin1', 3, 13), 'onMetaData');
  // then live messages
  src.feed(video(133));
  m.runTicks();
  assert.deepStrictEqual(kinds(sink).slice(6), ['v']);
});

test('gop_cache off: a late player gets the headers and waits for live messages', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = hub.publish(KEY, publisher(), settings({ gopCache: false }));
  src.feed(video(0, { sh: true }));
  src.feed(video(0, { key: true }));
  src.feed(video(33));
  const sink = fakeSink('p1');
  hub.play(KEY, sink, settings({ gopCache: false }));
  m.runTicks();
  assert.deepStrictEqual(kinds(sink), ['vsh']);
});

test('every player receives the very same payload Buffers, framed once per chunk size', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = startStream(hub);
  const sinks = [fakeSink('a'), fakeSink('b'), fakeSink('c', { chunkSize: 128 })];
  for (const s of sinks) hub.play(KEY, s, settings());
  const msg = video(0, { key: true, size: 100 });
  src.feed(msg);
  m.runTicks();
  const last = (s) => s.batches[s.batches.length - 1];
  // same chunk size: the very same array of header + payload buffers
  const a = last(sinks[0]);
  const b = last(sinks[1]);
  assert.strictEqual(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.strictEqual(a[i], b[i], `buffer ${i} is shared`);
  // the payload is the publisher's own Buffer, never copied
  assert.strictEqual(a[a.length - 1], msg.payload);
  // another chunk size: other headers, but slices of the same memory
  const c = last(sinks[2]);
  assert.ok(c.length > 2, 'a 105-byte payload with chunk size 128 is one chunk; expect the headers of the whole batch');
  const slices = c.filter((x) => x.buffer === msg.payload.buffer && x.byteOffset >= msg.payload.byteOffset);
  assert.ok(slices.length >= 1, 'the payload reaches the 128-byte player as a view of the same memory');
});

test('a busy stream refuses a second publisher; a stale handle cannot feed the next publish', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const first = hub.publish(KEY, publisher('one'), settings());
  assert.ok(first);
  assert.strictEqual(hub.publish(KEY, publisher('two'), settings()), null);
  first.unpublish();
  const second = hub.publish(KEY, publisher('three'), settings());
  assert.ok(second, 'the stream is free after unpublish');
  const sink = fakeSink('p');
  hub.play(KEY, sink, settings());
  first.feed(video(0, { key: true }));
  first.unpublish();
  m.runTicks();
  assert.deepStrictEqual(sink.payloads(), []);
  assert.strictEqual(hub.counters().publishers, 1);
});

test('republish: players hear unpublished(), stay, then published() and the new headers, and continue', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const early = fakeSink('early');
  hub.play(KEY, early, settings()); // before any publisher: waits
  const src = startStream(hub);
  assert.deepStrictEqual(early.events, ['published']);
  src.feed(video(0, { key: true }));
  m.runTicks();
  assert.deepStrictEqual(kinds(early), ['meta', 'vsh', 'ash', 'key']);
  src.unpublish();
  assert.deepStrictEqual(early.events, ['published', 'unpublished']);
  assert.strictEqual(hub.counters().streams, 1, 'the source stays while it has players');
  assert.strictEqual(hub.streams()[0].publish.active, false);
  // a player joining between publishes gets nothing stale
  const between = fakeSink('between');
  hub.play(KEY, between, settings());
  m.runTicks();
  assert.deepStrictEqual(between.payloads(), []);
  const again = startStream(hub, publisher('pub2'));
  again.feed(video(0, { key: true }));
  m.runTicks();
  assert.deepStrictEqual(early.events, ['published', 'unpublished', 'published']);
  assert.deepStrictEqual(kinds(early), ['meta', 'vsh', 'ash', 'key', 'meta', 'vsh', 'ash', 'key']);
  assert.deepStrictEqual(kinds(between), ['meta', 'vsh', 'ash', 'key']);
  assert.strictEqual(hub.streams()[0].publish.cid, 'pub2');
});

test('a source with no publisher and no players is removed', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = startStream(hub);
  const c = hub.play(KEY, fakeSink('p'), settings());
  src.unpublish();
  assert.strictEqual(hub.counters().streams, 1);
  c.close();
  assert.strictEqual(hub.counters().streams, 0);
  const c2 = hub.play(KEY, fakeSink('q'), settings());
  c2.close();
  assert.strictEqual(hub.counters().streams, 0, 'a waiting player that leaves takes its empty source');
});

test('the GOP cache is bounded: a stream that never sends a keyframe again cannot grow it', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = hub.publish(KEY, publisher(), settings({ queueMaxBytes: 10_000 }));
  src.feed(video(0, { sh: true }));
  src.feed(video(0, { key: true, size: 1000 }));
  for (let i = 1; i < 100; i++) src.feed(video(i * 33, { size: 1000 }));
  const sink = fakeSink('late');
  hub.play(KEY, sink, settings({ queueMaxBytes: 10_000 }));
  m.runTicks();
  assert.ok(sink.bytes() < 11_000, `the late player got ${sink.bytes()} bytes; the GOP must have been dropped at 10000`);
  assert.deepStrictEqual(kinds(sink).slice(0, 1), ['vsh']);
});

test('enhanced RTMP: hvc1 and av01 SequenceStart are kept as sequence headers; the HEVC record is parsed', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = hub.publish(KEY, publisher(), settings());
  // ExVideoTagHeader: IsExHeader | FrameType key (1) << 4 | PacketType SequenceStart (0), FourCC
  const hvcc = Buffer.alloc(23);
  hvcc[0] = 1;
  hvcc[1] = 1; // general_profile_idc Main
  hvcc[12] = 93; // level 3.1
  const seqStart = Buffer.concat([Buffer.from([0x90]), Buffer.from('hvc1'), hvcc]);
  src.feed({ type: MessageType.Video, timestamp: 0, streamId: 1, payload: seqStart });
  const codedKey = Buffer.concat([Buffer.from([0x91]), Buffer.from('hvc1'), Buffer.from([0, 0, 0, 1, 2, 3])]);
  src.feed({ type: MessageType.Video, timestamp: 0, streamId: 1, payload: codedKey });
  const sink = fakeSink('p');
  hub.play(KEY, sink, settings());
  m.runTicks();
  const got = sink.payloads();
  assert.strictEqual(got[0], seqStart);
  assert.strictEqual(got[1], codedKey, 'the coded keyframe starts the GOP');
  const v = hub.streams()[0].video;
  assert.deepStrictEqual({ codec: v.codec, profile: v.profile, level: v.level }, { codec: 'HEVC', profile: 'Main', level: '3.1' });
  // AV1 replaces it on a new publish
  const av1 = Buffer.concat([Buffer.from([0x90]), Buffer.from('av01'), Buffer.from([0x81, 0, 0, 0])]);
  src.feed({ type: MessageType.Video, timestamp: 40, streamId: 1, payload: av1 });
  const late = fakeSink('late');
  hub.play(KEY, late, settings());
  m.runTicks();
  assert.strictEqual(late.payloads()[0], av1);
  assert.strictEqual(hub.streams()[0].video.codec, 'AV1');
});

test('stripSetDataFrame: a view past the wrapper; other data messages pass as they are', () => {
  const md = metadata().payload;
  const s = stripSetDataFrame(md);
  assert.strictEqual(s.metadata, true);
  assert.strictEqual(s.payload.buffer, md.buffer, 'no copy');
  assert.strictEqual(s.payload.toString('latin1', 3, 13), 'onMetaData');
  const plain = stripSetDataFrame(md.subarray(16));
  assert.strictEqual(plain.metadata, true);
  assert.strictEqual(plain.payload.length, md.length - 16);
  const text = Buffer.from('02000a6f6e546578744461746105', 'hex');
  assert.deepStrictEqual(stripSetDataFrame(text), { payload: text, metadata: false });
});

test('snapshot in SRS shape: codec, profile, level, size, audio, bytes, clients', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = startStream(hub);
  hub.play(KEY, fakeSink('p1'), settings());
  hub.play(KEY, fakeSink('f1', { kind: 'flv' }), settings());
  src.feed(video(0, { key: true }));
  m.runTicks();
  const [s] = hub.streams();
  assert.match(s.id, /^vid-[0-9a-z]{7}$/);
  assert.strictEqual(s.name, 'test');
  assert.strictEqual(s.app, 'live');
  assert.strictEqual(s.url, '/live/test');
  assert.strictEqual(s.clients, 3);
  assert.strictEqual(s.frames, 1);
  assert.deepStrictEqual(s.publish, { active: true, cid: 'pub1' });
  assert.strictEqual(s.video.codec, 'H264');
  assert.strictEqual(s.video.profile, 'High');
  assert.deepStrictEqual(s.audio, { codec: 'AAC', sample_rate: 44100, channel: 2, profile: 'LC' });
  assert.ok(s.recv_bytes > 0 && s.send_bytes > s.recv_bytes, 'two players were sent more than was received');
  assert.deepStrictEqual(Object.keys(s.kbps), ['recv_30s', 'send_30s']);
  assert.deepStrictEqual(hub.stream(s.id), s);
  const types = hub.clients().map((c) => [c.id, c.type, c.publish, c.stream === s.id]);
  assert.deepStrictEqual(types, [['pub1', 'fmle-publish', true, true], ['p1', 'rtmp-play', false, true], ['f1', 'flv-play', false, true]]);
  assert.strictEqual(hub.vhosts()[0].id, s.vhost);
  assert.strictEqual(AVC_CONFIG[1], 100);
});

test('kick and drainAll', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const pub = publisher();
  const src = startStream(hub, pub);
  const a = fakeSink('a');
  const b = fakeSink('b');
  hub.play(KEY, a, settings());
  hub.play(KEY, b, settings());
  assert.strictEqual(hub.kick('a'), true);
  assert.strictEqual(a.closedWith, 'kicked');
  assert.strictEqual(hub.kick('nobody'), false);
  assert.strictEqual(hub.kick('pub1'), true);
  assert.deepStrictEqual(pub.kicked, ['kicked']);
  src.feed(video(0, { key: true }));
  hub.drainAll('gracefully quit');
  // b got what was queued (headers + keyframe) before it was told the stream ends
  assert.deepStrictEqual(kinds(b), ['meta', 'vsh', 'ash', 'key']);
  assert.deepStrictEqual(b.events, ['unpublished', 'close:gracefully quit']);
  assert.deepStrictEqual(pub.kicked, ['kicked', 'gracefully quit']);
  assert.strictEqual(hub.counters().players, 0);
});
