'use strict';
// A lean RTMP client for bench/media.js and the stream tests: one synthetic publisher and many players in one
// process. It is deliberately independent of src/ (it measures srs and node-media-server alike, and
// must not share a bug with the server it measures). Players parse chunk headers only, never copy
// payloads, and read one marker per video message: the publisher's send time, so the relay delay
// is measured on one clock.
const net = require('node:net');
const http = require('node:http');
const { performance } = require('node:perf_hooks');

// ---------------------------------------------------------------------------------------------
// AMF0, just what commands need.
function amfString(s) {
  const b = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(3);
  h[0] = 0x02;
  h.writeUInt16BE(b.length, 1);
  return Buffer.concat([h, b]);
}
function amfNumber(n) {
  const b = Buffer.alloc(9);
  b[0] = 0x00;
  b.writeDoubleBE(n, 1);
  return b;
}
const amfNull = () => Buffer.from([0x05]);
function amfObject(o) {
  const parts = [Buffer.from([0x03])];
  for (const [k, v] of Object.entries(o)) {
    const kb = Buffer.from(k, 'utf8');
    const kh = Buffer.alloc(2);
    kh.writeUInt16BE(kb.length);
    parts.push(kh, kb, typeof v === 'number' ? amfNumber(v) : typeof v === 'boolean' ? Buffer.from([0x01, v ? 1 : 0]) : amfString(String(v)));
  }
  parts.push(Buffer.from([0, 0, 0x09]));
  return Buffer.concat(parts);
}
function amfEcma(o) {
  const obj = amfObject(o);
  const h = Buffer.alloc(5);
  h[0] = 0x08;
  h.writeUInt32BE(Object.keys(o).length, 1);
  return Buffer.concat([h, obj.subarray(1)]);
}

// ---------------------------------------------------------------------------------------------
// Chunk writing: a format-0 header per message, format-3 continuations.
function chunk(csid, type, streamId, timestamp, payload, chunkSize) {
  const out = [];
  const h = Buffer.alloc(12);
  h[0] = csid;
  h.writeUIntBE(Math.min(timestamp, 0xffffff), 1, 3);
  h.writeUIntBE(payload.length, 4, 3);
  h[7] = type;
  h.writeUInt32LE(streamId, 8);
  out.push(h);
  for (let at = 0; at < payload.length; at += chunkSize) {
    if (at > 0) out.push(Buffer.from([0xc0 | csid]));
    out.push(payload.subarray(at, Math.min(payload.length, at + chunkSize)));
  }
  return Buffer.concat(out);
}

