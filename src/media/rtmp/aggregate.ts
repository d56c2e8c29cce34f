// Aggregate messages (type 22): FLV-tag-shaped sub-messages in one RTMP message. Split into the
// audio/video/data messages they carry, timestamps rebased on the aggregate's own, as SRS does.
// Source: RTMP spec 1.0 section 7.1.6; SRS SrsLiveSource::on_aggregate.
import type { RtmpMessage } from '../message';
import { RtmpError } from './error';

/**
 * @returns the sub-messages, with the aggregate's message stream id
 * @throws RtmpError('chunk') on a sub-message that overruns the aggregate
 */
export function splitAggregate(msg: RtmpMessage): RtmpMessage[] {
  const p = msg.payload;
  const out: RtmpMessage[] = [];
  let o = 0;
  let base = -1;
  while (o < p.length) {
    if (p.length - o < 11) throw new RtmpError('chunk', `aggregate sub-message header truncated at byte ${o}`);
    const type = p[o];
    const size = p.readUIntBE(o + 1, 3);
    const ts = (p.readUIntBE(o + 4, 3) | (p[o + 7] << 24)) >>> 0;
    o += 11;
    if (p.length - o < size) throw new RtmpError('chunk', `aggregate sub-message of ${size} bytes overruns the message`);
    // only audio, video and data are carried (SRS on_aggregate); a nested aggregate would recurse
    if (type === 22) throw new RtmpError('chunk', 'aggregate message inside an aggregate message');
    if (base < 0) base = ts;
    const timestamp = (msg.timestamp + ts - base) >>> 0;
    out.push({ type, timestamp, streamId: msg.streamId, payload: p.subarray(o, o + size) });
    o += size;
    // the 4-byte back pointer (previous tag size); a missing one at the very end is tolerated
    o = Math.min(p.length, o + 4);
  }
  return out;
}
