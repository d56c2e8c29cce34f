// One live source per stream (SRS's SrsLiveSource): the publisher, the metadata and sequence headers
// a new player needs first, the GOP cache, and the consumers it fans each message out to. A message
// is wrapped once into a SharedMessage; every consumer queues that same object.

import { audioParams, audioTagInfo, videoParams, videoTagInfo, type AudioParams, type VideoParams } from './codec';
import { GopCache } from './gop-cache';
import { Kbps30 } from './kbps';
import { MessageType, type RtmpMessage } from './message';
import { SharedMessage } from './shared-message';
import { TimestampJitter } from './jitter';
import type { PlayerConsumer } from './consumer';
import type { MediaSettings, PublisherHandle, StreamKey } from './hub';

/** AMF0 string '@setDataFrame' (marker 2, length 13): the wrapper SRS strips from onMetaData. */
const SET_DATA_FRAME = Buffer.from('02000d40736574446174614672616d65', 'hex');
/** AMF0 string 'onMetaData' */
const ON_METADATA = Buffer.from('02000a6f6e4d65746144617461', 'hex');

/** A timestamp step larger than this (ms) is a jump (republish, wrap), not elapsed media time. */
const MAX_STEP_MS = 10_000;

/**
 * The payload to store and relay for a data message: without the `@setDataFrame` wrapper (SRS
 * srs_app_source.cpp on_meta_data stores `onMetaData` + the object). A view, never a copy.
 * @returns the AMF0 payload and whether it is onMetaData
 */
export function stripSetDataFrame(payload: Buffer): { payload: Buffer; metadata: boolean } {
  let p = payload;
  if (p.length >= SET_DATA_FRAME.length && p.subarray(0, SET_DATA_FRAME.length).equals(SET_DATA_FRAME)) p = p.subarray(SET_DATA_FRAME.length);
  const metadata = p.length >= ON_METADATA.length && p.subarray(0, ON_METADATA.length).equals(ON_METADATA);
  return { payload: p, metadata };
}

export class LiveSource {
  readonly key: StreamKey;
  /** SRS's stream id in the API: 'vid-' + 7 random characters */
  readonly id: string;
  publisher: PublisherHandle | null = null;
  /** ms when the current publisher started */
  publishedAt = 0;
  settings: MediaSettings;
  readonly consumers = new Set<PlayerConsumer>();
  readonly recv: Kbps30;
  readonly send: Kbps30;
  /** video frames received (SRS's frames) */
  frames = 0;
  video: VideoParams | null = null;
  audio: AudioParams | null = null;
  /** the tcUrl the publisher (or first player) gave, for the API */
  tcUrl = '';

  private metadata: SharedMessage | null = null;
  private videoSh: SharedMessage | null = null;
  private audioSh: SharedMessage | null = null;
  private gop: GopCache;
  private maxTs = -1;
  private time = 0;
  /** what players are sent as timestamps: corrected once here, across publishers (time_jitter) */
  private readonly jitter = new TimestampJitter();
  private sawVideo = false;

  constructor(key: StreamKey, id: string, settings: MediaSettings, now: () => number) {
    this.key = key;
    this.id = id;
    this.settings = settings;
    this.gop = new GopCache(settings.queueMaxBytes);
    this.recv = new Kbps30(now);
    this.send = new Kbps30(now);
  }

  get hasVideo(): boolean {
    return this.sawVideo;
  }

  /** whether the current publisher sent audio / video sequence headers (for the FLV header flags) */
  get hasAudioHeader(): boolean {
    return this.audioSh !== null;
  }
  get hasVideoHeader(): boolean {
    return this.videoSh !== null;
  }

  /** A publisher starts: settings are its vhost's; waiting players hear published(). */
  startPublish(publisher: PublisherHandle, settings: MediaSettings, now: number): void {
    this.publisher = publisher;
    this.publishedAt = now;
    this.settings = settings;
    this.gop = new GopCache(settings.queueMaxBytes);
    this.maxTs = -1;
    this.jitter.restart();
    for (const c of this.consumers) {
      c.startOver();
      c.sink.published();
    }
  }

  /** The publisher left: forget its headers and GOP (the next one sends its own); players stay. */
  stopPublish(): void {
    this.publisher = null;
    this.metadata = this.videoSh = this.audioSh = null;
    this.gop.clear();
    // what a merged write still holds goes out before the player hears the stream ended
    for (const c of [...this.consumers]) {
      if (c.closed) continue;
      c.flush();
      c.sink.unpublished();
    }
  }

  /** Wrap, remember (headers, GOP) and fan out one message from the publisher. */
  feed(msg: RtmpMessage): void {
    let type = msg.type;
    let payload = msg.payload;
    let keyframe = false;
    let header = false;
    if (type === MessageType.Video) {
      const info = videoTagInfo(payload);
      this.sawVideo = true;
      if (info?.sequenceHeader) {
        header = true;
        this.video = videoParams(info.codec, info.config);
      } else if (info) {
        keyframe = info.keyframe;
        this.frames++;
      }
    } else if (type === MessageType.Audio) {
      const info = audioTagInfo(payload);
      if (info?.sequenceHeader) header = true;
      if (info && (header || !this.audio)) this.audio = audioParams(info);
    } else if (type === MessageType.DataAmf0 || type === MessageType.DataAmf3) {
      // AMF3 data carries an AMF0 body after one format byte; players get it as AMF0 data
      if (type === MessageType.DataAmf3) payload = payload.subarray(1);
      type = MessageType.DataAmf0;
      const s = stripSetDataFrame(payload);
      payload = s.payload;
      header = s.metadata;
    } else return;
    this.recv.add(msg.payload.length);
    const ts = this.jitter.correct(msg.timestamp, type !== MessageType.DataAmf0, this.settings.timeJitter ?? 'full');
    const m = new SharedMessage(type, ts, payload, this.advance(msg.timestamp, type), keyframe, header);
    if (header) {
      if (type === MessageType.Video) this.videoSh = m;
      else if (type === MessageType.Audio) this.audioSh = m;
      else this.metadata = m;
    } else if (this.settings.gopCache) this.gop.push(m);
    for (const c of this.consumers) c.enqueue(m);
  }

  /** A new player: metadata, sequence headers, the GOP, then live messages (SRS consumer_dumps). */
  attach(c: PlayerConsumer): void {
    this.consumers.add(c);
    if (!this.publisher) return;
    if (this.metadata) c.enqueue(this.metadata);
    if (this.videoSh) c.enqueue(this.videoSh);
    if (this.audioSh) c.enqueue(this.audioSh);
    if (this.settings.gopCache) for (const m of this.gop.messages()) c.enqueue(m);
  }

  /** payload bytes in the GOP cache */
  get gopBytes(): number {
    return this.gop.size;
  }

  /** The source's monotonic media clock (ms): advances with the largest timestamp seen, ignoring
   *  audio/video interleave going back and jumps (a new publisher restarting at 0, a wrap). */
  private advance(ts: number, type: number): number {
    if (type === MessageType.DataAmf0) return this.time;
    if (this.maxTs < 0) this.maxTs = ts;
    const step = (ts - this.maxTs) | 0;
    if (step > 0 && step <= MAX_STEP_MS) {
      this.time += step;
      this.maxTs = ts;
    } else if (step > MAX_STEP_MS || step < -MAX_STEP_MS) this.maxTs = ts;
    return this.time;
  }
}
