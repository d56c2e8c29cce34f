// The HTTP-FLV player (SRS srs_app_http_stream.cpp, SrsLiveStream::serve_http): 200, chunked,
// Content-Type video/x-flv, the FLV header, then what the source gives: metadata, sequence headers,
// the GOP, live tags. The tags of every player are the same Buffers; each batch becomes one HTTP
// chunk whose framing (hex size, CRLF) is the only per-player bytes. The integrator resolves the
// vhost and the mount from the config and calls serveHttpFlv from the file server.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { DEFAULT_VHOST, type Consumer, type MediaSettings, type PlayerSink, type StreamHub, type StreamKey } from './hub';
import { flvHeader } from './flv';

/** SRS's default http_remux mount */
export const DEFAULT_FLV_MOUNT = '[vhost]/[app]/[stream].flv';

const VARIABLE = /\[(vhost|app|stream)\]/g;

/**
 * Match a request path against an `http_remux { mount ...; }` template (SRS SrsHttpStreamServer:
 * http_mount and hijack). `[vhost]` is the vhost the caller resolved from the Host header; for
 * `__defaultVhost__` SRS turns `__defaultVhost__/` into `/`, so the default mount serves
 * `/live/livestream.flv`; for a named vhost the `[vhost]/` prefix scopes the mount to that host and
 * the path is again `/live/livestream.flv`. `[app]` and `[stream]` each match one path segment (SRS
 * requires the path to have as many '/' as the mount), the extension is the template's.
 * @param mount template, e.g. '[vhost]/[app]/[stream].flv'
 * @param vhost the vhost serving this request (its name, or '__defaultVhost__')
 * @param urlPath the request's path; a query string is ignored
 * @returns the stream key, or null when the path does not fit the template
 */
export function matchFlvMount(mount: string, vhost: string, urlPath: string): StreamKey | null {
  const q = urlPath.indexOf('?');
  const path = q >= 0 ? urlPath.slice(0, q) : urlPath;
  let tmpl = mount;
  if (tmpl.startsWith('[vhost]/')) tmpl = tmpl.slice('[vhost]'.length);
  else tmpl = tmpl.split('[vhost]').join(vhost).split(`${DEFAULT_VHOST}/`).join('/');
  if (!tmpl.startsWith('/')) tmpl = `/${tmpl}`;
  const names: string[] = [];
  let re = '^';
  let last = 0;
  for (const m of tmpl.matchAll(VARIABLE)) {
    re += escape(tmpl.slice(last, m.index)) + '([^/]+?)';
    names.push(m[1]);
    last = (m.index ?? 0) + m[0].length;
  }
  re += escape(tmpl.slice(last)) + '$';
  const found = new RegExp(re).exec(path);
  if (!found) return null;
  const key: StreamKey = { vhost, app: '', stream: '' };
  names.forEach((n, i) => {
    if (n === 'app') key.app = found[i + 1];
    else if (n === 'stream') key.stream = found[i + 1];
  });
  if (!key.app || !key.stream) return null;
  return key;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const CRLF = Buffer.from('\r\n');

/** A response as a PlayerSink: each batch is one HTTP chunk written straight to the socket. */
class FlvResponseSink implements PlayerSink {
  readonly kind = 'flv' as const;
  readonly chunkSize = 0;
  readonly streamId = 0;
  ended = false;
  /** the last write was refused (above the high-water mark) and no 'drain' came since */
  pushedBack = false;

  constructor(readonly cid: string, readonly remote: string, private readonly res: ServerResponse, readonly tcUrl: string) {}

  writev(buffers: Buffer[]): boolean {
    if (this.ended) return true;
    const socket = this.res.socket as Socket | null;
    if (!socket || socket.destroyed) {
      // not yet attached (a pipelined request): let node frame the chunks
      let ok = true;
      for (const b of buffers) ok = this.res.write(b);
      this.pushedBack = !ok;
      return ok;
    }
    let n = 0;
    for (const b of buffers) n += b.length;
    if (n === 0) return !socket.writableNeedDrain;
    socket.cork();
    socket.write(`${n.toString(16)}\r\n`, 'latin1');
    for (const b of buffers) socket.write(b);
    const ok = socket.write(CRLF);
    socket.uncork();
    this.pushedBack = !ok;
    return ok;
  }

  /** the stream ended (its publisher left, or the drain's bound): nothing more will be queued */
  private streamEnded = false;

  unpublished(): void {
    // FLV has no notification; the player waits for the next publish as SRS's does
    this.streamEnded = true;
  }

  published(): void {
    this.streamEnded = false;
  }

  close(reason: string): void {
    void reason;
    if (this.ended) return;
    this.ended = true;
    // A live stream's player that stopped reading would never take the final chunk: do not keep
    // its buffers. Once the stream has ended (the drain's bound ends every player this way) the
    // buffers cannot grow: end after what is queued, so a slow player gets every tag and the
    // final chunk (a graceful quit destroys what has not closed after its linger).
    if (this.pushedBack && !this.streamEnded) this.res.socket?.destroy();
    else this.res.end();
  }
}

/**
 * Serve one HTTP-FLV player for `key`: writes the status line and headers (200, video/x-flv,
 * Transfer-Encoding chunked, Access-Control-Allow-Origin *), the FLV header (audio/video flags from
 * the sequence headers the source has, both when it has none yet), then attaches to the hub. The
 * response ends (final chunk) when the hub closes the player; the consumer is closed when the client
 * goes. The caller has done routing (matchFlvMount), security and the method check.
 * @param cid the client id for the API (SRS's connection id)
 * @returns the consumer (already attached)
 */
export function serveHttpFlv(req: IncomingMessage, res: ServerResponse, hub: StreamHub, key: StreamKey, settings: MediaSettings, cid: string): Consumer {
  const headers: Record<string, string> = { 'Content-Type': 'video/x-flv', 'Transfer-Encoding': 'chunked', 'Access-Control-Allow-Origin': '*' };
  if (req.headers.origin) {
    // SRS's SrsHttpCorsMux when the request is cross-origin
    Object.assign(headers, { 'Access-Control-Allow-Headers': '*', 'Access-Control-Allow-Methods': '*', 'Access-Control-Expose-Headers': '*', 'Access-Control-Allow-Credentials': 'false' });
  }
  res.writeHead(200, headers);
  res.flushHeaders();
  const remote = req.socket.remoteAddress ?? '';
  const host = req.headers.host ?? key.vhost;
  const sink = new FlvResponseSink(cid, remote, res, `http://${host}/${key.app}`);
  const state = hub.state(key);
  const known = state?.publishing && (state.audio || state.video);
  sink.writev([flvHeader(known ? state.audio : true, known ? state.video : true)]);
  const consumer = hub.play(key, sink, settings);
  const socket = res.socket;
  const onDrain = (): void => {
    sink.pushedBack = false;
    consumer.drained();
  };
  socket?.on('drain', onDrain);
  // The HTTP sockets are half-open (a client's FIN ends its request, not our answer), but a
  // player that sends its FIN has left: without this, one that leaves while its stream has no
  // publisher (nothing written, so no reset to notice) would hold its slot and consumer for good.
  const onEnd = (): void => void res.destroy();
  socket?.once('end', onEnd);
  res.once('close', () => {
    socket?.off('drain', onDrain);
    socket?.off('end', onEnd);
    sink.ended = true;
    consumer.close();
  });
  return consumer;
}
