// The media service: one stream hub for the process, the RTMP session on every `listen`, HTTP-FLV
// on the file server where a vhost's http_remux asks for it, and what the API shows of streams and
// clients. A reload hands it the new config: sessions that start after it read the new vhost
// settings; sessions already live keep theirs (SRS applies vhost changes to new sessions too).
import { createServer, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SrsConfig } from '../config/schema';
import { checkSecurity, mediaSettingsFor, resolveVhost, type MediaSettings as VhostMedia } from '../config/vhost';
import type { Connection } from '../server/registry';
import type { AcceptContext, RoleHandler } from '../server/service';
import { StreamHub, type ClientSnapshot, type HubCounters, type MediaSettings, type StreamKey, type StreamSnapshot } from './hub';
import { matchFlvMount, serveHttpFlv } from './http-flv';
import { RtmpSession, type SessionLog, type SettingsResolver, type VhostSettings } from './rtmp/session';
import { resolveVhost as routeVhost } from './rtmp/request';
import { Edge, type UpstreamPlan } from './edge';
import { renderMessage } from '../errors';
import { StreamDrainLog, drainCounts } from './drain';

/** bytes: one player's queue may hold this much before it skips to the next keyframe */
export const PLAYER_QUEUE_MAX_BYTES = 8 * 1024 * 1024;
/** ms between two looks, during a drain, for players whose publisher has gone */
export const DRAIN_SWEEP_MS = 200;

/** The hub's settings of a vhost, from the config's resolved vhost settings. */
export function hubSettings(v: VhostMedia): MediaSettings {
  return { gopCache: v.gopCache, queueLengthMs: v.queueLengthMs, queueMaxBytes: PLAYER_QUEUE_MAX_BYTES, mwLatencyMs: v.mwLatencyMs, mwMsgs: v.mwMsgs, timeJitter: v.timeJitter };
}

/** What the API and the file server ask of the media side (see ApiContext.media). */
export interface MediaApi {
  streams(): StreamSnapshot[];
  stream(id: string): StreamSnapshot | null;
  clients(): ClientSnapshot[];
  /** true when a media client with this id was asked to leave */
  kick(id: string): boolean;
  counters(): HubCounters;
  /**
   * An HTTP-FLV request for a mounted stream: the stream it plays and the response's settings,
   * or null when no vhost mounts that path (the file server answers as for any file).
   * @param urlPath the request's path and query, as received
   * @param host the Host header (SRS picks the vhost by it), without a port
   */
  matchFlv(urlPath: string, host: string): { key: StreamKey; vhost: VhostMedia } | null;
  /**
   * Serve an HTTP-FLV player on a raw response; the connection is the registry's. Returns null,
   * or why the vhost's security refuses this player (nothing written: the caller answers 403).
   */
  serveFlv(req: IncomingMessage, res: ServerResponse, key: StreamKey, vhost: VhostMedia, connection: Connection): string | null;
}

export interface MediaServiceDeps {
  /** the running config; read each time a session starts */
  config: () => SrsConfig;
  version: string;
  log: () => SessionLog;
  /**
   * After an upgrade: the old process's relay (host:port) and whether it still runs. While it does,
   * a play for a stream with no local publisher pulls it from there (until a local publish).
   */
  relayFrom?: { address: string; upstreamAlive: () => boolean } | null;
}

/**
 * The media side of the process. `rtmpHandler()` is the `rtmp` role's handler; `api` is what the
 * HTTP side shows and serves; `drain` asks every player and publisher to leave (graceful quit,
 * upgrade): players are told the stream ended, publishers are closed after their current message.
 */
export class MediaService {
  readonly hub = new StreamHub();
  private readonly deps: MediaServiceDeps;
  private readonly sessions = new Map<string, RtmpSession>();
  readonly resolver: SettingsResolver;
  /** pulls and forwards of vhosts in cluster mode remote */
  readonly edge: Edge;
  private draining = false;
  private relayGone = false;
  private sweeper: NodeJS.Timeout | null = null;
  /** the drain's per-stream log */
  readonly drainLog: StreamDrainLog;

