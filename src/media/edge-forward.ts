// An edge's publish, forwarded: the edge's publisher feeds an RTMP client that publishes the same
// stream to the first origin that answers. What arrives before the origin accepted the publish
// (sequence headers, metadata, the first frames) is queued and sent first. The forward ends with
// the publisher; a forward that loses its origin closes the publisher (as SRS's edge does).
// Source: SRS srs_app_edge.cpp (SrsPublishEdge, SrsEdgeForwarder: connect, publish, proxy).
import type { PublisherHandle, StreamKey } from './hub';
import { streamPath } from './hub';
import type { RtmpMessage } from './message';
import type { SessionLog } from './rtmp/session';
import { upstreamTcUrl, type Upstream } from './edge-pull';

/** What the forward needs of an RTMP client (RtmpClient from src/media/rtmp/client.ts). */
export interface ForwardClient {
  readonly socket: { writableLength: number };
  once(event: 'close', fn: (reason: string) => void): unknown;
  publish(name: string): Promise<number>;
  send(m: RtmpMessage): void;
  close(reason?: string): void;
}

export interface EdgeForwardDeps {
  key: StreamKey;
  publisher: PublisherHandle;
  upstreams: readonly Upstream[];
  upstreamVhost: string;
  connect: (tcUrl: string) => Promise<ForwardClient>;
  log: SessionLog;
  /** bytes queued (before the origin accepts, or unsent on its socket) above which the publisher is closed */
  maxQueueBytes: number;
}

/**
 * One edge publish's forward. start() once; feed() every message of the publisher; stop() when it
 * leaves. Bytes held for the origin are bounded by maxQueueBytes: above it the publisher is closed.
 */
export class EdgeForward {
  private readonly deps: EdgeForwardDeps;
  private client: ForwardClient | null = null;
  private streamId = 0;
  private queue: RtmpMessage[] = [];
  private queued = 0;
  private stopped = false;

  constructor(deps: EdgeForwardDeps) {
    this.deps = deps;
  }

  /** Connect to the upstreams in order; the first that accepts the publish gets the stream. */
  async start(): Promise<void> {
    const { key, log } = this.deps;
    const errors: string[] = [];
    for (const up of this.deps.upstreams) {
      if (this.stopped) return;
      const tcUrl = upstreamTcUrl(up, key.app, this.deps.upstreamVhost);
      let client: ForwardClient | null = null;
      try {
        client = await this.deps.connect(tcUrl);
        if (this.stopped) return client.close('forward stopped');
        const sid = await client.publish(key.stream);
        if (this.stopped) return client.close('forward stopped');
        this.client = client;
        this.streamId = sid;
        client.once('close', (reason) => this.lost(up, reason));
        log.info({ stream: streamPath(key), cid: this.deps.publisher.cid, origin: up.text }, `edge forward start to ${up.text}`);
        for (const m of this.queue) this.send(m);
        this.queue = [];
        this.queued = 0;
        return;
      } catch (e) {
        client?.close('publish failed');
        errors.push(`${up.text}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (this.stopped) return;
    this.stopped = true;
    log.warn({ stream: streamPath(key), cid: this.deps.publisher.cid, errors }, `edge forward failed: no origin took the publish (${errors.join('; ')})`);
    this.deps.publisher.kick('edge forward: no origin took the publish');
  }

  /** One message of the edge's publisher. */
  feed(m: RtmpMessage): void {
    if (this.stopped) return;
    if (this.client) return this.send(m);
    this.queue.push(m);
    this.queued += m.payload.length;
    if (this.queued > this.deps.maxQueueBytes) this.overflow(`${this.queued} bytes queued before an origin took the publish`);
  }

  /** The edge's publisher left: the forward ends (the origin's players are told, as for any publisher). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    const c = this.client;
    this.client = null;
    if (c) {
      c.close('edge publisher left');
      this.deps.log.info({ stream: streamPath(this.deps.key), cid: this.deps.publisher.cid }, 'edge forward stop');
    }
  }

  private send(m: RtmpMessage): void {
    const c = this.client;
    if (!c) return;
    c.send({ ...m, streamId: this.streamId });
    if (c.socket.writableLength > this.deps.maxQueueBytes) this.overflow(`the origin left ${c.socket.writableLength} bytes unread`);
  }

  private overflow(why: string): void {
    this.deps.log.warn({ stream: streamPath(this.deps.key), cid: this.deps.publisher.cid, reason: why }, `edge forward: ${why}, close the publisher`);
    this.stop();
    this.deps.publisher.kick(`edge forward: ${why}`);
  }

  private lost(up: Upstream, reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.client = null;
    this.deps.log.warn({ stream: streamPath(this.deps.key), cid: this.deps.publisher.cid, origin: up.text, reason }, `edge forward to ${up.text} lost: ${reason}, close the publisher`);
    this.deps.publisher.kick(`edge forward to ${up.text} lost`);
  }
}
