// Chunk stream decoding: bytes in, complete RTMP messages out, with every bound a hostile peer
// would probe (message length, chunk streams in flight, bytes held) refused with an RtmpError.
// Source: RTMP spec 1.0 section 5.3; SRS SrsProtocol::recv_interlaced_message, read_basic_header,
// read_message_header (the two conventions for the extended timestamp on format-3 chunks).
import { MessageType, type RtmpMessage } from '../message';
import { decodeControl } from './control';
import { RtmpError } from './error';

/** The spec's initial chunk size, before any Set Chunk Size. */
export const DEFAULT_CHUNK_SIZE = 128;
const EXTENDED = 0xffffff;
/** basic header (3) + message header (11) + extended timestamp (4) */
const MAX_HEADER = 18;
const HEADER_SIZE = [11, 7, 3, 0];

export interface ChunkReaderLimits {
  /** bytes; a message announcing more is refused (default 16 MiB, which a 3-byte length cannot pass) */
  maxMessageSize?: number;
  /** distinct chunk stream ids a connection may use (default 64) */
  maxChunkStreams?: number;
  /** bytes of unfinished messages held across all chunk streams (default 2 x maxMessageSize) */
  maxPendingBytes?: number;
}

interface ChunkStream {
  csid: number;
  timestamp: number;
  /** the last delta (format 0: the absolute timestamp, as SRS), added by a format-3 new message */
  delta: number;
  length: number;
  type: number;
  streamId: number;
  /** the last format 0-2 header had an extended timestamp; its value, for format-3 detection */
  extended: boolean;
  extendedValue: number;
  parts: Buffer[];
  received: number;
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Reassembles messages from chunks. Applies Set Chunk Size, Abort and Window Acknowledgement
 * Size itself (a Set Chunk Size changes how the very next chunk is cut) and still returns them.
 * After an error the reader stays failed: every later push throws the same error.
 */
export class ChunkReader {
  /** incoming chunk size in bytes (the peer's Set Chunk Size) */
  chunkSize = DEFAULT_CHUNK_SIZE;
  /** bytes fed so far (all of them, headers included: that is what Acknowledgement counts) */
  bytesReceived = 0;
  /** the peer's Window Acknowledgement Size; 0 until it sends one */
  windowAckSize = 0;
  private lastAck = 0;
  private readonly streams = new Map<number, ChunkStream>();
  private cur: ChunkStream | null = null;
  /** payload bytes left in the current chunk */
  private chunkLeft = 0;
  private hdr: Buffer = EMPTY;
  private pending = 0;
  private failure: RtmpError | null = null;
  private readonly maxMessageSize: number;
  private readonly maxChunkStreams: number;
  private readonly maxPendingBytes: number;

  constructor(limits: ChunkReaderLimits = {}) {
    this.maxMessageSize = limits.maxMessageSize ?? 16 * 1024 * 1024;
    this.maxChunkStreams = limits.maxChunkStreams ?? 64;
    this.maxPendingBytes = limits.maxPendingBytes ?? 2 * this.maxMessageSize;
  }

  /** true while a message is partly received (a draining publisher finishes it first) */
  get inMessage(): boolean {
    return this.pending > 0 || this.cur !== null || this.hdr.length > 0;
  }

  /**
   * Feed bytes; returns the messages they complete, in order.
   * @throws RtmpError('chunk' | 'control') on a malformed chunk, a bound exceeded, or a bad control message
   */
  push(data: Buffer): RtmpMessage[] {
    if (this.failure) throw this.failure;
    try {
      return this.consume(data);
    } catch (e) {
      if (e instanceof RtmpError) this.failure = e;
      throw e;
    }
  }

  /**
   * The sequence number to send in an Acknowledgement, once bytes received since the last one
   * reach the peer's window; null otherwise.
   */
  takeAck(): number | null {
    if (this.windowAckSize <= 0 || this.bytesReceived - this.lastAck < this.windowAckSize) return null;
    this.lastAck = this.bytesReceived;
    return this.bytesReceived % 0x100000000;
  }

  private consume(data: Buffer): RtmpMessage[] {
    this.bytesReceived += data.length;
    const out: RtmpMessage[] = [];
    let off = 0;
    while (off < data.length) {
      if (this.cur === null) {
        const prior = this.hdr.length;
        const view = prior ? Buffer.concat([this.hdr, data.subarray(off, off + MAX_HEADER - prior)]) : data.subarray(off, off + MAX_HEADER);
        const n = this.header(view, out);
        if (n < 0) {
          // fewer bytes than a header needs: everything left is in view
          this.hdr = Buffer.from(view);
          off = data.length;
        } else {
          off += n - prior;
          this.hdr = EMPTY;
        }
        continue;
      }
      const cs = this.cur;
      const take = Math.min(this.chunkLeft, data.length - off);
      cs.parts.push(data.subarray(off, off + take));
      cs.received += take;
      this.pending += take;
      if (this.pending > this.maxPendingBytes) throw new RtmpError('chunk', `unfinished messages hold over ${this.maxPendingBytes} bytes`);
      this.chunkLeft -= take;
      off += take;
      if (this.chunkLeft === 0) {
        this.cur = null;
        if (cs.received === cs.length) this.complete(cs, out);
      }
    }
    return out;
  }

