// The stream hub: one live source per stream key, the players attached to it, and the snapshot the
// HTTP API and /metrics read. The contract between the RTMP session and the fan-out is the set of
// types below; the session never touches a source's internals.
// Source: SRS srs_app_source.cpp (SrsLiveSource, SrsLiveSourceManager), srs_app_statistic.cpp.

import type { TimeJitter } from './jitter';
import type { RtmpMessage } from './message';
import { PlayerConsumer, type ConsumerHost } from './consumer';
import { LiveSource } from './source';

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
  /** play { mw_latency 350 } ms (SRS default 350): a player's messages are held and written
   *  together once they span this much stream time (SRS's merged write; see PlayerConsumer.due).
   *  0 writes each message as it arrives (the lowest delay, one write per message per player). */
  mwLatencyMs: number;
  /** play { mw_msgs 8 }: a merged write waits for more than this many messages (SRS caps it at 128) */
  mwMsgs: number;
  /** play { time_jitter full }: how timestamps are corrected for players (jitter.ts); absent: full */
  timeJitter?: TimeJitter;
}

/** How often held players are checked against the wall clock (ms); a stalled stream's last
 *  messages leave at most this long after mw_latency. */
const MW_SWEEP_MS = 50;

/** SRS's defaults (srs_app_config.cpp: SRS_PERF_GOP_CACHE, SRS_PERF_PLAY_QUEUE 30 s, mw_latency 350, mw_msgs 8). */
export const DEFAULT_MEDIA_SETTINGS: Readonly<MediaSettings> = Object.freeze({
  gopCache: true,
  queueLengthMs: 30_000,
  queueMaxBytes: 16 * 1024 * 1024,
  mwLatencyMs: 350,
  mwMsgs: 8,
  timeJitter: 'full',
});

/** What the hub needs of a publishing session. */
export interface PublisherHandle {
  readonly cid: string;
  readonly remote: string;
  kick(reason: string): void;
  /** optional, for the API: the client's tcUrl, and SRS's client type (default 'fmle-publish') */
  readonly tcUrl?: string;
  readonly type?: 'fmle-publish' | 'flash-publish' | 'haivision-publish';
}

