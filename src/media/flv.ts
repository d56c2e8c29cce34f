// FLV muxing: the file header and one tag per RTMP message. Pure; the payload is never copied
// (a tag is three buffers: the 11-byte tag header, the message payload, the 4-byte PreviousTagSize).
// Source: Adobe FLV file format specification 10.1, annex E.2 (header) and E.3/E.4 (tags).

import { MessageType, type RtmpMessage } from './message';

/** FLV tag types (FLV spec E.4.1): the same numbers as the RTMP message types. */
export const TagType = { Audio: 8, Video: 9, Script: 18 } as const;

/**
 * The FLV header (9 bytes: 'FLV', version 1, flags, DataOffset 9) followed by PreviousTagSize0 (0):
 * 13 bytes.
 */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const b = Buffer.alloc(13);
  b.write('FLV', 0, 'latin1');
  b[3] = 1;
  b[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  b.writeUInt32BE(9, 5);
  return b;
}

/**
 * The 11-byte tag header (FLV spec E.4.1): type, DataSize (24 bits), Timestamp (low 24 bits, then
 * TimestampExtended), StreamID 0.
 * @param timestamp ms; its upper 8 bits go into TimestampExtended
 * @throws RangeError when dataSize exceeds 2^24 - 1
 */
export function flvTagHeader(type: number, timestamp: number, dataSize: number): Buffer {
  if (dataSize > 0xffffff) throw new RangeError(`FLV tag of ${dataSize} bytes exceeds 16 MiB`);
  const ts = timestamp >>> 0;
  const b = Buffer.alloc(11);
  b[0] = type;
  b.writeUIntBE(dataSize, 1, 3);
  b.writeUIntBE(ts & 0xffffff, 4, 3);
  b[7] = ts >>> 24;
  return b;
}

/** FLV tag type of an RTMP message, or null when FLV has no tag for it (commands, control). */
export function flvTagType(msgType: number): number | null {
  if (msgType === MessageType.Audio) return TagType.Audio;
  if (msgType === MessageType.Video) return TagType.Video;
  if (msgType === MessageType.DataAmf0) return TagType.Script;
  return null;
}

/**
 * One FLV tag for a data, audio or video message: [tag header, payload, PreviousTagSize]; the payload
 * is the message's own Buffer.
 * @throws RangeError for a message type FLV cannot carry, or a payload over 16 MiB
 */
export function muxFlvTag(msg: RtmpMessage): Buffer[] {
  const type = flvTagType(msg.type);
  if (type === null) throw new RangeError(`RTMP message type ${msg.type} has no FLV tag`);
  const header = flvTagHeader(type, msg.timestamp, msg.payload.length);
  const prev = Buffer.allocUnsafe(4);
  prev.writeUInt32BE(11 + msg.payload.length, 0);
  return msg.payload.length > 0 ? [header, msg.payload, prev] : [header, prev];
}