  /** Parse one chunk header from `view`; returns the bytes it took, or -1 when view is too short. */
  private header(view: Buffer, out: RtmpMessage[]): number {
    if (view.length < 1) return -1;
    const fmt = view[0] >> 6;
    let csid = view[0] & 0x3f;
    let o = 1;
    if (csid === 0) {
      if (view.length < 2) return -1;
      csid = 64 + view[1];
      o = 2;
    } else if (csid === 1) {
      if (view.length < 3) return -1;
      csid = 64 + view[1] + view[2] * 256;
      o = 3;
    }
    const size = HEADER_SIZE[fmt];
    if (view.length < o + size) return -1;
    let cs = this.streams.get(csid);
    const fresh = cs === undefined;
    if (!cs) {
      // a chunk stream's first chunk needs a full header; librtmp starts csid 2 with format 1 (SRS allows it)
      if (fmt > 1) throw new RtmpError('chunk', `chunk stream ${csid} starts with a format-${fmt} header`);
      if (this.streams.size >= this.maxChunkStreams) throw new RtmpError('chunk', `more than ${this.maxChunkStreams} chunk streams`);
      cs = { csid, timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, extendedValue: 0, parts: [], received: 0 };
    }
    const first = cs.received === 0;
    if (!first && fmt !== 3) throw new RtmpError('chunk', `format-${fmt} header on chunk stream ${csid} inside a message (${cs.received} of ${cs.length} bytes)`);
    let ts3 = 0;
    let length = cs.length;
    let type = cs.type;
    let streamId = cs.streamId;
    if (fmt <= 2) ts3 = view.readUIntBE(o, 3);
    if (fmt <= 1) {
      length = view.readUIntBE(o + 3, 3);
      type = view[o + 6];
    }
    if (fmt === 0) streamId = view.readUInt32LE(o + 7);
    let n = o + size;
    const extended = fmt <= 2 ? ts3 === EXTENDED : cs.extended;
    let ext = -1;
    if (extended) {
      if (view.length < n + 4) return -1;
      const v = view.readUInt32BE(n);
      // A format-3 continuation may or may not repeat the extended timestamp (Flash and SRS do,
      // some encoders do not): when the 4 bytes differ from the header's value they are payload.
      if (fmt !== 3 || first || v === cs.extendedValue) {
        ext = v;
        n += 4;
      }
    }
    if (fmt <= 2) {
      const t = ext >= 0 ? ext : ts3;
      cs.extended = extended;
      cs.extendedValue = ext >= 0 ? ext : 0;
      cs.delta = t;
      cs.timestamp = fmt === 0 ? t : (cs.timestamp + t) % 0x100000000;
    } else if (first) {
      if (ext >= 0) cs.delta = ext;
      cs.timestamp = (cs.timestamp + cs.delta) % 0x100000000;
    }
    if (length > this.maxMessageSize) throw new RtmpError('chunk', `message of ${length} bytes on chunk stream ${csid} is over the ${this.maxMessageSize}-byte bound`);
    cs.length = length;
    cs.type = type;
    cs.streamId = streamId;
    if (fresh) this.streams.set(csid, cs);
    if (length === 0) {
      this.complete(cs, out);
      return n;
    }
    this.cur = cs;
    this.chunkLeft = Math.min(this.chunkSize, length - cs.received);
    return n;
  }

  private complete(cs: ChunkStream, out: RtmpMessage[]): void {
    const payload = cs.parts.length === 0 ? EMPTY : Buffer.concat(cs.parts, cs.received);
    this.pending -= cs.received;
    cs.parts = [];
    cs.received = 0;
    const msg: RtmpMessage = { type: cs.type, timestamp: cs.timestamp, streamId: cs.streamId, payload };
    this.apply(msg);
    out.push(msg);
  }

  private apply(msg: RtmpMessage): void {
    if (msg.type !== MessageType.SetChunkSize && msg.type !== MessageType.Abort && msg.type !== MessageType.WindowAckSize) return;
    const c = decodeControl(msg);
    if (!c) return;
    if (c.kind === 'setChunkSize') this.chunkSize = c.size;
    else if (c.kind === 'windowAckSize') this.windowAckSize = c.size;
    else if (c.kind === 'abort') {
      const cs = this.streams.get(c.csid);
      if (cs && cs.received > 0) {
        this.pending -= cs.received;
        cs.parts = [];
        cs.received = 0;
      }
    }
  }
}