/** A player's transport: the RTMP session or an HTTP-FLV response implements it. */
export interface PlayerSink {
  readonly cid: string;
  readonly kind: 'rtmp' | 'flv';
  readonly remote: string;
  /** optional, for the API: the client's tcUrl */
  readonly tcUrl?: string;
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

/** One client of the hub (publisher or player) for /api/v1/clients, in SRS's shape
 *  (srs_app_statistic.cpp, SrsStatisticClient::dumps). */
export interface ClientSnapshot {
  id: string;
  /** the vhost's id (see vhosts()) */
  vhost: string;
  /** the StreamSnapshot id of its stream */
  stream: string;
  ip: string;
  pageUrl: string;
  swfUrl: string;
  tcUrl: string;
  url: string;
  name: string;
  /** SRS's srs_client_type_string: 'rtmp-play' | 'flv-play' | 'fmle-publish' | ... */
  type: string;
  publish: boolean;
  /** seconds since it attached */
  alive: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
}

/** One vhost with streams, for /api/v1/vhosts and to resolve the ids in StreamSnapshot.vhost. */
export interface VhostSnapshot {
  id: string;
  name: string;
  enabled: boolean;
  clients: number;
  streams: number;
  send_bytes: number;
  recv_bytes: number;
}

/** Counters for /metrics (bytes and drops are totals since the hub started). */
export interface HubCounters {
  streams: number;
  publishers: number;
  players: number;
  /** payload bytes received from publishers */
  bytesIn: number;
  /** bytes written to players (chunk or tag headers included) */
  bytesOut: number;
  /** players closed because they fell behind */
  playersDroppedBehind: number;
  /** messages dropped from players' queues (skips to the next keyframe) */
  messagesDropped: number;
}

/** SRS's srs_random_str: [0-9a-z] */
function randomId(n: number): string {
  const chars = '0123456789abcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < n; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** SRS's srs_generate_stream_url: `/app/stream`, prefixed by the vhost unless it is the default one. */
export function streamUrl(k: StreamKey): string {
  return `${k.vhost === DEFAULT_VHOST ? '' : k.vhost}/${k.app}/${k.stream}`;
}

/**
 * Every live source of this process (SRS's SrsLiveSourceManager plus the statistics the API reads).
 * Sources appear with their first publisher or player and go when they have neither.
 */
export class StreamHub {
  private readonly now: () => number;
  private readonly schedule: (fn: () => void) => void;
  private readonly sources = new Map<string, LiveSource>();
  private readonly vhostIds = new Map<string, string>();
  private dirty: PlayerConsumer[] = [];
  private flushPending = false;
  /** consumers holding messages for a merged write, asked again by the sweep */
  private readonly held = new Set<PlayerConsumer>();
  private sweepArmed = false;
  private readonly setTimer: (fn: () => void, ms: number) => void;
  private bytesIn = 0;
  private bytesOut = 0;
  private playersDroppedBehind = 0;
  private messagesDropped = 0;

  /**
   * @param opts.now clock in ms (default Date.now)
   * @param opts.schedule runs a callback once the current one returns (default queueMicrotask):
   *   players' batches are written there, so every message parsed from one read of the publisher's
   *   socket goes out in one write per player that is due (mw_latency), in the same turn
   * @param opts.setTimer runs the merged-write sweep after `ms` (default an unref'd setTimeout)
   */
  constructor(opts?: { now?: () => number; schedule?: (fn: () => void) => void; setTimer?: (fn: () => void, ms: number) => void }) {
    this.now = opts?.now ?? Date.now;
    this.schedule = opts?.schedule ?? queueMicrotask;
    this.setTimer = opts?.setTimer ?? ((fn, ms) => void setTimeout(fn, ms).unref());
  }

  /** null when the stream already has a publisher (the session answers NetStream.Publish.BadName) */
  publish(key: StreamKey, publisher: PublisherHandle, settings: MediaSettings): Source | null {
    const s = this.sourceFor(key, settings);
    if (s.publisher) return null;
    s.startPublish(publisher, settings, this.now());
    if (publisher.tcUrl) s.tcUrl = publisher.tcUrl;
    // a handle per publish: a late feed or unpublish from a session that already left is ignored
    let live = true;
    return {
      feed: (msg: RtmpMessage) => {
        if (!live) return;
        this.bytesIn += msg.payload.length;
        s.feed(msg);
      },
      unpublish: () => {
        if (!live) return;
        live = false;
        s.stopPublish();
        this.maybeRemove(s);
      },
    };
  }

  /** a player may come before the publisher: it waits, and starts with the publish */
  play(key: StreamKey, sink: PlayerSink, settings: MediaSettings): Consumer {
    const s = this.sourceFor(key, settings);
    if (!s.tcUrl && sink.tcUrl) s.tcUrl = sink.tcUrl;
    const c = new PlayerConsumer(sink, settings, this.hostFor(s));
    s.attach(c);
    return c;
  }

  /**
   * Kick one client by its cid (DELETE /api/v1/clients/:id): a publisher is asked to leave (its
   * session unpublishes), a player is closed with reason 'kicked'.
   * @returns false when no client has that cid
   */
  kick(cid: string): boolean {
    for (const s of this.sources.values()) {
      if (s.publisher?.cid === cid) {
        s.publisher.kick('kicked');
        return true;
      }
      for (const c of s.consumers) {
        if (c.sink.cid === cid) {
          c.end('kicked', false);
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Graceful quit: every player gets what its transport takes now, unpublished(), then close(reason);
   * every publisher is asked to leave (kick(reason): the session closes it after its current message).
   */
  drainAll(reason: string): void {
    for (const s of [...this.sources.values()]) {
      for (const c of [...s.consumers]) c.end(reason, true);
      s.publisher?.kick(reason);
    }
  }

  /** /api/v1/streams: every source, in SRS's shape */
  streams(): StreamSnapshot[] {
    return [...this.sources.values()].map((s) => this.snapshot(s));
  }

  /** /api/v1/streams/:id, or null */
  stream(id: string): StreamSnapshot | null {
    for (const s of this.sources.values()) if (s.id === id) return this.snapshot(s);
    return null;
  }

  /** /api/v1/clients: publishers and players */
  clients(): ClientSnapshot[] {
    const now = this.now();
    const out: ClientSnapshot[] = [];
    for (const s of this.sources.values()) {
      const base = { vhost: this.vhostId(s.key.vhost), stream: s.id, pageUrl: '', swfUrl: '', url: streamUrl(s.key), name: s.key.stream };
      const p = s.publisher;
      if (p) {
        const recv = s.recv.total;
        out.push({ ...base, id: p.cid, ip: p.remote, tcUrl: p.tcUrl ?? s.tcUrl, type: p.type ?? 'fmle-publish', publish: true, alive: (now - s.publishedAt) / 1000, send_bytes: 0, recv_bytes: recv, kbps: { recv_30s: s.recv.kbps(), send_30s: 0 } });
      }
      for (const c of s.consumers) {
        const k = c.sink;
        out.push({ ...base, id: k.cid, ip: k.remote, tcUrl: k.tcUrl ?? s.tcUrl, type: k.kind === 'rtmp' ? 'rtmp-play' : 'flv-play', publish: false, alive: (now - c.since) / 1000, send_bytes: c.sendBytes, recv_bytes: 0, kbps: { recv_30s: 0, send_30s: c.send.kbps() } });
      }
    }
    return out;
  }

  /** /api/v1/vhosts: the vhosts that have streams now */
  vhosts(): VhostSnapshot[] {
    const by = new Map<string, VhostSnapshot>();
    for (const s of this.sources.values()) {
      const name = s.key.vhost;
      let v = by.get(name);
      if (!v) by.set(name, (v = { id: this.vhostId(name), name, enabled: true, clients: 0, streams: 0, send_bytes: 0, recv_bytes: 0 }));
      v.streams++;
      v.clients += s.consumers.size + (s.publisher ? 1 : 0);
      v.send_bytes += s.send.total;
      v.recv_bytes += s.recv.total;
    }
    return [...by.values()];
  }

  /** /metrics */
  counters(): HubCounters {
    let publishers = 0;
    let players = 0;
    for (const s of this.sources.values()) {
      if (s.publisher) publishers++;
      players += s.consumers.size;
    }
    return { streams: this.sources.size, publishers, players, bytesIn: this.bytesIn, bytesOut: this.bytesOut, playersDroppedBehind: this.playersDroppedBehind, messagesDropped: this.messagesDropped };
  }

  /** Whether the stream has a publisher now, and which sequence headers it sent (for FLV header flags). */
  state(key: StreamKey): { publishing: boolean; audio: boolean; video: boolean } | null {
    const s = this.sources.get(streamPath(key));
    if (!s) return null;
    return { publishing: s.publisher !== null, audio: s.hasAudioHeader, video: s.hasVideoHeader };
  }

  private snapshot(s: LiveSource): StreamSnapshot {
    const v = s.video;
    const a = s.audio;
    return {
      id: s.id,
      name: s.key.stream,
      vhost: this.vhostId(s.key.vhost),
      app: s.key.app,
      tcUrl: s.tcUrl,
      url: streamUrl(s.key),
      live_ms: this.now(),
      clients: s.consumers.size + (s.publisher ? 1 : 0),
      frames: s.frames,
      send_bytes: s.send.total,
      recv_bytes: s.recv.total,
      kbps: { recv_30s: s.recv.kbps(), send_30s: s.send.kbps() },
      publish: s.publisher ? { active: true, cid: s.publisher.cid } : { active: false },
      video: s.publisher && v ? { codec: v.codec, profile: v.profile, level: v.level, width: v.width, height: v.height } : null,
      audio: s.publisher && a ? { codec: a.codec, sample_rate: a.sample_rate, channel: a.channel, profile: a.profile } : null,
    };
  }

  private vhostId(name: string): string {
    let id = this.vhostIds.get(name);
    if (!id) this.vhostIds.set(name, (id = `vid-${randomId(7)}`));
    return id;
  }

  private sourceFor(key: StreamKey, settings: MediaSettings): LiveSource {
    const path = streamPath(key);
    let s = this.sources.get(path);
    if (!s) {
      s = new LiveSource({ vhost: key.vhost, app: key.app, stream: key.stream }, `vid-${randomId(7)}`, settings, this.now);
      this.sources.set(path, s);
    }
    return s;
  }

  private maybeRemove(s: LiveSource): void {
    if (!s.publisher && s.consumers.size === 0 && this.sources.get(streamPath(s.key)) === s) this.sources.delete(streamPath(s.key));
  }

  private hostFor(s: LiveSource): ConsumerHost {
    return {
      now: this.now,
      schedule: (c) => {
        c.scheduled = true;
        this.dirty.push(c);
        if (this.flushPending) return;
        this.flushPending = true;
        this.schedule(() => this.flushDirty());
      },
      hold: (c) => {
        this.held.add(c);
        this.armSweep();
      },
      sent: (_c, bytes) => {
        this.bytesOut += bytes;
        s.send.add(bytes);
      },
      dropped: (_c, n) => {
        this.messagesDropped += n;
      },
      fellBehind: () => {
        this.playersDroppedBehind++;
      },
      detach: (c) => {
        s.consumers.delete(c);
        this.maybeRemove(s);
      },
      hasVideo: () => s.hasVideo,
    };
  }

  /**
   * The wall-clock side of the merged write: a held consumer whose oldest message has waited
   * mw_latency is written even if its stream has stalled. Consumers that a new message made due
   * were written already (enqueue schedules them) and leave the set here.
   */
  private sweep(): void {
    this.sweepArmed = false;
    for (const c of this.held) {
      const nothingHeld = c.closed || c.queued === 0 || c.scheduled;
      if (!nothingHeld && !c.due()) continue;
      this.held.delete(c);
      c.held = false;
      if (!nothingHeld) c.flush();
    }
    if (this.held.size > 0) this.armSweep();
  }

  private armSweep(): void {
    if (this.sweepArmed) return;
    this.sweepArmed = true;
    this.setTimer(() => this.sweep(), MW_SWEEP_MS);
  }

  private flushDirty(): void {
    this.flushPending = false;
    const list = this.dirty;
    this.dirty = [];
    for (const c of list) if (c.scheduled) c.flush();
  }
}
