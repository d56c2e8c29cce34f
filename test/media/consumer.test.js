'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { StreamHub } = require('../../dist/media/hub');
const { video, audio, fakeSink, manual, settings, publisher } = require('./support');

const KEY = { vhost: '__defaultVhost__', app: 'live', stream: 'load' };

/** 25 fps video with a keyframe every 2 s and audio every 23 ms, `seconds` long, ~1 Mbit/s. */
function* stream(seconds, start = 0) {
  for (let t = start; t < start + seconds * 1000; t += 40) {
    yield video(t, { key: t % 2000 === 0, size: t % 2000 === 0 ? 20_000 : 4_000 });
    yield audio(t + 10, { size: 200 });
  }
}

test('one stuck player stays within its queue bound, is closed and counted, while 10 others get every frame', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const bound = 512 * 1024;
  const st = settings({ queueMaxBytes: bound, queueLengthMs: 10_000 });
  const src = hub.publish(KEY, publisher(), st);
  src.feed(video(0, { sh: true }));
  src.feed(audio(0, { sh: true }));
  const stuck = fakeSink('stuck', { writable: false });
  const stuckConsumer = hub.play(KEY, stuck, st);
  const others = [];
  for (let i = 0; i < 10; i++) {
    const s = fakeSink(`p${i}`);
    hub.play(KEY, s, st);
    others.push(s);
  }
  let fed = 0;
  let maxQueued = 0;
  for (const msg of stream(60)) {
    src.feed(msg);
    fed++;
    m.advance(msg.type === 9 ? 30 : 10);
    if (fed % 10 === 0) m.runTicks();
    if (!stuck.closedWith) maxQueued = Math.max(maxQueued, stuckConsumer.queuedBytes);
  }
  m.runTicks();
  assert.ok(maxQueued <= bound, `the stuck player's queue reached ${maxQueued} bytes, over its bound ${bound}`);
  assert.strictEqual(stuck.closedWith, 'fell behind');
  assert.strictEqual(stuck.batches.length, 1, 'after the transport pushed back, nothing more was written to it');
  const c = hub.counters();
  assert.strictEqual(c.playersDroppedBehind, 1);
  assert.strictEqual(c.players, 10);
  for (const s of others) {
    assert.strictEqual(s.payloads().length, fed + 2, `${s.cid} received every message`);
    assert.strictEqual(s.closedWith, null);
  }
});

test('a player that cannot keep up skips to the next keyframe, keeping the sequence headers', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const st = settings({ queueLengthMs: 3_000 });
  const src = hub.publish(KEY, publisher(), st);
  src.feed(video(0, { sh: true }));
  src.feed(audio(0, { sh: true }));
  const slow = fakeSink('slow', { writable: false });
  const consumer = hub.play(KEY, slow, st);
  m.runTicks(); // writes the headers, then the transport pushes back
  const it = stream(5);
  // 3.5 s of media while blocked: more than queue_length
  for (let i = 0; i < 175; i++) src.feed(it.next().value);
  assert.ok(hub.counters().messagesDropped > 0, 'messages were dropped');
  slow.writable = true;
  consumer.drained();
  const written = slow.batches.slice(1).flat().filter((_, i) => i % 2 === 1);
  // the queue restarts at a keyframe (video 2000 ms); the headers it kept come first
  const firstVideo = written.find((p) => p[0] === 0x17 || p[0] === 0x27);
  assert.strictEqual(firstVideo[0], 0x17, 'after a drop the first video is a keyframe (or its sequence header)');
  assert.strictEqual(slow.closedWith, null, 'one overflow does not close a player');
});

test('mw_latency 0: messages of one tick go in one write on the next tick, at most 128 (SRS_PERF_MW_MSGS) per write', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const st = settings({ mwLatencyMs: 0 });
  const src = hub.publish(KEY, publisher(), st);
  const sink = fakeSink('p');
  hub.play(KEY, sink, st);
  for (let i = 0; i < 5; i++) src.feed(audio(i * 23));
  assert.strictEqual(sink.batches.length, 0, 'nothing is written inside the publisher\'s turn');
  m.runTicks();
  assert.strictEqual(sink.batches.length, 1, 'five messages, one writev');
  assert.strictEqual(sink.batches[0].length, 10);
  for (let i = 0; i < 300; i++) src.feed(audio(200 + i * 23));
  m.runTicks();
  assert.deepStrictEqual(sink.batches.slice(1).map((b) => b.length / 2), [128, 128, 44]);
});

test('merged write (SRS\'s mw_latency 350, mw_msgs 8): the start-up batch at once, then one write once the held messages span more than 350 ms', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const st = settings({ mwLatencyMs: 350, mwMsgs: 8 });
  const src = hub.publish(KEY, publisher(), st);
  src.feed(video(0, { sh: true }));
  src.feed(video(0, { key: true }));
  const sink = fakeSink('p');
  hub.play(KEY, sink, st);
  m.runTicks();
  assert.strictEqual(sink.batches.length, 1, 'the sequence header and GOP went out at once');
  // 25 fps + audio, fed faster than real time (so the span decides, not the wall clock): nothing
  // leaves until the queue spans more than 350 ms
  let t = 40;
  const feedTo = (end) => {
    for (; t <= end; t += 20) {
      src.feed(t % 40 === 0 ? video(t) : audio(t));
      m.advance(10);
      m.runTicks();
    }
  };
  feedTo(380);
  assert.strictEqual(sink.batches.length, 1, 'held: the queue spans 340 ms');
  feedTo(400);
  assert.strictEqual(sink.batches.length, 2, 'written once the span passed 350 ms');
  assert.strictEqual(sink.batches[1].length / 2, 19, 'every held message in that one write');
  assert.strictEqual(sink.payloads().length, 2 + 19);
});