  constructor(deps: MediaServiceDeps) {
    this.deps = deps;
    this.drainLog = new StreamDrainLog(
      () => drainCounts(this.hub.streams(), this.hub.vhosts()),
      (msg) => this.deps.log().info({}, msg),
    );
    this.resolver = {
      vhostNames: () => this.deps.config().vhostConfigs.map((v) => v.name),
      settings: (vhost) => this.vhostSettings(vhost),
    };
    this.edge = new Edge({
      hub: this.hub,
      upstream: (vhost) => this.upstreamOf(vhost),
      settings: (vhost) => hubSettings(mediaSettingsFor(this.deps.config(), vhost)),
      log: this.deps.log,
    });
  }

  /**
   * An edge vhost's origins (cluster { mode remote; origin ...; }); on an origin's vhost, the old
   * process's relay while it runs after an upgrade; else null (streams are local).
   */
  private upstreamOf(vhost: string): UpstreamPlan | null {
    const c = mediaSettingsFor(this.deps.config(), vhost).cluster;
    if (c.mode === 'remote' && c.origins.length > 0) return { origins: c.origins, vhost: c.vhost === '[vhost]' ? vhost : c.vhost, forward: true, what: 'edge pull' };
    const relay = this.deps.relayFrom;
    if (!relay || this.relayGone) return null;
    if (!relay.upstreamAlive()) {
      // for good: the old process does not come back, no need to look again
      this.relayGone = true;
      return null;
    }
    const i = relay.address.lastIndexOf(':');
    const upstream = { host: relay.address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(relay.address.slice(i + 1)), text: relay.address };
    return { origins: [upstream], vhost, forward: false, what: 'upgrade relay' };
  }

  /**
   * Upgrade, old side: a private RTMP listener on 127.0.0.1 (a free port) from which the new
   * process pulls the streams still published here. Its sessions may only play; they are not the
   * registry's, so they do not hold the drain: the relay ends with this process.
   * @returns its address (host:port) and close()
   * @throws the listen error
   */
  async openRelay(): Promise<{ address: string; close(): void }> {
    const sessions = new Set<RtmpSession>();
    const edgeHub = this.edge.sessionHub();
    let n = 0;
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      const log = this.deps.log();
      const session = new RtmpSession(socket, {
        // a relay connection plays only: a publish is refused (NetStream.Publish.BadName). Its
        // player is the new process, which merges writes for its own viewers: merging on this hop
        // too would add another mw_latency to every relayed frame.
        hub: { play: (key, sink, settings) => edgeHub.play(key, sink, { ...settings, mwLatencyMs: 0 }), publish: () => null },
        resolver: this.resolver,
        log,
        cid: `relay-${process.pid}-${++n}`,
        server: { name: 'srs', version: this.deps.version, pid: process.pid },
        onClose: () => sessions.delete(session),
      });
      sessions.add(session);
      session.start();
      socket.resume();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // the relay must not keep this process alive once its own connections are gone
    server.unref();
    const port = (server.address() as { port: number }).port;
    const address = `127.0.0.1:${port}`;
    this.deps.log().info({ address }, `upgrade relay: the new process may pull live streams from ${address}`);
    return {
      address,
      close: () => {
        server.close();
        for (const s of sessions) s.drain('upgrade relay closed');
      },
    };
  }

  private vhostSettings(name: string): VhostSettings | null {
    const v = mediaSettingsFor(this.deps.config(), name);
    if (v.vhost === null) return null;
    const log = this.deps.log;
    return {
      media: hubSettings(v),
      chunkSize: v.chunkSize,
      firstPacketTimeoutMs: v.firstPktTimeoutMs,
      normalTimeoutMs: v.normalTimeoutMs,
      allow(action, ip, req) {
        const d = checkSecurity(v.security, action, ip);
        if (!d.allowed) log().warn({ code: 'SRS_WARN_SECURITY_DENIED', vhost: v.vhost, action, ip, stream: `${req.app}/${req.stream}` }, `security: ${action} denied for ${ip}: ${d.reason}`);
        return d.allowed;
      },
    };
  }

