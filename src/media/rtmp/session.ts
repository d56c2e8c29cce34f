// One server-side RTMP connection: handshake, connect, then publish into the stream hub or play
// from it. Pure layers (handshake, chunk, amf, command, request) do the parsing; this file holds
// the effects: the socket, timers, the hub, the log.
// Source: SRS srs_app_rtmp_conn.cpp (SrsRtmpConn::do_cycle, service_cycle, stream_service_cycle,
// publishing, do_playing, process_play_control_msg), srs_protocol_rtmp_stack.cpp (SrsRtmpServer).
import type { Duplex } from 'node:stream';
import { ChunkStreamId, frameMessage, MessageType, type RtmpMessage } from '../message';
import type { Consumer, MediaSettings, PlayerSink, PublisherHandle, Source, StreamKey } from '../hub';
import { splitAggregate } from './aggregate';
import { ChunkReader, type ChunkReaderLimits } from './chunk';
import * as cmd from './command';
import { acknowledgement, decodeControl, setChunkSize, setPeerBandwidth, userControl, UserControlEvent, windowAckSize, PeerBandwidthLimit } from './control';
import { isRtmpError } from './error';
import { ServerHandshake } from './handshake';
import { discoverRequest, resolveVhost, type RtmpRequest } from './request';

/** SRS's out window and peer bandwidth (SrsRtmpConn::service_cycle). */
export const WINDOW_ACK_SIZE = 2_500_000;
export const PEER_BANDWIDTH = 2_500_000;
/** SRS's chunk_size default and range (srs_app_config.cpp get_chunk_size; SRS_CONSTS_RTMP_{MIN,MAX}_CHUNK_SIZE). */
export const DEFAULT_OUT_CHUNK_SIZE = 60_000;
export const MIN_OUT_CHUNK_SIZE = 128;
export const MAX_OUT_CHUNK_SIZE = 65_536;
/** The message stream createStream hands out (SRS always answers 1). */
export const STREAM_ID = 1;

/** pino-like: one object of fields, then the message. */
export interface SessionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What one vhost's config says about RTMP clients; resolved by the caller from the config. */
export interface VhostSettings {
  media: MediaSettings;
  /** outgoing chunk size in bytes, 128..65536 (chunk_size, per vhost or global; SRS default 60000) */
  chunkSize: number;
  /** security { allow/deny publish|play }: true when `ip` may do `action` */
  allow(action: 'publish' | 'play', ip: string, req: RtmpRequest): boolean;
  /** publish { firstpkt_timeout } ms (SRS default 20000): no media this long after publish closes the publisher */
  firstPacketTimeoutMs: number;
  /** publish { normal_timeout } ms (SRS default 5000): no media this long after the first closes it */
  normalTimeoutMs: number;
}

export interface SettingsResolver {
  /** configured vhost names (to route an unknown host to __defaultVhost__) */
  vhostNames(): readonly string[];
  /** the vhost's settings; null when it is not configured (or disabled): connect is rejected */
  settings(vhost: string): VhostSettings | null;
}

/** The hub, as far as a session uses it (StreamHub from src/media/hub.ts). */
export interface SessionHub {
  publish(key: StreamKey, publisher: PublisherHandle, settings: MediaSettings): Source | null;
  play(key: StreamKey, sink: PlayerSink, settings: MediaSettings): Consumer;
}

/** The socket: a net.Socket, or any Duplex with the same writable-side properties. */
export type SessionSocket = Duplex & {
  remoteAddress?: string;
  remotePort?: number;
  setNoDelay?(noDelay?: boolean): unknown;
};

