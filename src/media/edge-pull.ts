// The pull of one live stream from an upstream server (an edge's origin, or the old process of an
// upgrade) over RTMP, fed into the local hub as that stream's publisher: every local player of the
// stream is served by the same fan-out as on an origin. It runs while the stream has players,
// retries the upstreams in order with a growing pause when one fails or loses the stream, and
// stops a while after its last player left.
// Source: SRS srs_app_edge.cpp (SrsPlayEdge, SrsEdgeIngester: connect, play, ingest, the retry
// sleep and the receive timeout; on_all_client_stop).
import type { MediaSettings, PublisherHandle, Source, StreamKey } from './hub';
import { DEFAULT_VHOST, streamPath } from './hub';
import type { RtmpMessage } from './message';
import type { SessionLog } from './rtmp/session';
import { nextAttempt, type RetryPolicy } from './edge-retry';

/** An upstream server: `host:port` as written in `origin` (IPv6 as [::1]:1935). */
export interface Upstream {
  host: string;
  port: number;
  text: string;
}

/** What the pull needs of an RTMP client (RtmpClient from src/media/rtmp/client.ts). */
export interface PullClient {
  on(event: 'message', fn: (m: RtmpMessage) => void): unknown;
  on(event: 'status', fn: (s: { code: string; level: string }) => void): unknown;
  once(event: 'close', fn: (reason: string) => void): unknown;
  play(name: string): Promise<number>;
  close(reason?: string): void;
}

/** The hub, as far as a pull uses it. */
export interface PullHub {
  publish(key: StreamKey, publisher: PublisherHandle, settings: MediaSettings): Source | null;
}

export interface EdgePullDeps {
  key: StreamKey;
  hub: PullHub;
  /** the stream's hub settings, read when the pull starts publishing */
  settings: () => MediaSettings;
  /** the upstreams in the order to try them, read before each attempt (a reload applies) */
  upstreams: () => readonly Upstream[];
  /** the vhost to ask the upstream for (cluster { vhost }: the client's by default) */
  upstreamVhost: string;
  /** connect to a tcUrl (rtmp://host:port/app[?vhost=v]); rejects when the upstream does not answer */
  connect: (tcUrl: string) => Promise<PullClient>;
  log: SessionLog;
  /** the pull's id in the hub (its PublisherHandle cid) and in log lines */
  cid: string;
  /** what the log lines call it: 'edge pull' or 'upgrade relay' */
  what: string;
  retry: RetryPolicy;
  /** ms: an upstream that sends no media this long (after play, or after its publisher left) is left for the next */
  mediaTimeoutMs: number;
  /** ms: the pull stops this long after its last player left */
  idleMs: number;
  /** the pull has stopped for good (idle, kicked, stopped): the owner forgets it */
  onStop: (pull: EdgePull) => void;
}

/** tcUrl of the upstream app: rtmp://host:port/app, `?vhost=` added for a vhost other than the default. */
export function upstreamTcUrl(u: Upstream, app: string, vhost: string): string {
  return `rtmp://${u.text}/${app}${vhost && vhost !== DEFAULT_VHOST ? `?vhost=${encodeURIComponent(vhost)}` : ''}`;
}

/**
 * One stream's pull. join()/leave() count its players; yieldTo()/resume() hand the stream to a
 * local publisher and back. It is the hub's PublisherHandle while it feeds the stream.
 */
export class EdgePull implements PublisherHandle {
  readonly cid: string;
  readonly type = 'fmle-publish' as const;
  private readonly deps: EdgePullDeps;
  private players = 0;
  private failures = 0;
  /** bumped on every new attempt: events of an older client are ignored */
  private gen = 0;
  private client: PullClient | null = null;
  private upstream: Upstream | null = null;
  private source: Source | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private mediaTimer: NodeJS.Timeout | null = null;
  private running = false;
  private yielded = false;
  private stopped = false;

  constructor(deps: EdgePullDeps) {
    this.deps = deps;
    this.cid = deps.cid;
  }

  get remote(): string {
    return this.upstream?.text ?? '';
  }

  get tcUrl(): string {
    return this.upstream ? upstreamTcUrl(this.upstream, this.deps.key.app, this.deps.upstreamVhost) : '';
  }

  /** true while its media feeds the hub */
  get publishing(): boolean {
    return this.source !== null;
  }

  /** true once it stopped for good */
  get done(): boolean {
    return this.stopped;
  }

  /** A player of the stream arrived: cancel a pending idle stop, start pulling if not yet. */
  join(): void {
    if (this.stopped) return;
    this.players++;
    this.clearIdle();
    if (!this.running && !this.yielded) this.begin();
  }

  /** A player left: after the last one, stop `idleMs` later unless another arrives. */
  leave(): void {
    if (this.stopped || this.players === 0) return;
    this.players--;
    if (this.players > 0) return;
    this.leaveIdle();
  }

  /** A local publisher takes the stream: stop feeding it and disconnect; resume() when it leaves. */
  yieldTo(): void {
    if (this.stopped || this.yielded) return;
    this.yielded = true;
    this.halt();
    this.deps.log.info({ stream: streamPath(this.deps.key), cid: this.cid }, `${this.deps.what}: a local publisher took the stream`);
  }

  /** The local publisher left: pull again if players are waiting. */
  resume(): void {
    if (this.stopped || !this.yielded) return;
    this.yielded = false;
    this.failures = 0;
    if (this.players > 0) this.begin();
    else this.leaveIdle();
  }

