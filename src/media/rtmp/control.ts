// Protocol control messages (types 1-6) and User Control events: encoders and one decoder.
// Source: RTMP spec 1.0 sections 5.4 and 7.1.7; SRS srs_protocol_rtmp_stack.cpp
// (SrsSetChunkSizePacket, SrsSetWindowAckSizePacket, SrsSetPeerBandwidthPacket, SrsUserControlPacket).
import { MessageType, type RtmpMessage } from '../message';
import { RtmpError } from './error';

/** User Control event types (RTMP spec 7.1.7; SRS SrcPCUC*). */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEOF: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Set Peer Bandwidth limit types: 0 hard, 1 soft, 2 dynamic (SRS sends 2). */
export const PeerBandwidthLimit = { Hard: 0, Soft: 1, Dynamic: 2 } as const;

/** The spec's bound for Set Chunk Size: 31 bits, never 0. */
export const MAX_CHUNK_SIZE = 0x7fffffff;

export type ControlMessage =
  | { kind: 'setChunkSize'; size: number }
  | { kind: 'abort'; csid: number }
  | { kind: 'acknowledgement'; sequence: number }
  | { kind: 'windowAckSize'; size: number }
  | { kind: 'setPeerBandwidth'; size: number; limit: number }
  | { kind: 'userControl'; event: number; streamId: number; bufferLengthMs?: number; timestamp?: number };

function control(type: number, payload: Buffer): RtmpMessage {
  return { type, timestamp: 0, streamId: 0, payload };
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** @param size bytes, 1..0x7fffffff @throws RangeError outside */
export function setChunkSize(size: number): RtmpMessage {
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) throw new RangeError(`chunk size ${size} is outside 1..${MAX_CHUNK_SIZE}`);
  return control(MessageType.SetChunkSize, u32(size));
}
export function abort(csid: number): RtmpMessage {
  return control(MessageType.Abort, u32(csid));
}
/** @param sequence bytes received so far, modulo 2^32 */
export function acknowledgement(sequence: number): RtmpMessage {
  return control(MessageType.Acknowledgement, u32(sequence));
}
/** @param size bytes the peer may send before it waits for our Acknowledgement */
export function windowAckSize(size: number): RtmpMessage {
  return control(MessageType.WindowAckSize, u32(size));
}
export function setPeerBandwidth(size: number, limit: number = PeerBandwidthLimit.Dynamic): RtmpMessage {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(size >>> 0, 0);
  b[4] = limit;
  return control(MessageType.SetPeerBandwidth, b);
}
/**
 * A User Control message: 2-byte event, 4-byte stream id (or ping timestamp), and for
 * SetBufferLength the 4-byte length in ms.
 */
export function userControl(event: number, value: number, bufferLengthMs?: number): RtmpMessage {
  const extra = event === UserControlEvent.SetBufferLength ? 4 : 0;
  const b = Buffer.allocUnsafe(6 + extra);
  b.writeUInt16BE(event, 0);
  b.writeUInt32BE(value >>> 0, 2);
  if (extra) b.writeUInt32BE((bufferLengthMs ?? 0) >>> 0, 6);
  return { type: MessageType.UserControl, timestamp: 0, streamId: 0, payload: b };
}

function need(msg: RtmpMessage, n: number, what: string): void {
  if (msg.payload.length < n) throw new RtmpError('control', `${what} payload is ${msg.payload.length} bytes, needs ${n}`);
}

/**
 * Decode a protocol control or User Control message; null for other types.
 * @throws RtmpError('control') on a short payload or a chunk size outside 1..0x7fffffff
 */
export function decodeControl(msg: RtmpMessage): ControlMessage | null {
  const p = msg.payload;
  switch (msg.type) {
    case MessageType.SetChunkSize: {
      need(msg, 4, 'Set Chunk Size');
      const size = p.readUInt32BE(0);
      if (size < 1 || size > MAX_CHUNK_SIZE) throw new RtmpError('control', `Set Chunk Size ${size} is outside 1..${MAX_CHUNK_SIZE}`);
      return { kind: 'setChunkSize', size };
    }
    case MessageType.Abort:
      need(msg, 4, 'Abort');
      return { kind: 'abort', csid: p.readUInt32BE(0) };
    case MessageType.Acknowledgement:
      need(msg, 4, 'Acknowledgement');
      return { kind: 'acknowledgement', sequence: p.readUInt32BE(0) };
    case MessageType.WindowAckSize:
      need(msg, 4, 'Window Acknowledgement Size');
      return { kind: 'windowAckSize', size: p.readUInt32BE(0) };
    case MessageType.SetPeerBandwidth:
      // some encoders send only the 4-byte size; the limit type then defaults to dynamic
      need(msg, 4, 'Set Peer Bandwidth');
      return { kind: 'setPeerBandwidth', size: p.readUInt32BE(0), limit: p.length > 4 ? p[4] : PeerBandwidthLimit.Dynamic };
    case MessageType.UserControl: {
      need(msg, 2, 'User Control');
      const event = p.readUInt16BE(0);
      // Flash's SetBufferLength is 10 bytes; other events carry 4 bytes (some senders fewer)
      const streamId = p.length >= 6 ? p.readUInt32BE(2) : 0;
      if (event === UserControlEvent.SetBufferLength) {
        need(msg, 10, 'User Control SetBufferLength');
        return { kind: 'userControl', event, streamId, bufferLengthMs: p.readUInt32BE(6) };
      }
      if (event === UserControlEvent.PingRequest || event === UserControlEvent.PingResponse) {
        need(msg, 6, 'User Control ping');
        return { kind: 'userControl', event, streamId: 0, timestamp: streamId };
      }
      return { kind: 'userControl', event, streamId };
    }
    default:
      return null;
  }
}
