// The edge: streams of a vhost in cluster mode remote live on its origins. A play for a stream the
// edge does not have starts a pull from the first origin that answers (the same fan-out serves
// every local player), a publish is forwarded to an origin. The same pull serves an upgrade: the
// new process pulls a stream still published to the old one (see `upstream`).
// Source: SRS srs_app_source.cpp (SrsLiveSource: play_edge / publish_edge, on_edge_start_play,
// on_edge_start_publish), srs_app_edge.cpp.
import type { Consumer, MediaSettings, PlayerSink, PublisherHandle, Source, StreamKey } from './hub';
import { streamPath } from './hub';
import type { RtmpMessage } from './message';
import type { SessionHub, SessionLog } from './rtmp/session';
import { RtmpClient } from './rtmp/client';
import { EdgePull, type PullClient, type PullHub, type Upstream } from './edge-pull';
import { EdgeForward, type ForwardClient } from './edge-forward';
import { EDGE_RETRY, type RetryPolicy } from './edge-retry';

/** ms an edge keeps pulling after its last player left (srs's cluster { idle_timeout }; SRS stops at once). */
export const EDGE_IDLE_TIMEOUT_MS = 5000;
/** ms without media from an origin before the edge tries the next (SRS's SRS_EDGE_INGESTER_TIMEOUT, 5 s) */
export const EDGE_MEDIA_TIMEOUT_MS = 5000;
/** bytes an edge's forward may hold for a slow or not yet connected origin */
export const EDGE_FORWARD_MAX_QUEUE_BYTES = 16 * 1024 * 1024;

/** Where a vhost's streams come from, when not from local publishers. */
export interface UpstreamPlan {
  /** in the order to try them */
  origins: readonly Upstream[];
  /** the vhost to ask them for */
  vhost: string;
  /** a local publish goes to the origin too (an edge); false for the upgrade relay */
  forward: boolean;
  /** what log lines call the pull */
  what: string;
  /** ms the pull goes on after its last player left (default EDGE_IDLE_TIMEOUT_MS) */
  idleMs?: number;
}

/** The hub, as far as the edge uses it. */
export interface EdgeHub extends PullHub {
  play(key: StreamKey, sink: PlayerSink, settings: MediaSettings): Consumer;
}

export interface EdgeDeps {
  hub: EdgeHub;
  /** the plan for a vhost's streams; null when its streams are local (an origin) */
  upstream: (vhost: string) => UpstreamPlan | null;
  /** the hub settings of a vhost (read when a pull starts publishing) */
  settings: (vhost: string) => MediaSettings;
  log: () => SessionLog;
  /** default: RtmpClient.connect with a 5 s bound */
  connect?: (tcUrl: string) => Promise<PullClient & ForwardClient>;
  idleMs?: number;
  mediaTimeoutMs?: number;
  retry?: RetryPolicy;
}

async function rtmpConnect(tcUrl: string): Promise<PullClient & ForwardClient> {
  const { client } = await RtmpClient.connect(tcUrl, { timeoutMs: 5000 });
  return client;
}

/** The pulls of this process, one per stream, and the hub its RTMP sessions go through. */
export class Edge {
  private readonly deps: EdgeDeps;
  private readonly pulls = new Map<string, EdgePull>();
  /** streams a local publisher holds now: a pull made meanwhile waits for it to leave */
  private readonly local = new Set<string>();
  private seq = 0;

  constructor(deps: EdgeDeps) {
    this.deps = deps;
  }