test('merged write: a stream that stalls does not strand what is held; an unpublish writes it before the player hears it', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const st = settings({ mwLatencyMs: 350, mwMsgs: 8 });
  const src = hub.publish(KEY, publisher(), st);
  src.feed(video(0, { key: true }));
  const sink = fakeSink('p');
  hub.play(KEY, sink, st);
  m.runTicks();
  src.feed(audio(23));
  src.feed(audio(46));
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 1, 'two messages held');
  m.advance(349);
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 1, 'still held 349 ms after they came');
  m.advance(60);
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 3, 'written by the wall clock, within the sweep period after 350 ms');
  src.feed(audio(69));
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 3);
  src.unpublish();
  assert.strictEqual(sink.payloads().length, 4, 'the held message was written');
  assert.deepStrictEqual(sink.events, ['unpublished']);
});

test('back-pressure: a player waits for drained() and then gets what queued, in order', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = hub.publish(KEY, publisher(), settings());
  const sink = fakeSink('p', { writable: false });
  const c = hub.play(KEY, sink, settings());
  src.feed(audio(0));
  m.runTicks();
  src.feed(audio(23));
  src.feed(audio(46));
  m.runTicks();
  assert.strictEqual(sink.batches.length, 1);
  sink.writable = true;
  c.drained();
  assert.strictEqual(sink.batches.length, 2);
  assert.strictEqual(sink.payloads().length, 3);
});

test('pause stops sending; resume starts at a keyframe', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = hub.publish(KEY, publisher(), settings());
  src.feed(video(0, { sh: true }));
  const sink = fakeSink('p');
  const c = hub.play(KEY, sink, settings());
  m.runTicks();
  c.pause(true);
  src.feed(video(0, { key: true }));
  src.feed(video(40));
  src.feed(video(80, { key: true }));
  src.feed(video(120));
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 1, 'paused: only the sequence header was written');
  c.pause(false);
  m.runTicks();
  const p = sink.payloads();
  assert.deepStrictEqual(p.slice(1).map((x) => x[0]), [0x17, 0x27], 'resumed from the latest keyframe');
  assert.strictEqual(p[1].readUInt8(5), 80 & 0xff);
});

test('a transport that throws ends only its own player', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const src = hub.publish(KEY, publisher(), settings());
  const bad = fakeSink('bad');
  bad.writev = () => {
    throw new Error('EPIPE');
  };
  const good = fakeSink('good');
  hub.play(KEY, bad, settings());
  hub.play(KEY, good, settings());
  src.feed(audio(0));
  assert.doesNotThrow(() => m.runTicks());
  assert.strictEqual(bad.closedWith, 'write failed');
  src.feed(audio(23));
  m.runTicks();
  assert.strictEqual(good.payloads().length, 2);
  assert.strictEqual(hub.counters().players, 1);
});

test('a stream older than queue_length: a late player gets the sequence headers (sent at time 0) and the GOP, and the queue bound ends', () => {
  // The headers keep the time they were published. Measured from them, every queue of a stream
  // older than queue_length was "too long" and the shrink never found anything to drop: the
  // server spun forever on a late player's attach (found by bench/media.js at 30 s of stream).
  const m = manual();
  const hub = new StreamHub(m);
  const st = settings({ queueLengthMs: 3_000 });
  const src = hub.publish(KEY, publisher(), st);
  src.feed(video(0, { sh: true }));
  src.feed(audio(0, { sh: true }));
  for (const msg of stream(10)) src.feed(msg);
  const late = fakeSink('late', { writable: false });
  const c = hub.play(KEY, late, st);
  // the attach returned (no endless shrink); what is queued is the headers and the last GOP
  assert.ok(c.queuedBytes > 0);
  for (const msg of stream(10, 10_000)) {
    src.feed(msg);
    m.advance(msg.type === 9 ? 30 : 10);
  }
  m.runTicks();
  assert.ok(late.closedWith === 'fell behind' || c.queuedBytes <= 3 * 1024 * 1024, 'the blocked player was bounded');
});

test('merged write: after a republish, the new start-up batch goes at once, not after mw_latency', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const st = settings({ mwLatencyMs: 350, mwMsgs: 8 });
  const sink = fakeSink('p');
  hub.play(KEY, sink, st);
  let src = hub.publish(KEY, publisher(), st);
  src.feed(video(0, { sh: true }));
  src.feed(video(0, { key: true }));
  m.runTicks();
  assert.strictEqual(sink.batches.length, 1);
  src.feed(audio(23));
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 2, 'merged: held');
  src.unpublish();
  assert.strictEqual(sink.payloads().length, 3, 'written before unpublished()');
  src = hub.publish(KEY, publisher('pub2'), st);
  src.feed(video(0, { sh: true }));
  m.runTicks();
  assert.strictEqual(sink.payloads().length, 4, 'the new publish\'s sequence header went at once');
});