  /** The handler of the `rtmp` role: an RTMP session on each admitted socket. */
  rtmpHandler(): RoleHandler {
    return {
      kind: 'media',
      accept: (socket: Socket, connection: Connection, ctx: AcceptContext) => {
        ctx.log.info({ cid: connection.id, remote: connection.remote }, 'rtmp client connected');
        const session = new RtmpSession(socket, {
          hub: this.edge.sessionHub(),
          resolver: this.resolver,
          log: ctx.log,
          cid: connection.id,
          server: { name: 'srs', version: this.deps.version, pid: process.pid },
          onClose: () => this.sessions.delete(connection.id),
        });
        this.sessions.set(connection.id, session);
        // no per-connection drain hook: a graceful quit lets a live stream go on, and the
        // service's drain decides about sessions still connecting (see drain()). One accepted
        // while its listener closes (ListenerSet.settleAndClose) is served like one accepted a
        // moment before: closed unread it would fail its handshake (and reset at the close)
        session.start();
        // accepted paused (pauseOnConnect): reading starts once the session listens
        socket.resume();
      },
    };
  }

  /**
   * A graceful quit's listeners are closed: players of a stream with no publisher go now (their
   * stream cannot come back to this process); a live stream goes on until
   * its publisher stops (then its players are told and closed) or the drain's bound, as SRS waits
   * for its clients. Checked every 200 ms until the process ends.
   */
  drain(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    this.sweep(reason);
    this.sweeper = setInterval(() => this.sweep(reason), DRAIN_SWEEP_MS);
    this.sweeper.unref();
  }

  private sweep(reason: string): void {
    // said before the players of a stream whose publisher left are closed: `0 publishers, 20 players`
    this.drainLog.report();
    // a session that neither publishes nor plays yet is a client like any other: the drain waits
    // for it (as SRS waits), bounded by its identify timeout and by grace_max_wait
    const live = new Set(this.hub.streams().filter((st) => st.publish.active).map((st) => st.id));
    for (const c of this.hub.clients()) if (!c.publish && !live.has(c.stream)) this.hub.kick(c.id);
    this.drainLog.report();
  }

  /** The drain's bound: every player told its stream ended and closed, every publisher closed after its current message. */
  cut(reason: string): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.drainLog.report();
    this.hub.drainAll(reason);
    this.edge.stopAll(reason);
    for (const s of this.sessions.values()) if (s.snapshot().kind === null) s.drain(reason);
  }

  readonly api: MediaApi = {
    streams: () => this.hub.streams(),
    stream: (id) => this.hub.stream(id),
    clients: () => this.hub.clients(),
    kick: (id) => this.hub.kick(id) || this.kickSession(id),
    counters: () => this.hub.counters(),
    matchFlv: (urlPath, host) => {
      // every GET on the file server comes here: settle it on the vhost's own fields, and build
      // the full settings only for a request that is a mounted stream
      const cfg = this.deps.config();
      const name = routeVhost(host, cfg.vhostConfigs.map((v) => v.name));
      const found = resolveVhost(cfg, name).vhost;
      if (!found || !found.httpRemux.enabled || !found.httpRemux.mount.endsWith('.flv')) return null;
      const key = matchFlvMount(found.httpRemux.mount, found.name, urlPath);
      return key ? { key, vhost: mediaSettingsFor(cfg, found.name) } : null;
    },
    serveFlv: (req, res, key, vhost, connection) => {
      // SRS checks the vhost's security for an HTTP-FLV player as for an RTMP one
      const ip = connection.remote.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
      const d = checkSecurity(vhost.security, 'play', req.socket.remoteAddress ?? ip);
      if (!d.allowed) {
        this.deps.log().warn({ code: 'SRS_WARN_SECURITY_DENIED', cid: connection.id, vhost: vhost.vhost, ip }, `security: play denied for ${ip}: ${d.reason}`);
        // the HTTP side answers it in the API's one error shape
        return renderMessage('SRS_ERR_API_FORBIDDEN', { vhost: vhost.vhost ?? '', reason: d.reason });
      }
      serveHttpFlv(req, res, this.hub, key, hubSettings(vhost), connection.id);
      res.once('close', this.edge.playerJoined(key));
      return null;
    },
  };

  /** A session that has not published or played yet (still connecting) has no hub entry. */
  private kickSession(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.drain('kicked');
    return true;
  }

  snapshot(): { sessions: number; streams: number; players: number; publishers: number } {
    const c = this.hub.counters();
    return { sessions: this.sessions.size, streams: c.streams, players: c.players, publishers: c.publishers };
  }
}