export interface RtmpSessionDeps {
  hub: SessionHub;
  resolver: SettingsResolver;
  log: SessionLog;
  /** connection id, in every log line (the registry's id) */
  cid: string;
  /** ms clock for `since` (default Date.now) */
  now?: () => number;
  /** C0+C1+C2 must be in by then (default 10000 ms) */
  handshakeTimeoutMs?: number;
  /** after the handshake, publish or play must come by then (default 30000 ms, SRS's SRS_CONSTS_RTMP_TIMEOUT-like) */
  identifyTimeoutMs?: number;
  /** bytes queued in the socket above which a player's writev returns false (at least the socket's own; default 256 KiB) */
  highWaterMark?: number;
  /** written bytes the peer leaves unread before srs gives up on it (default 32 MiB) */
  maxUnreadBytes?: number;
  /** connect's _result data (srs_server, srs_version, srs_pid) */
  server?: { name: string; version: string; pid: number };
  /** bounds of the chunk reader (default: 16 MiB messages, 64 chunk streams, 16 MiB unfinished) */
  readerLimits?: ChunkReaderLimits;
  /** called once when the connection is gone (socket closed, every hub attachment released) */
  onClose?: (session: RtmpSession, reason: string) => void;
}

export type SessionKind = 'publisher' | 'rtmp-player';

export interface SessionSnapshot {
  cid: string;
  remote: string;
  /** null until publish or play */
  kind: SessionKind | null;
  /** `vhost/app/stream` (the hub's streamPath), null until publish or play */
  stream: string | null;
  tcUrl: string;
  /** bytes read from / written to the socket */
  bytesIn: number;
  bytesOut: number;
  /** ms (the injected clock) when the connection was accepted */
  since: number;
}

type State = 'handshake' | 'connecting' | 'connected' | 'closed';

/**
 * The server side of one RTMP connection. Construct it on an accepted socket and call start().
 * It is the hub's PublisherHandle when it publishes and its PlayerSink when it plays.
 */
export class RtmpSession implements PlayerSink, PublisherHandle {
  readonly cid: string;
  readonly kind = 'rtmp' as const;
  readonly remote: string;
  readonly streamId = STREAM_ID;
  readonly since: number;
  bytesIn = 0;
  bytesOut = 0;

  private readonly socket: SessionSocket;
  private readonly deps: RtmpSessionDeps;
  private readonly ip: string;
  private readonly handshake = new ServerHandshake();
  private readonly reader: ChunkReader;
  private readonly hwm: number;
  private state: State = 'handshake';
  private outChunkSize = 128;
  private connect: cmd.ConnectRequest | null = null;
  private vhost = '';
  private settings: VhostSettings | null = null;
  private role: SessionKind | null = null;
  private key: StreamKey | null = null;
  private source: Source | null = null;
  private consumer: Consumer | null = null;
  private fmle = false;
  private gotMedia = false;
  private draining: string | null = null;
  private unpublishPending = false;
  private timer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(socket: SessionSocket, deps: RtmpSessionDeps) {
    this.socket = socket;
    this.deps = deps;
    this.cid = deps.cid;
    this.ip = socket.remoteAddress ?? '';
    this.remote = socket.remotePort !== undefined ? `${this.ip}:${socket.remotePort}` : this.ip;
    this.since = (deps.now ?? Date.now)();
    this.reader = new ChunkReader({ maxPendingBytes: 16 * 1024 * 1024, ...deps.readerLimits });
    this.hwm = Math.max(deps.highWaterMark ?? 256 * 1024, socket.writableHighWaterMark ?? 0);
  }

  // ---- PlayerSink / PublisherHandle -------------------------------------------------------

  get chunkSize(): number {
    return this.outChunkSize;
  }

  get tcUrl(): string {
    return this.connect?.tcUrl ?? '';
  }

  get type(): 'fmle-publish' | 'flash-publish' {
    return this.fmle ? 'fmle-publish' : 'flash-publish';
  }

  /** One batch of framed media: corked so it leaves in one writev. False above the high-water mark. */
  writev(buffers: Buffer[]): boolean {
    if (this.state === 'closed') return true;
    this.socket.cork();
    for (const b of buffers) {
      this.socket.write(b);
      this.bytesOut += b.length;
    }
    this.socket.uncork();
    return this.socket.writableLength < this.hwm;
  }

  /**
   * Sent on the next turn, not now: the hub calls this while the player's last messages may
   * still be queued for its flush on this turn, and players such as ffmpeg stop reading at
   * UnpublishNotify (it would overtake the publisher's last frames).
   */
  unpublished(): void {
    if (this.role !== 'rtmp-player' || this.unpublishPending) return;
    this.unpublishPending = true;
    setImmediate(() => this.flushUnpublishNotify());
  }

