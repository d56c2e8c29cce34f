// A message as every player of a stream shares it (SRS's SrsSharedPtrMessage): wrapped once when it
// arrives, payload never copied nor mutated afterwards; its RTMP chunks are framed once per
// (chunk size, message stream id) and its FLV tag once, on first use, and reused by every player.

import { ChunkStreamId, MessageType, frameMessage, type RtmpMessage } from './message';
import { muxFlvTag } from './flv';

export class SharedMessage {
  readonly type: number;
  /** ms (uint32) as players are sent it: the publisher's, corrected by time_jitter (jitter.ts) */
  readonly timestamp: number;
  readonly payload: Buffer;
  /** ms on the source's monotonic media clock (see Source): what queues measure their length in */
  readonly streamTime: number;
  /** a video keyframe (not a sequence header) */
  readonly keyframe: boolean;
  /** an AVC/HEVC/AV1 or AAC sequence header, or onMetaData: what a queue keeps when it drops */
  readonly header: boolean;
  private rtmpChunkSize = 0;
  private rtmpStreamId = 0;
  private rtmpA: Buffer[] | null = null;
  private rtmpMore: Map<string, Buffer[]> | null = null;
  private flvTag: Buffer[] | null = null;

  constructor(type: number, timestamp: number, payload: Buffer, streamTime: number, keyframe: boolean, header: boolean) {
    this.type = type;
    this.timestamp = timestamp >>> 0;
    this.payload = payload;
    this.streamTime = streamTime;
    this.keyframe = keyframe;
    this.header = header;
  }

  /** bytes of payload */
  get size(): number {
    return this.payload.length;
  }

  get isVideo(): boolean {
    return this.type === MessageType.Video;
  }

  get isAudio(): boolean {
    return this.type === MessageType.Audio;
  }

  /**
   * The chunks of this message for a player with this outgoing chunk size and message stream id:
   * csid 6 for video, 7 for audio, 5 for data (SRS's RTMP_CID_*). Framed on first use and cached,
   * so every player with the same pair writes the same Buffers.
   */
  rtmp(chunkSize: number, streamId: number): Buffer[] {
    // one pair is by far the common case (every player negotiates the same chunk size): no map
    if (this.rtmpA && chunkSize === this.rtmpChunkSize && streamId === this.rtmpStreamId) return this.rtmpA;
    if (!this.rtmpA) {
      this.rtmpChunkSize = chunkSize;
      this.rtmpStreamId = streamId;
      this.rtmpA = this.frame(chunkSize, streamId);
      return this.rtmpA;
    }
    this.rtmpMore ??= new Map();
    const k = `${chunkSize}:${streamId}`;
    let frames = this.rtmpMore.get(k);
    if (!frames) {
      frames = this.frame(chunkSize, streamId);
      this.rtmpMore.set(k, frames);
    }
    return frames;
  }

  /** The FLV tag of this message (tag header, payload, PreviousTagSize), muxed once. */
  flv(): Buffer[] {
    this.flvTag ??= muxFlvTag(this.asRtmp(0));
    return this.flvTag;
  }

  private frame(chunkSize: number, streamId: number): Buffer[] {
    const csid = this.type === MessageType.Video ? ChunkStreamId.Video : this.type === MessageType.Audio ? ChunkStreamId.Audio : ChunkStreamId.OverStream;
    return frameMessage(this.asRtmp(streamId), csid, chunkSize);
  }

  private asRtmp(streamId: number): RtmpMessage {
    return { type: this.type, timestamp: this.timestamp, streamId, payload: this.payload };
  }
}
