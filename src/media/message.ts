// The RTMP message as every media layer sees it (chunk reader and writer, session, source, FLV),
// and the one framing of a message into chunks that every player of a stream shares.
// Source: Adobe RTMP specification 1.0 (sections 5.3 and 6); SRS srs_rtmp_stack.cpp
// (srs_chunk_header_c0 / c3) for the choice of a format-0 header per message.

/** RTMP message type ids (RTMP spec 5.4, 7.1). */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

/** Chunk stream ids srs sends on (SRS's RTMP_CID_*): control, commands, and media. */
export const ChunkStreamId = {
  ProtocolControl: 2,
  OverConnection: 3,
  OverStream: 5,
  Video: 6,
  Audio: 7,
} as const;

/** One complete RTMP message, reassembled from (or to be cut into) chunks. */
export interface RtmpMessage {
  /** MessageType id */
  type: number;
  /** ms, unsigned 32-bit (wraps after ~49.7 days, as the spec says) */
  timestamp: number;
  /** message stream id: 0 for the connection, the createStream result (1) for a stream */
  streamId: number;
  payload: Buffer;
}

const EXTENDED = 0xffffff;

function basicHeader(fmt: number, csid: number): Buffer {
  if (csid < 2 || csid > 65599) throw new RangeError(`chunk stream id ${csid} is outside 2..65599`);
  if (csid <= 63) return Buffer.from([(fmt << 6) | csid]);
  if (csid <= 319) return Buffer.from([fmt << 6, csid - 64]);
  const v = csid - 64;
  return Buffer.from([(fmt << 6) | 1, v & 0xff, v >> 8]);
}

/**
 * Cut a message into chunks of at most `chunkSize` payload bytes: a format-0 header on the first
 * chunk, format-3 headers on the rest (each carrying the extended timestamp when there is one, as
 * SRS, librtmp and Flash do). The payload is never copied: the result interleaves small header
 * buffers with slices of `msg.payload`, ready for one `writev`. Every player with the same chunk
 * size can write the very same array.
 *
 * @param csid chunk stream id, 2..65599
 * @param chunkSize outgoing chunk size in bytes, 1..0x7fffffff (srs uses 128..65536)
 * @throws RangeError on a csid out of range
 */
export function frameMessage(msg: RtmpMessage, csid: number, chunkSize: number): Buffer[] {
  const ts = msg.timestamp >>> 0;
  const extended = ts >= EXTENDED;
  const first = basicHeader(0, csid);
  const header = Buffer.allocUnsafe(first.length + 11 + (extended ? 4 : 0));
  first.copy(header, 0);
  let o = first.length;
  header.writeUIntBE(extended ? EXTENDED : ts, o, 3);
  header.writeUIntBE(msg.payload.length, o + 3, 3);
  header[o + 6] = msg.type;
  header.writeUInt32LE(msg.streamId >>> 0, o + 7);
  o += 11;
  if (extended) header.writeUInt32BE(ts, o);
  const out: Buffer[] = [header];
  const len = msg.payload.length;
  if (len <= chunkSize) {
    if (len > 0) out.push(msg.payload);
    return out;
  }
  let c3 = basicHeader(3, csid);
  if (extended) {
    const b = Buffer.allocUnsafe(c3.length + 4);
    c3.copy(b, 0);
    b.writeUInt32BE(ts, c3.length);
    c3 = b;
  }
  for (let at = 0; at < len; at += chunkSize) {
    if (at > 0) out.push(c3);
    out.push(msg.payload.subarray(at, Math.min(len, at + chunkSize)));
  }
  return out;
}
