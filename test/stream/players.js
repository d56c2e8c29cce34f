'use strict';
// Players for the lifecycle-with-streams tests: the lean RTMP and HTTP-FLV clients of
// test/helpers/rtmp-load.js, plus what these tests assert on: every video message's RTMP
// timestamp (ms) in arrival order, the status events, and how the connection ended (a clean end:
// FIN after the last byte, no reset, no error).
const { rtmpPlayer, flvPlayer, ChunkCounter } = require('../helpers/rtmp-load');

// The lean client counts video messages; these tests also need their timestamps. One hook on the
// shared parser, which sees each message's timestamp as the chunk headers gave it.
if (!ChunkCounter.prototype.srsTimestamps) {
  const endMessage = ChunkCounter.prototype.endMessage;
  ChunkCounter.prototype.endMessage = function () {
    if (this.cur && this.cur.type === 9) (this.videoTs ??= []).push(this.cur.timestamp);
    return endMessage.call(this);
  };
  ChunkCounter.prototype.srsTimestamps = true;
}

/** A lean RTMP player of rtmp://127.0.0.1:port/app/stream, with its end recorded. */
async function rtmp(port, app, stream) {
  const p = await rtmpPlayer({ port, app, stream });
  const end = { fin: false, error: null, closed: false };
  p.socket.on('end', () => (end.fin = true));
  p.socket.on('error', (e) => (end.error = e.code ?? e.message));
  p.socket.on('close', () => (end.closed = true));
  return {
    kind: 'rtmp',
    ...p,
    end,
    timestamps: () => p.counter.videoTs ?? [],
    /** ended by the server cleanly: FIN, no reset */
    get cleanEnd() {
      return end.closed && end.fin && end.error === null;
    },
    close: () => p.socket.destroy(),
  };
}

/** A lean HTTP-FLV player of http://127.0.0.1:port/path; `complete` when the response ended with its final chunk. */
async function flv(port, path) {
  const p = await flvPlayer({ port, path });
  const res = p.req.res;
  const end = { complete: false, aborted: false, error: null, closed: false };
  res.on('end', () => (end.complete = true));
  res.on('aborted', () => (end.aborted = true));
  res.on('error', (e) => (end.error = e.code ?? e.message));
  res.on('close', () => (end.closed = true));
  return {
    kind: 'flv',
    ...p,
    end,
    get cleanEnd() {
      return end.closed && end.complete && !end.aborted && end.error === null;
    },
    close: () => p.req.destroy(),
  };
}

/**
 * The largest gap (ms) between two consecutive video timestamps, and where; negative steps
 * (timestamps going back) are reported as gaps too.
 */
function largestGap(ts) {
  let worst = { gap: 0, at: -1, from: null, to: null };
  for (let i = 1; i < ts.length; i++) {
    const d = ts[i] - ts[i - 1];
    const g = d < 0 ? Infinity : d;
    if (g > worst.gap) worst = { gap: g, at: i, from: ts[i - 1], to: ts[i] };
  }
  return worst;
}

module.exports = { rtmp, flv, largestGap };