function handshake(socket) {
  return new Promise((resolve, reject) => {
    const c1 = Buffer.alloc(1536);
    c1.writeUInt32BE(0, 0);
    socket.write(Buffer.concat([Buffer.from([3]), c1]));
    let got = Buffer.alloc(0);
    const onData = (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 3073) {
        socket.removeListener('data', onData);
        socket.removeListener('error', reject);
        socket.write(got.subarray(1, 1537));
        resolve(got.subarray(3073));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

function connectCommand(app, tcUrl, chunkSize) {
  const payload = Buffer.concat([amfString('connect'), amfNumber(1), amfObject({ app, type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl })]);
  return chunk(3, 20, 0, 0, payload, chunkSize);
}

// ---------------------------------------------------------------------------------------------
// The player: chunk headers parsed, payload bytes counted, a 16-byte marker read per video message.
const MARKER_AT = 5 + 4;
const SHARED_READ = Buffer.alloc(256 * 1024); // FLV AVC video: 1 frame/codec byte, 1 packet type, 3 cts, then a NALU length

class ChunkCounter {
  constructor(onVideoMarker) {
    this.chunkSize = 128;
    this.streams = new Map(); // csid -> {type, length, timestamp, left, fmt0seen}
    this.state = 0; // 0 basic header, 1 message header, 2 payload
    this.hdr = Buffer.alloc(18);
    this.hdrLen = 0;
    this.hdrNeed = 1;
    this.cur = null;
    this.chunkLeft = 0;
    this.mediaBytes = 0;
    this.videoMessages = 0;
    this.onVideoMarker = onVideoMarker;
    this.marker = Buffer.alloc(16);
    this.ctl = null; // buffered control message (set chunk size) or command (status events)
    this.statuses = [];
    this.lastSeq = null;
    this.lost = 0;
  }

  feed(b) {
    let i = 0;
    while (i < b.length) {
      if (this.state === 2) {
        const n = Math.min(this.chunkLeft, b.length - i);
        this.payload(b, i, n);
        i += n;
        this.chunkLeft -= n;
        if (this.chunkLeft === 0) {
          if (this.cur.left === 0) this.endMessage();
          this.state = 0;
          this.hdrLen = 0;
          this.hdrNeed = 1;
        }
        continue;
      }
      this.hdr[this.hdrLen++] = b[i++];
      if (this.hdrLen < this.hdrNeed) continue;
      this.header();
    }
  }

  header() {
    const fmt = this.hdr[0] >> 6;
    let csid = this.hdr[0] & 0x3f;
    const basic = csid === 0 ? 2 : csid === 1 ? 3 : 1;
    const msgLen = [11, 7, 3, 0][fmt];
    if (this.hdrLen < basic + msgLen) {
      this.hdrNeed = basic + msgLen;
      return;
    }
    if (csid === 0) csid = 64 + this.hdr[1];
    else if (csid === 1) csid = 64 + this.hdr[1] + this.hdr[2] * 256;
    let s = this.streams.get(csid);
    if (!s) this.streams.set(csid, (s = { type: 0, length: 0, timestamp: 0, left: 0, ext: false }));
    const o = basic;
    if (fmt <= 2) {
      const ts = this.hdr.readUIntBE(o, 3);
      s.ext = ts === 0xffffff;
      if (fmt === 0) s.timestamp = ts;
      else s.timestamp += ts;
    }
    if (fmt <= 1) {
      s.length = this.hdr.readUIntBE(o + 3, 3);
      s.type = this.hdr[o + 6];
    }
    if (s.ext && this.hdrLen < basic + msgLen + 4) {
      this.hdrNeed = basic + msgLen + 4;
      return;
    }
    if (s.left === 0) {
      s.left = s.length;
      s.got = 0;
    }
    this.cur = s;
    this.chunkLeft = Math.min(this.chunkSize, s.left);
    this.state = this.chunkLeft === 0 ? 0 : 2;
    this.hdrLen = 0;
    this.hdrNeed = 1;
    if (this.chunkLeft === 0) this.endMessage();
  }

  payload(b, i, n) {
    const s = this.cur;
    if (s.type === 8 || s.type === 9) this.mediaBytes += n;
    if (s.type === 9) {
      // copy the marker bytes that fall in this run
      const from = Math.max(s.got, MARKER_AT);
      const to = Math.min(s.got + n, MARKER_AT + 16);
      if (from < to) b.copy(this.marker, from - MARKER_AT, i + (from - s.got), i + (to - s.got));
    } else if (s.type === 1 || (s.type === 20 && s.length <= 4096)) {
      this.ctl = Buffer.concat([this.ctl ?? Buffer.alloc(0), b.subarray(i, i + n)]);
    }
    s.got += n;
    s.left -= n;
  }

  endMessage() {
    const s = this.cur;
    if (s.type === 9) {
      this.videoMessages++;
      if (this.firstFrameAt === undefined) this.firstFrameAt = performance.now();
      if (s.length >= MARKER_AT + 16 && this.marker.readUInt32BE(0) === 0x5352534d) {
        const seq = this.marker.readUInt32BE(4);
        // frames lost: a gap in the publisher's sequence numbers (a repeat after a GOP-cache
        // start or a resume is not a loss)
        if (this.lastSeq !== null && seq > this.lastSeq + 1) this.lost += seq - this.lastSeq - 1;
        this.lastSeq = seq;
        this.onVideoMarker(this.marker.readDoubleBE(8), seq);
      }
    } else if (s.type === 1 && this.ctl) {
      this.chunkSize = this.ctl.readUInt32BE(0) & 0x7fffffff;
      this.ctl = null;
    } else if (s.type === 20 && this.ctl) {
      // status events (NetStream.Play.Start, ...UnpublishNotify) in the order they came
      for (const m of this.ctl.toString('latin1').matchAll(/NetStream\.[A-Za-z.]+|NetConnection\.[A-Za-z.]+/g)) this.statuses.push(m[0]);
      this.ctl = null;
    }
    s.left = 0;
  }
}

/**
 * One RTMP player. `stats` gets {bytes, frames}; delays (ms) go to `delays` when sampling.
 * @returns {Promise<{socket: net.Socket, counter: ChunkCounter}>}
 */
async function rtmpPlayer({ port, app, stream, delays, stuck = false, host = '127.0.0.1', tcUrl: tcUrlIn, localAddress }) {
  // frames sent before this player asked to play come from the GOP cache: not a relay delay
  const joined = performance.now();
  const counter = new ChunkCounter((sent) => delays && sent >= joined && delays.push(performance.now() - sent));
  let handshaking = null;
  // onread with one buffer shared by every player: no allocation per read (the load client must
  // stay lean to measure 2,000 players from one process); data is parsed before the next read
  const socket = net.connect({
    host,
    port,
    localAddress,
    onread: {
      buffer: SHARED_READ,
      callback: (n, buf) => {
        if (handshaking) handshaking(Buffer.from(buf.subarray(0, n)));
        else counter.feed(buf.subarray(0, n));
      },
    },
  });
  socket.setNoDelay(true);
  await new Promise((r, j) => socket.once('connect', r).once('error', j));
  socket.on('error', () => {});
  const rest = await new Promise((resolve) => {
    let got = Buffer.alloc(0);
    handshaking = (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 3073) {
        handshaking = null;
        socket.write(got.subarray(1, 1537));
        resolve(got.subarray(3073));
      }
    };
    socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)]));
  });
  if (rest.length) counter.feed(rest);
  const tcUrl = tcUrlIn ?? `rtmp://127.0.0.1:${port}/${app}`;
  const closed = new Promise((r) => socket.once('close', r));
  socket.write(connectCommand(app, tcUrl, 128));
  socket.write(chunk(3, 20, 0, 0, Buffer.concat([amfString('createStream'), amfNumber(2), amfNull()]), 128));
  socket.write(chunk(8, 20, 1, 0, Buffer.concat([amfString('play'), amfNumber(0), amfNull(), amfString(stream), amfNumber(-1000)]), 128));
  // Set Buffer Length (user control 3) for stream 1, 1000 ms, as ffplay does
  const ub = Buffer.alloc(10);
  ub.writeUInt16BE(3, 0);
  ub.writeUInt32BE(1, 2);
  ub.writeUInt32BE(1000, 6);
  socket.write(chunk(2, 4, 0, 0, ub, 128));
  // a stuck viewer: asks to play, then never reads again
  if (stuck) socket.pause();
  return { socket, counter, closed, statuses: counter.statuses, bytes: () => counter.mediaBytes, frames: () => counter.videoMessages, lost: () => counter.lost, firstFrameAt: () => counter.firstFrameAt ?? null };
}

