// An RTMP client on the same layers as the session: digest handshake, connect, createStream, then
// publish or play. For srs's own edge pull and forward, and for tests.
// Source: librtmp / ffmpeg rtmpproto.c for the order of commands; SRS SrsRtmpClient.
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { ChunkStreamId, frameMessage, MessageType, type RtmpMessage } from '../message';
import type { AmfValue } from './amf0';
import { ChunkReader } from './chunk';
import * as cmd from './command';
import { acknowledgement, decodeControl, setChunkSize, userControl, UserControlEvent, windowAckSize } from './control';
import { RtmpError } from './error';
import { ClientHandshake } from './handshake';

export interface StatusEvent {
  level: string;
  code: string;
  description: string;
  /** the message stream it came on */
  streamId: number;
}

export interface RtmpClientOptions {
  /** outgoing chunk size sent after the handshake (bytes; default 60000) */
  chunkSize?: number;
  /** the whole of connect (TCP, handshake, connect's _result) must finish by then (default 10000 ms) */
  timeoutMs?: number;
  flashVer?: string;
  /** the app in connect's command object (default: the tcUrl path without its leading '/') */
  app?: string;
}

interface Pending {
  resolve(c: cmd.Command): void;
  reject(e: Error): void;
}

/**
 * Events: 'message' (RtmpMessage: audio, video, data from the server), 'status' (StatusEvent, every
 * onStatus), 'command' (cmd.Command, any other command), 'close' (reason: string), 'error' only
 * before connect resolves (afterwards errors close the client with the reason).
 */
export class RtmpClient extends EventEmitter {
  readonly socket: Socket;
  private readonly reader = new ChunkReader();
  private readonly hs = new ClientHandshake();
  private outChunkSize = 128;
  private nextTid = 2;
  private readonly pending = new Map<number, Pending>();
  private closedReason: string | null = null;
  /** bytes of audio/video/data messages received */
  mediaBytes = 0;

  private constructor(socket: Socket) {
    super();
    this.socket = socket;
  }

  /**
   * Connect to `tcUrl` (rtmp://host[:port]/app[?query]): TCP, handshake, Set Chunk Size, connect.
   * @returns the client and connect's _result info
   * @throws RtmpError or a socket error, or a timeout Error naming the step
   */
  static connect(tcUrl: string, opts: RtmpClientOptions = {}): Promise<{ client: RtmpClient; info: AmfValue }> {
    const url = new URL(tcUrl);
    const port = url.port ? Number(url.port) : 1935;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const app = opts.app ?? (url.pathname.replace(/^\//, '') + url.search);
    const socket = netConnect({ host, port });
    socket.setNoDelay(true);
    const client = new RtmpClient(socket);
    return new Promise((resolve, reject) => {
      let step = 'tcp connect';
      const timer = setTimeout(() => fail(new Error(`rtmp client: ${step} timed out`)), opts.timeoutMs ?? 10_000);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        client.close(e.message);
        reject(e);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        step = 'handshake';
        socket.write(client.hs.start());
      });
      client.once('handshake', () => {
        step = 'connect';
        const size = opts.chunkSize ?? 60_000;
        client.send(setChunkSize(size));
        client.outChunkSize = size;
        client
          .call('connect', { app, flashVer: opts.flashVer ?? 'LNX 9,0,124,2', tcUrl, fpad: false, capabilities: 15, audioCodecs: 4071, videoCodecs: 252, videoFunction: 1, objectEncoding: 0 }, [], 1)
          .then((res) => {
            clearTimeout(timer);
            socket.off('error', fail);
            socket.on('error', (e) => client.close(`socket error: ${e.message}`));
            if (res.name !== '_result') throw new RtmpError('command', `connect answered ${res.name}: ${cmd.statusInfo(res)?.description ?? ''}`);
            resolve({ client, info: res.args[0] ?? null });
          })
          .catch(fail);
      });
      socket.on('data', (b: Buffer) => client.onData(b, fail));
      socket.on('close', () => client.close('server closed'));
    });
  }

  private onData(data: Buffer, fail: (e: Error) => void): void {
    try {
      let rest = data;
      if (!this.hs.done) {
        const step = this.hs.feed(data);
        if (!step.done) return;
        this.socket.write(step.reply);
        this.emit('handshake');
        rest = step.rest;
      }
      for (const m of this.reader.push(rest)) this.onMessage(m);
      const ack = this.reader.takeAck();
      if (ack !== null) this.send(acknowledgement(ack));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (this.listenerCount('error') > 0 && this.closedReason === null) this.emit('error', err);
      fail(err);
    }
  }