  /**
   * A player of `key` arrived: on a vhost with an upstream, its stream's pull counts it (and
   * starts). Call the returned function once when the player leaves (idempotent).
   */
  playerJoined(key: StreamKey): () => void {
    const plan = this.deps.upstream(key.vhost);
    if (!plan) return () => {};
    const pull = this.pullFor(key, plan);
    if (this.local.has(streamPath(key))) pull.yieldTo();
    pull.join();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      pull.leave();
    };
  }

  /**
   * A local publisher arrived: it takes the stream from a pull (hub: one publisher per stream), and
   * on an edge its media is forwarded to an origin as well.
   * @returns the source to feed, or null when another local publisher holds the stream
   */
  publish(key: StreamKey, publisher: PublisherHandle, settings: MediaSettings): Source | null {
    const path = streamPath(key);
    // another local publisher holds it: the hub refuses this one, and the pull stays yielded
    if (this.local.has(path)) return this.deps.hub.publish(key, publisher, settings);
    let pull = this.pulls.get(path);
    if (pull?.done) pull = undefined;
    // the pull gives way before the hub is asked: with it publishing, the hub would refuse
    if (pull) pull.yieldTo();
    const source = this.deps.hub.publish(key, publisher, settings);
    if (!source) {
      pull?.resume();
      return null;
    }
    this.local.add(path);
    const plan = this.deps.upstream(key.vhost);
    let forward: EdgeForward | null = null;
    if (plan?.forward) {
      forward = new EdgeForward({
        key,
        publisher,
        upstreams: plan.origins,
        upstreamVhost: plan.vhost,
        connect: this.deps.connect ?? rtmpConnect,
        log: this.deps.log(),
        maxQueueBytes: EDGE_FORWARD_MAX_QUEUE_BYTES,
      });
      void forward.start();
    }
    let live = true;
    return {
      feed: (m: RtmpMessage) => {
        source.feed(m);
        forward?.feed(m);
      },
      unpublish: () => {
        if (!live) return;
        live = false;
        source.unpublish();
        forward?.stop();
        forward = null;
        this.local.delete(path);
        const p = this.pulls.get(path);
        if (p && !p.done) p.resume();
      },
    };
  }

  /** The hub an RTMP session uses: plays and publishes go through the edge. */
  sessionHub(): SessionHub {
    return {
      publish: (key, publisher, settings) => this.publish(key, publisher, settings),
      play: (key, sink, settings) => {
        const consumer = this.deps.hub.play(key, sink, settings);
        const leave = this.playerJoined(key);
        return {
          drained: () => consumer.drained(),
          pause: (p: boolean) => consumer.pause(p),
          close: () => {
            consumer.close();
            leave();
          },
        };
      },
    };
  }

  /** Stop every pull (the drain's bound): their players are told the stream ended. */
  stopAll(reason: string): void {
    for (const p of [...this.pulls.values()]) p.stop(reason);
  }

  /** Streams being pulled now, for the log and tests. */
  pulling(): string[] {
    return [...this.pulls.keys()];
  }

  private pullFor(key: StreamKey, plan: UpstreamPlan): EdgePull {
    const path = streamPath(key);
    const have = this.pulls.get(path);
    if (have && !have.done) return have;
    const pull: EdgePull = new EdgePull({
      key,
      hub: this.deps.hub,
      settings: () => this.deps.settings(key.vhost),
      // re-read on every attempt: a reload that changes the origins applies to the next one, and
      // a pull whose upstream went (the upgrade's old process exited) stops
      upstreams: () => this.deps.upstream(key.vhost)?.origins ?? [],
      upstreamVhost: plan.vhost,
      connect: this.deps.connect ?? rtmpConnect,
      log: this.deps.log(),
      cid: `edge-${process.pid}-${++this.seq}`,
      what: plan.what,
      retry: this.deps.retry ?? EDGE_RETRY,
      mediaTimeoutMs: this.deps.mediaTimeoutMs ?? EDGE_MEDIA_TIMEOUT_MS,
      idleMs: plan.idleMs ?? this.deps.idleMs ?? EDGE_IDLE_TIMEOUT_MS,
      onStop: (p) => {
        if (this.pulls.get(path) === p) this.pulls.delete(path);
      },
    });
    this.pulls.set(path, pull);
    return pull;
  }
}
