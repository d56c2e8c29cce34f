'use strict';
// time_jitter (SRS's SrsRtmpJitter::correct), applied once per stream as messages enter the source.
const test = require('node:test');
const assert = require('node:assert');
const fc = require('fast-check');
const { TimestampJitter, MAX_JITTER_MS, JUMP_STEP_MS } = require('../../dist/media/jitter');
const { StreamHub } = require('../../dist/media/hub');
const { video, audio, metadata, fakeSink, manual, settings, publisher } = require('./support');

test('full: steps within ±250 ms are kept (audio/video interleave included); a jump becomes 10 ms; never below 0', () => {
  const j = new TimestampJitter();
  const out = (ts, av = true) => j.correct(ts, av, 'full');
  assert.deepStrictEqual([0, 40, 23, 80, 66].map((t) => out(t)), [0, 40, 23, 80, 66]);
  assert.strictEqual(out(1000), 76, 'a step over 250 ms is a jump');
  // a new publisher restarting at 0: one 10 ms step, then its own steps
  j.restart();
  assert.deepStrictEqual([0, 40, 80].map((t) => out(t)), [86, 126, 166]);
  // a jump forward (an encoder's clock reset), and a wrap at 2^32 ms
  assert.strictEqual(out(3_600_000), 176);
  assert.strictEqual(out(3_600_040), 216);
  assert.strictEqual(out(0xffffffff), 226);
  assert.strictEqual(out(30), 257, 'the wrap is a 31 ms step');
  // data messages (metadata) take the current time instead of going back to 0
  assert.strictEqual(out(999_999, false), 257);
  // a stream that starts late is rebased near 0, as SRS does (first step from 0 is a jump)
  const late = new TimestampJitter();
  assert.deepStrictEqual([5000, 5040].map((t) => late.correct(t, true, 'full')), [9, 49]);
});

test('zero: each publish starts at 0; off: as sent', () => {
  const j = new TimestampJitter();
  assert.deepStrictEqual([1000, 1040, 1023].map((t) => j.correct(t, true, 'zero')), [0, 40, 23]);
  j.restart();
  assert.deepStrictEqual([500, 540].map((t) => j.correct(t, true, 'zero')), [0, 40]);
  assert.strictEqual(j.correct(100, true, 'zero'), 0, 'never below 0');
  // a publish whose clock wraps at 2^32 ms goes on counting
  const w = new TimestampJitter();
  assert.deepStrictEqual([0xffffff00, 0xffffffff, 20].map((t) => w.correct(t, true, 'zero')), [0, 0xff, 0x114]);
  // a reload that turns full on carries on from where zero left
  assert.strictEqual(w.correct(60, true, 'full'), 0x114 + 40);
  const off = new TimestampJitter();
  assert.deepStrictEqual([7, 0xffffffff, 3].map((t) => off.correct(t, true, 'off')), [7, 0xffffffff, 3]);
});

test('full, any input: consecutive outputs never step more than 250 ms either way, and never go below 0', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(0xffffffff), fc.boolean(), fc.boolean()), { maxLength: 200 }), (msgs) => {
      const j = new TimestampJitter();
      let prev = null;
      for (const [ts, av, restart] of msgs) {
        if (restart) j.restart();
        const t = j.correct(ts, av, 'full');
        assert.ok(t >= 0);
        if (av && prev !== null) assert.ok(Math.abs(t - prev) <= MAX_JITTER_MS, `${prev} -> ${t}`);
        if (av) prev = t;
      }
    }),
  );
  assert.strictEqual(JUMP_STEP_MS, 10);
});

/** timestamps of the FLV tags a sink received (tag header: 3 bytes of time, then 1 extended) */
function tagTimes(sink) {
  const out = [];
  for (const b of sink.batches) for (let i = 0; i < b.length; i += 3) out.push(b[i].readUIntBE(4, 3) + b[i][7] * 0x1000000);
  return out;
}

test('a player through a republish (the new publisher restarts at 0) sees timestamps carry on, 10 ms after the last', () => {
  const m = manual();
  const hub = new StreamHub(m);
  const KEY = { vhost: '__defaultVhost__', app: 'live', stream: 'jitter' };
  const st = settings({ timeJitter: 'full' });
  const sink = fakeSink('p', { kind: 'flv' });
  hub.play(KEY, sink, st);
  let src = hub.publish(KEY, publisher(), st);
  for (let t = 0; t <= 2000; t += 40) src.feed(video(t, { key: t === 0 }));
  m.runTicks();
  src.unpublish();
  src = hub.publish(KEY, publisher('pub2'), st);
  src.feed(metadata(0));
  for (let t = 0; t <= 400; t += 40) src.feed(t % 80 === 0 ? video(t, { key: t === 0 }) : audio(t));
  m.runTicks();
  const times = tagTimes(sink);
  const i = times.indexOf(2000);
  assert.ok(i > 0, `the first publish ends at 2000: ${times.join(',')}`);
  assert.deepStrictEqual(times.slice(i, i + 4), [2000, 2000, 2010, 2050], 'metadata at the last time, then the new publish 10 ms on');
  for (let k = 1; k < times.length; k++) assert.ok(times[k] >= times[k - 1], `no step back: ${times[k - 1]} -> ${times[k]}`);
});