  private onMessage(m: RtmpMessage): void {
    switch (m.type) {
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
        this.mediaBytes += m.payload.length;
        this.emit('message', m);
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3: {
        const c = cmd.decodeCommand(m);
        if ((c.name === '_result' || c.name === '_error') && this.pending.has(c.transactionId)) {
          const p = this.pending.get(c.transactionId);
          this.pending.delete(c.transactionId);
          p?.resolve(c);
          return;
        }
        if (c.name === 'onStatus') {
          const info = cmd.statusInfo(c);
          if (info) this.emit('status', { ...info, streamId: m.streamId } satisfies StatusEvent);
          return;
        }
        this.emit('command', c);
        return;
      }
      case MessageType.UserControl: {
        const c = decodeControl(m);
        if (c?.kind === 'userControl' && c.event === UserControlEvent.PingRequest) this.send(userControl(UserControlEvent.PingResponse, c.timestamp ?? 0));
        this.emit('control', c);
        return;
      }
      default:
        this.emit('control', decodeControl(m));
    }
  }

  /** Write one message (chunked at our outgoing chunk size). */
  send(m: RtmpMessage): void {
    if (this.closedReason !== null) return;
    const csid = m.type <= MessageType.SetPeerBandwidth ? ChunkStreamId.ProtocolControl : m.type === MessageType.Audio ? ChunkStreamId.Audio : m.type === MessageType.Video ? ChunkStreamId.Video : m.streamId === 0 ? ChunkStreamId.OverConnection : ChunkStreamId.OverStream;
    this.socket.cork();
    for (const b of frameMessage(m, csid, this.outChunkSize)) this.socket.write(b);
    this.socket.uncork();
  }

  /** Send a command and wait for its _result or _error. */
  call(name: string, commandObject: AmfValue, args: AmfValue[] = [], tid = this.nextTid++, streamId = 0): Promise<cmd.Command> {
    return new Promise((resolve, reject) => {
      if (this.closedReason !== null) return reject(new Error(`rtmp client closed: ${this.closedReason}`));
      this.pending.set(tid, { resolve, reject });
      this.send(cmd.command(name, tid, commandObject, args, streamId));
    });
  }

  /** Send a command that has no answer (transaction id 0). */
  notify(name: string, args: AmfValue[] = [], streamId = 0): void {
    this.send(cmd.command(name, 0, null, args, streamId));
  }

  /** createStream: the message stream id the server hands out. */
  async createStream(): Promise<number> {
    const res = await this.call('createStream', null);
    const id = res.args[0];
    if (res.name !== '_result' || typeof id !== 'number') throw new RtmpError('command', `createStream answered ${res.name}`);
    return id;
  }

  /** Wait for an onStatus whose code is one of `codes`; an error-level status rejects. */
  waitStatus(codes: readonly string[], timeoutMs = 10_000): Promise<StatusEvent> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('status', onStatus);
        this.off('close', onClose);
      };
      const onStatus = (s: StatusEvent): void => {
        if (codes.includes(s.code)) {
          done();
          resolve(s);
        } else if (s.level === 'error') {
          done();
          reject(new RtmpError('command', `${s.code}: ${s.description}`));
        }
      };
      const onClose = (reason: string): void => {
        done();
        reject(new Error(`rtmp client closed waiting for ${codes.join('|')}: ${reason}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${codes.join('|')} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('status', onStatus);
      this.on('close', onClose);
    });
  }

  /** OBS/FMLE order: releaseStream, FCPublish, createStream, publish; resolves on NetStream.Publish.Start. */
  async publish(name: string, opts: { fmle?: boolean } = {}): Promise<number> {
    if (opts.fmle !== false) {
      void this.call('releaseStream', null, [name]);
      void this.call('FCPublish', null, [name]);
    }
    const sid = await this.createStream();
    const started = this.waitStatus(['NetStream.Publish.Start']);
    this.send(cmd.command('publish', this.nextTid++, null, [name, 'live'], sid));
    await started;
    return sid;
  }

  /** createStream, play (start -2 by default), Set Buffer Length; resolves on NetStream.Play.Start. */
  async play(name: string, start = -2): Promise<number> {
    const sid = await this.createStream();
    const started = this.waitStatus(['NetStream.Play.Start']);
    this.send(cmd.command('play', this.nextTid++, null, [name, start], sid));
    this.send(userControl(UserControlEvent.SetBufferLength, sid, 3000));
    await started;
    return sid;
  }

  /** Tell the server how many bytes we take before acknowledging (Window Acknowledgement Size). */
  setWindowAckSize(n: number): void {
    this.send(windowAckSize(n));
  }

  close(reason = 'closed by client'): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    for (const p of this.pending.values()) p.reject(new Error(`rtmp client closed: ${reason}`));
    this.pending.clear();
    this.socket.destroy();
    this.emit('close', reason);
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }
}
