'use strict';
// Test support for the media hub: message builders, a recording PlayerSink, a manual scheduler and
// clock, and an FLV demuxer (FLV spec 10.1 annex E) to read what srs muxed or what ffmpeg wrote.

const { MessageType } = require('../../dist/media/message');

const AVC_CONFIG = Buffer.from('0164001effe1001967640016acd940a02ff9610000030001000003003c8f162d96010006e8ebe3cb22c0', 'hex');

function video(ts, { key = false, sh = false, size = 100 } = {}) {
  const head = Buffer.from([key || sh ? 0x17 : 0x27, sh ? 0 : 1, 0, 0, 0]);
  const body = sh ? AVC_CONFIG : Buffer.alloc(size, ts & 0xff);
  return { type: MessageType.Video, timestamp: ts, streamId: 1, payload: Buffer.concat([head, body]) };
}

function audio(ts, { sh = false, size = 20 } = {}) {
  const body = sh ? Buffer.from([0x12, 0x10]) : Buffer.alloc(size, 1);
  return { type: MessageType.Audio, timestamp: ts, streamId: 1, payload: Buffer.concat([Buffer.from([0xaf, sh ? 0 : 1]), body]) };
}

function amf0String(s) {
  const b = Buffer.alloc(3 + s.length);
  b[0] = 2;
  b.writeUInt16BE(s.length, 1);
  b.write(s, 3, 'latin1');
  return b;
}

/** @setDataFrame + onMetaData + an ECMA array {width: 640} */
function metadata(ts = 0) {
  const num = Buffer.alloc(9);
  num[0] = 0;
  num.writeDoubleBE(640, 1);
  const key = Buffer.from([0, 5, ...Buffer.from('width')]);
  const arr = Buffer.concat([Buffer.from([8, 0, 0, 0, 1]), key, num, Buffer.from([0, 0, 9])]);
  return { type: MessageType.DataAmf0, timestamp: ts, streamId: 1, payload: Buffer.concat([amf0String('@setDataFrame'), amf0String('onMetaData'), arr]) };
}

/** A PlayerSink that records every batch; `writable` decides what writev answers. */
function fakeSink(cid, { kind = 'rtmp', writable = true, chunkSize = 60000, streamId = 1 } = {}) {
  return {
    cid,
    kind,
    remote: '127.0.0.1:5000',
    chunkSize,
    streamId,
    writable,
    batches: [],
    events: [],
    closedWith: null,
    writev(bufs) {
      this.batches.push(bufs);
      return this.writable;
    },
    unpublished() {
      this.events.push('unpublished');
    },
    published() {
      this.events.push('published');
    },
    close(reason) {
      this.closedWith = reason;
      this.events.push(`close:${reason}`);
    },
    bytes() {
      return this.batches.reduce((n, b) => n + b.reduce((m, x) => m + x.length, 0), 0);
    },
    /** every payload Buffer written, in order (RTMP: single-chunk messages are [header, payload]) */
    payloads() {
      const out = [];
      for (const b of this.batches) for (let i = 1; i < b.length; i += 2) out.push(b[i]);
      return out;
    },
  };
}

/** A clock, a scheduler and timers the test advances by hand: runTicks() runs what is scheduled and every timer due by now(). */
function manual() {
  let t = 1_000_000;
  const tasks = [];
  let timers = [];
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    schedule: (fn) => tasks.push(fn),
    setTimer: (fn, ms) => timers.push({ at: t + ms, fn }),
    runTicks() {
      for (;;) {
        while (tasks.length) tasks.shift()();
        const due = timers.filter((x) => x.at <= t);
        if (due.length === 0) return;
        timers = timers.filter((x) => x.at > t);
        for (const x of due) x.fn();
      }
    },
  };
}

/** Media settings for a test; mw_latency 0 (every message written as it comes) unless a test is about the merged write. */
const settings = (over = {}) => ({ gopCache: true, queueLengthMs: 30_000, queueMaxBytes: 16 * 1024 * 1024, mwLatencyMs: 0, mwMsgs: 8, ...over });

const publisher = (cid = 'pub1') => ({ cid, remote: '127.0.0.1:4000', kicked: [], kick(r) { this.kicked.push(r); } });

/** FLV demux: {header: {audio, video}, tags: [{type, timestamp, data}]}; throws on a malformed file. */
function demuxFlv(buf) {
  if (buf.length < 13 || buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file');
  const offset = buf.readUInt32BE(5);
  const header = { audio: (buf[4] & 4) !== 0, video: (buf[4] & 1) !== 0 };
  if (buf.readUInt32BE(offset) !== 0) throw new Error('PreviousTagSize0 is not 0');
  const tags = [];
  let o = offset + 4;
  while (o + 11 <= buf.length) {
    const type = buf[o];
    const size = buf.readUIntBE(o + 1, 3);
    const timestamp = (buf.readUIntBE(o + 4, 3) | (buf[o + 7] << 24)) >>> 0;
    if (o + 11 + size + 4 > buf.length) break;
    const data = buf.subarray(o + 11, o + 11 + size);
    const prev = buf.readUInt32BE(o + 11 + size);
    if (prev !== size + 11) throw new Error(`PreviousTagSize ${prev} after a tag of ${size + 11} bytes`);
    tags.push({ type, timestamp, data });
    o += 11 + size + 4;
  }
  return { header, tags, rest: buf.length - o };
}

module.exports = { video, audio, metadata, fakeSink, manual, settings, publisher, demuxFlv, AVC_CONFIG, amf0String };