  /**
   * The hub asks the publisher to leave: an API kick with players waiting starts the pull over
   * from the first origin (they keep their connection, as with a lost origin); else it stops.
   */
  kick(reason: string): void {
    if (this.stopped) return;
    if (this.players === 0 || this.yielded) return this.stop(reason);
    this.deps.log.info({ stream: streamPath(this.deps.key), cid: this.cid, reason }, `${this.deps.what} kicked (${reason}): start over`);
    this.halt();
    this.begin();
  }

  /** Stop for good: disconnect, release the stream (its players are told it ended), forget. */
  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearIdle();
    this.halt();
    this.deps.log.info({ stream: streamPath(this.deps.key), cid: this.cid, reason }, `${this.deps.what} stop (${reason})`);
    this.deps.onStop(this);
  }

  // ---- attempts -------------------------------------------------------------------------------

  private leaveIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => this.stop('idle'), this.deps.idleMs);
    this.idleTimer.unref();
  }

  private begin(): void {
    this.running = true;
    this.failures = 0;
    this.schedule();
  }

  /** Disconnect and release the stream; no further attempt until begin(). */
  private halt(): void {
    this.running = false;
    this.gen++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearMedia();
    this.release();
    const c = this.client;
    this.client = null;
    c?.close('pull stopped');
  }

  private schedule(): void {
    const ups = this.deps.upstreams();
    if (ups.length === 0) {
      this.stop('no upstream left');
      return;
    }
    const { origin, delayMs } = nextAttempt(this.failures, ups.length, this.deps.retry);
    const up = ups[origin];
    if (delayMs === 0) {
      void this.attempt(up);
      return;
    }
    this.deps.log.info({ stream: streamPath(this.deps.key), cid: this.cid, origin: up.text, delay_ms: delayMs, failures: this.failures }, `${this.deps.what} retry ${up.text} in ${delayMs} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt(up);
    }, delayMs);
    this.retryTimer.unref();
  }

  private async attempt(up: Upstream): Promise<void> {
    const gen = ++this.gen;
    const { key } = this.deps;
    const tcUrl = upstreamTcUrl(up, key.app, this.deps.upstreamVhost);
    this.upstream = up;
    this.deps.log.info({ stream: streamPath(key), cid: this.cid, origin: up.text, tcUrl }, `${this.deps.what} start from ${up.text}`);
    let client: PullClient;
    try {
      client = await this.deps.connect(tcUrl);
    } catch (e) {
      if (gen === this.gen) this.failed(up, `connect: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (gen !== this.gen) {
      client.close('pull stopped');
      return;
    }
    this.client = client;
    client.on('message', (m) => {
      if (gen === this.gen) this.onMedia(m);
    });
    client.on('status', (s) => {
      if (gen === this.gen) this.onStatus(s.code);
    });
    client.once('close', (reason) => {
      if (gen !== this.gen) return;
      this.client = null;
      this.lost(up, `connection closed: ${reason}`);
    });
    try {
      await client.play(key.stream);
    } catch (e) {
      if (gen === this.gen) {
        this.client = null;
        client.close('play failed');
        this.failed(up, `play: ${e instanceof Error ? e.message : String(e)}`);
      }
      return;
    }
    if (gen === this.gen) this.armMedia(up);
  }

  /** An attempt that brought no media: the next origin, after the policy's pause. */
  private failed(up: Upstream, why: string): void {
    this.deps.log.warn({ stream: streamPath(this.deps.key), cid: this.cid, origin: up.text, reason: why }, `${this.deps.what} from ${up.text} failed: ${why}`);
    this.gen++;
    this.clearMedia();
    this.release();
    const c = this.client;
    this.client = null;
    c?.close(why);
    this.failures++;
    if (this.running) this.schedule();
  }

  /** The connection of an attempt ended: a pull that was feeding starts over with the first origin. */
  private lost(up: Upstream, why: string): void {
    if (this.source) {
      this.deps.log.warn({ stream: streamPath(this.deps.key), cid: this.cid, origin: up.text, reason: why }, `${this.deps.what} from ${up.text} lost: ${why}`);
      this.gen++;
      this.clearMedia();
      this.release();
      this.failures = 0;
      if (this.running) this.schedule();
      return;
    }
    this.failed(up, why);
  }

  private onMedia(m: RtmpMessage): void {
    this.mediaTimer?.refresh();
    if (!this.source) {
      this.source = this.deps.hub.publish(this.deps.key, this, this.deps.settings());
      // a local publisher holds the stream (yieldTo() comes with it): drop what the upstream sends
      if (!this.source) return;
      this.failures = 0;
      this.deps.log.info({ stream: streamPath(this.deps.key), cid: this.cid, origin: this.upstream?.text }, `${this.deps.what} publishing from ${this.upstream?.text}`);
    }
    this.source.feed(m);
  }

  private onStatus(code: string): void {
    // the upstream's publisher left: the local players are told, the pull waits for a new one
    // there for mediaTimeoutMs before it tries the next origin
    if (code === 'NetStream.Play.UnpublishNotify') this.release();
  }

  private release(): void {
    const s = this.source;
    this.source = null;
    s?.unpublish();
  }

  private armMedia(up: Upstream): void {
    this.clearMedia();
    this.mediaTimer = setTimeout(() => this.failed(up, `no media in ${this.deps.mediaTimeoutMs} ms`), this.deps.mediaTimeoutMs);
    this.mediaTimer.unref();
  }

  private clearMedia(): void {
    if (this.mediaTimer) clearTimeout(this.mediaTimer);
    this.mediaTimer = null;
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