  published(): void {
    if (this.role !== 'rtmp-player') return;
    this.flushUnpublishNotify();
    this.send([cmd.Status.publishNotify(STREAM_ID)]);
  }

  /** The hub closes this player (fell behind, kicked, drained): what is queued is flushed, then the socket ends. */
  close(reason: string): void {
    // the hub's end() flushed the queue and called unpublished() just before: say it now
    this.flushUnpublishNotify();
    this.teardown(reason, 'end');
  }

  private flushUnpublishNotify(): void {
    if (!this.unpublishPending) return;
    this.unpublishPending = false;
    if (this.role === 'rtmp-player') this.send([cmd.Status.unpublishNotify(STREAM_ID)]);
  }

  /** The hub asks the publisher to leave (kicked, drain): closed after its current message. */
  kick(reason: string): void {
    this.drain(reason);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Attach to the socket and start the handshake timer. `head`: bytes already read from the socket. */
  start(head?: Buffer): void {
    this.socket.setNoDelay?.(true);
    this.arm(this.deps.handshakeTimeoutMs ?? 10_000, 'handshake timeout');
    this.socket.on('data', (b: Buffer) => this.onData(b));
    this.socket.on('drain', () => this.consumer?.drained());
    this.socket.on('error', (e: Error) => this.teardown(`socket error: ${e.message}`, 'destroy'));
    this.socket.on('close', () => this.teardown('client closed', 'destroy'));
    this.socket.on('end', () => this.teardown('client closed', 'end'));
    if (head?.length) this.onData(head);
  }

  /**
   * Ask the connection to leave (graceful quit, reload that removes its listener): a player is
   * told the stream ends (NetStream.Play.UnpublishNotify) and closed; a publisher is closed after
   * its current message; a connection that is neither is closed now.
   */
  drain(reason: string): void {
    if (this.state === 'closed') return;
    if (this.role === 'rtmp-player') {
      this.unpublishPending = true;
      this.flushUnpublishNotify();
      this.teardown(reason, 'end');
      return;
    }
    if (this.role === 'publisher' && this.reader.inMessage) {
      this.draining = reason;
      // a publisher that stops in mid-message is closed at its normal timeout anyway
      this.arm(this.settings?.normalTimeoutMs ?? 5_000, reason);
      return;
    }
    this.teardown(reason, 'end');
  }

  snapshot(): SessionSnapshot {
    return {
      cid: this.cid,
      remote: this.remote,
      kind: this.role,
      stream: this.key ? `${this.key.vhost}/${this.key.app}/${this.key.stream}` : null,
      tcUrl: this.tcUrl,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      since: this.since,
    };
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  // ---- input --------------------------------------------------------------------------------

  private onData(data: Buffer): void {
    if (this.state === 'closed') return;
    this.bytesIn += data.length;
    try {
      let rest = data;
      if (this.state === 'handshake') {
        const step = this.handshake.feed(data);
        if (step.reply.length) this.write([step.reply]);
        if (!step.done) return;
        this.state = 'connecting';
        this.deps.log.info({ cid: this.cid, remote: this.remote, handshake: this.handshake.kind }, `rtmp handshake done (${this.handshake.kind})`);
        this.arm(this.deps.identifyTimeoutMs ?? 30_000, 'no publish or play in time');
        rest = step.rest;
        if (!rest.length) return;
      }
      const msgs = this.reader.push(rest);
      for (const m of msgs) {
        if (this.closed) return;
        this.onMessage(m);
      }
      const ack = this.reader.takeAck();
      if (ack !== null) this.send([acknowledgement(ack)]);
      if (this.closed) return;
      if (this.draining !== null && !this.reader.inMessage) this.teardown(this.draining, 'end');
    } catch (e) {
      if (isRtmpError(e)) this.fail(e.reason, e.layer);
      else {
        this.deps.log.error({ code: 'SRS_ERR_INTERNAL', cid: this.cid, remote: this.remote, err: e instanceof Error ? e.message : String(e) }, 'rtmp session failed, close');
        this.teardown('internal error', 'destroy', true);
      }
    }
  }

  /** Malformed input: ONE log line naming the connection and the reason, then close this connection only. */
  private fail(reason: string, layer: string): void {
    if (this.state === 'closed') return;
    this.deps.log.warn({ code: 'SRS_WARN_RTMP_MALFORMED', cid: this.cid, remote: this.remote, layer, reason }, 'rtmp malformed input, close');
    this.teardown(reason, 'destroy', true);
  }

  private onMessage(m: RtmpMessage): void {
    switch (m.type) {
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
        return this.onMedia(m);
      case MessageType.DataAmf3:
        // AMF3 data is AMF0 values after a format byte: relayed as AMF0 data, as players expect
        return this.onMedia({ ...m, type: MessageType.DataAmf0, payload: m.payload.length && m.payload[0] === 0 ? m.payload.subarray(1) : m.payload });
      case MessageType.Aggregate:
        for (const sub of splitAggregate(m)) if (sub.type === MessageType.Audio || sub.type === MessageType.Video || sub.type === MessageType.DataAmf0) this.onMedia(sub);
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        return this.onCommand(cmd.decodeCommand(m));
      case MessageType.UserControl: {
        const c = decodeControl(m);
        if (c?.kind === 'userControl' && c.event === UserControlEvent.PingRequest) this.send([userControl(UserControlEvent.PingResponse, c.timestamp ?? 0)]);
        return;
      }
      default:
        // Set Chunk Size, Abort, Window Ack Size are applied by the reader; Acknowledgement,
        // Set Peer Bandwidth and shared objects need nothing from a server that does not throttle
        return;
    }
  }

  private onMedia(m: RtmpMessage): void {
    if (this.role !== 'publisher' || !this.source) return; // SRS drops media outside publishing
    if (!this.gotMedia) {
      this.gotMedia = true;
      this.arm(this.settings?.normalTimeoutMs ?? 5_000, 'publish normal timeout');
    } else this.timer?.refresh();
    this.source.feed(m);
  }

  private onCommand(c: cmd.Command): void {
    if (this.state === 'connecting') {
      if (c.name !== 'connect') {
        // SRS expects connect first; other commands before it are dropped
        return;
      }
      return this.onConnect(c);
    }
    switch (c.name) {
      case 'releaseStream':
      case 'FCPublish':
        if (c.name === 'FCPublish') this.fmle = true;
        this.send([cmd.fmleStartResult(c.transactionId)]);
        return;
      case 'createStream':
        this.send([cmd.createStreamResult(c.transactionId, STREAM_ID)]);
        return;
      case 'publish':
        return this.onPublish(c);
      case 'play':
        return this.onPlay(c);
      case 'pause':
        return this.onPause(c);
      case 'FCUnpublish':
        if (this.role === 'publisher') {
          this.send([cmd.Status.onFCUnpublish(STREAM_ID), cmd.fmleStartResult(c.transactionId, STREAM_ID), cmd.Status.unpublishSuccess(STREAM_ID)]);
          this.stopRole();
        } else this.send([cmd.fmleStartResult(c.transactionId)]);
        return;
      case 'deleteStream':
      case 'closeStream':
        // the connection stays: the client may publish or play again (SRS: republish / RTMP close retry)
        this.stopRole();
        return;
      case 'connect':
        return; // a second connect changes nothing
      case 'getStreamLength':
        // SRS answers _result(null, null); ffmpeg reads a number there and warns "Unexpected reply
        // on getStreamLength()": 0 is a live stream's length to both
        if (c.transactionId > 0) this.send([cmd.callResult(c.transactionId, 0)]);
        return;
      default:
        // SRS answers any other call that wants an answer with _result(null, null)
        if (c.transactionId > 0) this.send([cmd.command('_result', c.transactionId, null, [null])]);
    }
  }

  private onConnect(c: cmd.Command): void {
    const req = cmd.parseConnect(c);
    this.connect = req;
    const url = discoverRequest(req.tcUrl);
    this.vhost = resolveVhost(url.vhost, this.deps.resolver.vhostNames());
    const settings = this.deps.resolver.settings(this.vhost);
    if (!settings) {
      this.send([cmd.connectRejected(c.transactionId, `vhost ${url.vhost} not found`)]);
      this.deps.log.warn({ code: 'SRS_WARN_RTMP_REFUSED', cid: this.cid, remote: this.remote, vhost: url.vhost }, 'rtmp connect rejected: vhost not found, close');
      this.teardown('vhost not found', 'end', true);
      return;
    }
    this.settings = settings;
    this.state = 'connected';
    const size = Math.min(MAX_OUT_CHUNK_SIZE, Math.max(MIN_OUT_CHUNK_SIZE, settings.chunkSize || DEFAULT_OUT_CHUNK_SIZE));
    this.send([windowAckSize(WINDOW_ACK_SIZE), setPeerBandwidth(PEER_BANDWIDTH, PeerBandwidthLimit.Dynamic), setChunkSize(size)]);
    this.outChunkSize = size;
    const srv = this.deps.server ?? { name: 'srs', version: '0.1.0', pid: process.pid };
    this.send([cmd.connectResult(c.transactionId, req.objectEncoding, { server: srv.name, version: srv.version, pid: srv.pid, cid: this.cid }), cmd.onBWDone()]);
    this.deps.log.info({ cid: this.cid, remote: this.remote, tcUrl: req.tcUrl, vhost: this.vhost, chunk_size: size, handshake: this.handshake.kind }, 'rtmp connect');
  }

  private request(name: string): { req: RtmpRequest; key: StreamKey } {
    const req = discoverRequest(this.tcUrl, name);
    return { req, key: { vhost: this.vhost, app: req.app, stream: req.stream } };
  }

  private onPublish(c: cmd.Command): void {
    const settings = this.settings;
    if (!settings || this.role) return;
    const { name } = cmd.parsePublish(c);
    const { req, key } = this.request(name);
    if (!settings.allow('publish', this.ip, req)) {
      this.deps.log.warn({ code: 'SRS_WARN_SECURITY_DENIED', cid: this.cid, remote: this.remote, stream: name }, 'rtmp publish denied by security, close');
      this.teardown('security deny publish', 'end', true);
      return;
    }
    const source = this.deps.hub.publish(key, this, settings.media);
    if (!source) {
      this.send([cmd.Status.publishBadName(STREAM_ID)]);
      this.deps.log.warn({ code: 'SRS_WARN_RTMP_REFUSED', cid: this.cid, remote: this.remote, stream: `${key.vhost}/${key.app}/${key.stream}` }, 'rtmp publish refused: stream is busy, close');
      this.teardown('stream busy', 'end', true);
      return;
    }
    this.role = 'publisher';
    this.key = key;
    this.source = source;
    this.gotMedia = false;
    this.send(this.fmle ? [cmd.Status.onFCPublish(STREAM_ID), cmd.Status.publishStart(STREAM_ID)] : [cmd.Status.publishStart(STREAM_ID)]);
    this.arm(settings.firstPacketTimeoutMs, 'publish first packet timeout');
    this.deps.log.info({ cid: this.cid, remote: this.remote, stream: `${key.vhost}/${key.app}/${key.stream}`, param: req.param }, 'rtmp publish');
  }

  private onPlay(c: cmd.Command): void {
    const settings = this.settings;
    if (!settings || this.role) return;
    const p = cmd.parsePlay(c);
    const { req, key } = this.request(p.name);
    if (!settings.allow('play', this.ip, req)) {
      this.deps.log.warn({ code: 'SRS_WARN_SECURITY_DENIED', cid: this.cid, remote: this.remote, stream: p.name }, 'rtmp play denied by security, close');
      this.teardown('security deny play', 'end', true);
      return;
    }
    this.role = 'rtmp-player';
    this.key = key;
    this.disarm();
    // SRS start_play: StreamBegin, Play.Reset, Play.Start, |RtmpSampleAccess; not Data.Start,
    // which SRS dropped (ossrs/srs#3767): ffmpeg sees an empty data stream in it and waits out its
    // whole analyzeduration before playing
    this.send([userControl(UserControlEvent.StreamBegin, STREAM_ID), cmd.Status.playReset(STREAM_ID), cmd.Status.playStart(STREAM_ID), cmd.Status.sampleAccess(STREAM_ID)]);
    this.consumer = this.deps.hub.play(key, this, settings.media);
    this.deps.log.info({ cid: this.cid, remote: this.remote, stream: `${key.vhost}/${key.app}/${key.stream}`, param: req.param, start: p.start }, 'rtmp play');
  }

  private onPause(c: cmd.Command): void {
    if (this.role !== 'rtmp-player' || !this.consumer) return;
    const { pause } = cmd.parsePause(c);
    if (pause) this.send([cmd.Status.pauseNotify(STREAM_ID), userControl(UserControlEvent.StreamEOF, STREAM_ID)]);
    else this.send([cmd.Status.unpauseNotify(STREAM_ID), userControl(UserControlEvent.StreamBegin, STREAM_ID)]);
    this.consumer.pause(pause);
  }

  /** Leave the publisher or player role, keep the connection. */
  private stopRole(): void {
    if (this.source) {
      this.source.unpublish();
      this.source = null;
      this.deps.log.info({ cid: this.cid, remote: this.remote }, 'rtmp unpublish');
    }
    if (this.consumer) {
      this.consumer.close();
      this.consumer = null;
    }
    this.role = null;
    this.key = null;
    this.unpublishPending = false;
    // the client may publish or play again, but may not hold the connection idle for ever
    this.arm(this.deps.identifyTimeoutMs ?? 30_000, 'no publish or play in time');
  }

  // ---- output -------------------------------------------------------------------------------

  private csidFor(m: RtmpMessage): number {
    if (m.type <= MessageType.SetPeerBandwidth) return ChunkStreamId.ProtocolControl;
    if (m.type === MessageType.Audio) return ChunkStreamId.Audio;
    if (m.type === MessageType.Video) return ChunkStreamId.Video;
    return m.streamId === 0 ? ChunkStreamId.OverConnection : ChunkStreamId.OverStream;
  }

  /** The session's own messages (replies, status, control), in one corked write. */
  private send(msgs: RtmpMessage[]): void {
    const bufs: Buffer[] = [];
    for (const m of msgs) bufs.push(...frameMessage(m, this.csidFor(m), this.outChunkSize));
    this.write(bufs);
  }

  private write(bufs: Buffer[]): void {
    if (this.state === 'closed') return;
    this.writev(bufs);
    const limit = this.deps.maxUnreadBytes ?? 32 * 1024 * 1024;
    if (this.socket.writableLength > limit) this.fail(`peer left over ${limit} bytes unread`, 'chunk');
  }

  // ---- timers and teardown ------------------------------------------------------------------

  private arm(ms: number, reason: string): void {
    this.disarm();
    this.timer = setTimeout(() => {
      if (this.state === 'closed') return;
      this.deps.log.warn({ code: 'SRS_WARN_RTMP_REFUSED', cid: this.cid, remote: this.remote, timeout_ms: ms }, `rtmp ${reason}, close`);
      this.teardown(reason, 'destroy', true);
    }, ms);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Release the hub attachments and close the socket, once.
   * @param how 'end' flushes what is written first (bounded by 2 s), 'destroy' drops it
   * @param logged a line naming the cause was already written
   */
  private teardown(reason: string, how: 'end' | 'destroy', logged = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.disarm();
    if (this.source) {
      this.source.unpublish();
      this.source = null;
    }
    if (this.consumer) {
      this.consumer.close();
      this.consumer = null;
    }
    if (!logged) this.deps.log.info({ cid: this.cid, remote: this.remote, reason, kind: this.role, bytes_in: this.bytesIn, bytes_out: this.bytesOut }, `media connection closed (${reason})`);
    if (how === 'end' && !this.socket.destroyed) {
      this.socket.end();
      this.closeTimer = setTimeout(() => this.socket.destroy(), 2_000);
      this.closeTimer.unref?.();
      this.socket.once('close', () => {
        if (this.closeTimer) clearTimeout(this.closeTimer);
      });
    } else this.socket.destroy();
    this.deps.onClose?.(this, reason);
  }
}