/** One HTTP-FLV player: counts body bytes, reads the marker from each video tag. */
function flvPlayer({ port, path, delays }) {
  const joined = performance.now();
  return new Promise((resolve, reject) => {
    const state = { bytes: 0, frames: 0, buf: null };
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP-FLV ${path}: status ${res.statusCode}`));
      // FLV: a 9-byte header + 4, then tags of 11 + size + 4. Parse tag headers only.
      let skip = 13;
      let tagHdr = Buffer.alloc(0);
      let inTag = 0;
      let tagType = 0;
      let tagGot = 0;
      const marker = Buffer.alloc(16);
      res.on('data', (d) => {
        let i = 0;
        while (i < d.length) {
          if (skip > 0) {
            const n = Math.min(skip, d.length - i);
            skip -= n;
            i += n;
            continue;
          }
          if (inTag === 0) {
            const need = 11 - tagHdr.length;
            const take = d.subarray(i, i + need);
            tagHdr = tagHdr.length ? Buffer.concat([tagHdr, take]) : Buffer.from(take);
            i += take.length;
            if (tagHdr.length < 11) continue;
            tagType = tagHdr[0] & 0x1f;
            inTag = tagHdr.readUIntBE(1, 3);
            tagGot = 0;
            tagHdr = Buffer.alloc(0);
            if (inTag === 0) skip = 4;
            continue;
          }
          const n = Math.min(inTag, d.length - i);
          if (tagType === 8 || tagType === 9) state.bytes += n;
          if (tagType === 9) {
            const from = Math.max(tagGot, MARKER_AT);
            const to = Math.min(tagGot + n, MARKER_AT + 16);
            if (from < to) d.copy(marker, from - MARKER_AT, i + (from - tagGot), i + (to - tagGot));
          }
          tagGot += n;
          inTag -= n;
          i += n;
          if (inTag === 0) {
            if (tagType === 9) {
              state.frames++;
              if (tagGot >= MARKER_AT + 16 && marker.readUInt32BE(0) === 0x5352534d && delays && marker.readDoubleBE(8) >= joined) delays.push(performance.now() - marker.readDoubleBE(8));
            }
            skip = 4;
          }
        }
      });
      res.on('error', () => {});
      resolve({ socket: req.socket, req, bytes: () => state.bytes, frames: () => state.frames });
    });
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The publisher: real H.264/AAC sequence headers (640x360 baseline, AAC-LC 44.1 kHz stereo), then
// synthetic frames at 25 fps video + 43 fps audio: ~1 Mbit/s. Every video frame carries the marker
// "SRSM", a sequence number and performance.now() at the moment it is written.
const SPS = Buffer.from('6742c01ed900a02ff97011000003000100000300320f162e48', 'hex');
const PPS = Buffer.from('68cb83cb20', 'hex');

function avcSequenceHeader() {
  const rec = Buffer.concat([
    Buffer.from([1, SPS[1], SPS[2], SPS[3], 0xff, 0xe1]),
    Buffer.from([SPS.length >> 8, SPS.length & 0xff]),
    SPS,
    Buffer.from([1, PPS.length >> 8, PPS.length & 0xff]),
    PPS,
  ]);
  return Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), rec]);
}

async function rtmpPublisher({ port, app, stream, kbps = 1000, fps = 25, gopFrames = 50, localAddress }) {
  const chunkSize = 60000;
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.setNoDelay(true);
  await new Promise((r, j) => socket.once('connect', r).once('error', j));
  const rest = await handshake(socket);
  const counter = new ChunkCounter(() => {});
  if (rest.length) counter.feed(rest);
  socket.on('data', (d) => counter.feed(d));
  socket.on('error', () => {});
  const closed = new Promise((r) => socket.once('close', r));
  const scs = Buffer.alloc(4);
  scs.writeUInt32BE(chunkSize);
  socket.write(chunk(2, 1, 0, 0, scs, 128));
  const tcUrl = `rtmp://127.0.0.1:${port}/${app}`;
  socket.write(connectCommand(app, tcUrl, chunkSize));
  socket.write(chunk(3, 20, 0, 0, Buffer.concat([amfString('releaseStream'), amfNumber(2), amfNull(), amfString(stream)]), chunkSize));
  socket.write(chunk(3, 20, 0, 0, Buffer.concat([amfString('FCPublish'), amfNumber(3), amfNull(), amfString(stream)]), chunkSize));
  socket.write(chunk(3, 20, 0, 0, Buffer.concat([amfString('createStream'), amfNumber(4), amfNull()]), chunkSize));
  socket.write(chunk(4, 20, 1, 0, Buffer.concat([amfString('publish'), amfNumber(5), amfNull(), amfString(stream), amfString('live')]), chunkSize));
  const meta = Buffer.concat([amfString('@setDataFrame'), amfString('onMetaData'), amfEcma({ width: 640, height: 360, framerate: fps, videocodecid: 7, audiocodecid: 10, audiosamplerate: 44100, audiochannels: 2, videodatarate: kbps })]);
  socket.write(chunk(4, 18, 1, 0, meta, chunkSize));
  socket.write(chunk(6, 9, 1, 0, avcSequenceHeader(), chunkSize));
  socket.write(chunk(4, 8, 1, 0, Buffer.from([0xaf, 0x00, 0x12, 0x10]), chunkSize));
  const audioPerSec = 44100 / 1024;
  const audioBytes = 186;
  const videoBytes = Math.max(64, Math.round((kbps * 1000) / 8 / fps - (audioPerSec * audioBytes) / fps));
  const t0 = performance.now();
  let vSent = 0;
  let aSent = 0;
  let stopped = false;
  let sentBytes = 0;
  const tick = () => {
    if (stopped) return;
    const elapsed = performance.now() - t0;
    while ((vSent * 1000) / fps <= elapsed) {
      const key = vSent % gopFrames === 0;
      const p = Buffer.alloc(videoBytes);
      p[0] = key ? 0x17 : 0x27;
      p[1] = 1;
      p.writeUInt32BE(videoBytes - 9, 5);
      p.writeUInt32BE(0x5352534d, MARKER_AT);
      p.writeUInt32BE(vSent, MARKER_AT + 4);
      p[MARKER_AT + 16] = key ? 0x65 : 0x41; // the NALU type after the marker bytes
      p.writeDoubleBE(performance.now(), MARKER_AT + 8);
      socket.write(chunk(6, 9, 1, Math.round((vSent * 1000) / fps), p, chunkSize));
      sentBytes += p.length;
      vSent++;
    }
    while ((aSent * 1000) / audioPerSec <= elapsed) {
      const p = Buffer.alloc(audioBytes);
      p[0] = 0xaf;
      p[1] = 1;
      socket.write(chunk(4, 8, 1, Math.round((aSent * 1000) / audioPerSec), p, chunkSize));
      sentBytes += p.length;
      aSent++;
    }
    timer = setTimeout(tick, 5);
  };
  let timer = setTimeout(tick, 0);
  return {
    socket,
    closed,
    statuses: counter.statuses,
    sentBytes: () => sentBytes,
    frames: () => vSent,
    stop() {
      stopped = true;
      clearTimeout(timer);
      socket.destroy();
    },
  };
}

module.exports = { rtmpPlayer, flvPlayer, rtmpPublisher, ChunkCounter };
