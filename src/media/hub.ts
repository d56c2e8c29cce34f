// The stream hub: one live source per stream key, the players attached to it, and the snapshot the
// HTTP API and /metrics read. The contract between the RTMP session and the fan-out is the set of
// types below (see /work/brief/media-contract.md); the session never touches a source's internals.
// Source: SRS srs_app_source.cpp (SrsLiveSource, SrsLiveSourceManager), srs_app_statistic.cpp.

import type { RtmpMessage } from './message';

/** Where a stream lives: vhost '__defaultVhost__' by default (SRS's SRS_CONSTS_RTMP_DEFAULT_VHOST). */
export interface StreamKey {
  vhost: string;
  app: string;
  stream: string;
}

export const DEFAULT_VHOST = '__defaultVhost__';

/** `${vhost}/${app}/${stream}`: the key of a source in the hub. */
export function streamPath(k: StreamKey): string {
  return `${k.vhost}/${k.app}/${k.stream}`;
}

/** Per-vhost media settings, resolved from the config by the caller (defaults as SRS). */
export interface MediaSettings {
  /** play { gop_cache on } (or the older vhost-level gop_cache); SRS default on */
  gopCache: boolean;
  /** play { queue_length 30 } seconds -> ms */
  queueLengthMs: number;
  /** byte bound of one player's queue (srs's own bound; default 16 MiB) */
  queueMaxBytes: number;
  /** play { mw_latency 350 } ms (SRS default 350) */
  mwLatencyMs: number;
  /** play { mw_msgs 8 } */
  mwMsgs: number;
}

/** SRS's defaults (srs_app_config.cpp: SRS_PERF_GOP_CACHE, SRS_PERF_PLAY_QUEUE 30 s, mw_latency 350, mw_msgs 8). */
export const DEFAULT_MEDIA_SETTINGS: Readonly<MediaSettings> = Object.freeze({
  gopCache: true,
  queueLengthMs: 30_000,
  queueMaxBytes: 16 * 1024 * 1024,
  mwLatencyMs: 350,
  mwMsgs: 8,
});

/** What the hub needs of a publishing session. */
export interface PublisherHandle {
  readonly cid: string;
  readonly remote: string;
  kick(reason: string): void;
}

/** A player's transport: the RTMP session or an HTTP-FLV response implements it. */
export interface PlayerSink {
  readonly cid: string;
  readonly kind: 'rtmp' | 'flv';
  readonly remote: string;
  /** RTMP: outgoing chunk size (bytes) and the message stream id (createStream's, 1); unused for FLV */
  readonly chunkSize: number;
  readonly streamId: number;
  /** write one batch (writev/cork); false when the transport is above its high-water mark: the
   *  consumer then waits for Consumer.drained() before writing more */
  writev(buffers: Buffer[]): boolean;
  /** the publisher left: RTMP sends NetStream.Play.UnpublishNotify; FLV does nothing */
  unpublished(): void;
  /** a publisher (re)started on this stream: RTMP sends NetStream.Play.PublishNotify as SRS does */
  published(): void;
  /** the hub closes this player (fell behind, kicked, drain): the sink ends its transport */
  close(reason: string): void;
}

export interface Source {
  /** audio (8), video (9) and data (18: @setDataFrame / onMetaData) messages from the publisher, as received */
  feed(msg: RtmpMessage): void;
  /** the publisher left (closed, FCUnpublish, deleteStream, kicked): players get unpublished() and stay */
  unpublish(): void;
}

export interface Consumer {
  /** the transport drained (socket 'drain'): write what is queued */
  drained(): void;
  /** RTMP pause: true stops sending (queue keeps its bound), false resumes from the next keyframe */
  pause(paused: boolean): void;
  /** the player left: detach from the source */
  close(): void;
}

/** One stream in /api/v1/streams, in SRS's shape (srs_app_statistic.cpp, SrsStatisticStream::dumps). */
export interface StreamSnapshot {
  id: string;
  name: string;
  vhost: string;
  app: string;
  tcUrl: string;
  url: string;
  live_ms: number;
  clients: number;
  frames: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
  publish: { active: boolean; cid?: string };
  video: { codec: string; profile: string; level: string; width: number; height: number } | null;
  audio: { codec: string; sample_rate: number; channel: number; profile: string } | null;
}

/** One client of the hub (publisher or player), for /api/v1/clients. */
export interface ClientSnapshot {
  cid: string;
  /** the StreamSnapshot id of its stream */
  stream: string;
  vhost: string;
  app: string;
  name: string;
  remote: string;
  type: 'publisher' | 'rtmp-player' | 'flv-player';
  publish: boolean;
  /** ms since it attached */
  alive_ms: number;
  send_bytes: number;
  recv_bytes: number;
}

/** Counters for /metrics (monotonic ones are totals since start). */
export interface HubCounters {
  streams: number;
  publishers: number;
  players: number;
  bytesIn: number;
  bytesOut: number;
  /** players closed because they fell behind */
  playersDroppedBehind: number;
  /** messages skipped in players' queues (drop to the next keyframe) */
  messagesDropped: number;
}

export class StreamHub {
  private readonly now: () => number;

  constructor(opts?: { now?: () => number }) {
    this.now = opts?.now ?? Date.now;
  }

  /** null when the stream already has a publisher (the session answers NetStream.Publish.BadName) */
  publish(key: StreamKey, publisher: PublisherHandle, settings: MediaSettings): Source | null {
    void key; void publisher; void settings; void this.now;
    throw new Error('StreamHub.publish: not implemented yet');
  }

  /** a player may come before the publisher: it waits, and starts with the publish */
  play(key: StreamKey, sink: PlayerSink, settings: MediaSettings): Consumer {
    void key; void sink; void settings;
    throw new Error('StreamHub.play: not implemented yet');
  }
}
