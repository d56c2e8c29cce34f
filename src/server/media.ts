// The media (RTMP) side as far as the lifecycle needs it: complete the handshake, then hold the
// session until the client closes. RTMP chunk streams and messages come with a later issue.
import type Crypto from 'node:crypto';
import type { Socket } from 'node:net';
import type pino from 'pino';
import type { Connection } from './registry';
import { endpoint, type RoleHandler } from './service';

export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;
/** A client that has not finished C0+C1+C2 by then holds a slot for nothing. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export type HandshakeState = 'c0c1' | 'c2' | 'done' | 'failed';

/**
 * Simple (non-digest) handshake, which ffmpeg, OBS and librtmp accept: S1 carries a zero version
 * field, which tells the client not to look for a digest. S2 echoes C1.
 */
export class RtmpHandshake {
  state = 'c0c1' as HandshakeState;
  private buffered: Buffer = Buffer.alloc(0);
  error: string | null = null;

  /** Feed bytes; returns what to send back (possibly empty) and bytes left over after C2. */
  feed(chunk: Buffer, now: number = Date.now()): { reply: Buffer; rest: Buffer } {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    let reply = Buffer.alloc(0);
    if (this.state === 'c0c1' && this.buffered.length >= 1 + HANDSHAKE_SIZE) {
      const version = this.buffered[0];
      if (version !== RTMP_VERSION) {
        this.state = 'failed';
        this.error = `C0 version ${String(version)} is not RTMP ${RTMP_VERSION}`;
        return { reply, rest: Buffer.alloc(0) };
      }
      const c1 = this.buffered.subarray(1, 1 + HANDSHAKE_SIZE);
      const s1 = Buffer.alloc(HANDSHAKE_SIZE);
      s1.writeUInt32BE(Math.floor(now / 1000) >>> 0, 0);
      s1.writeUInt32BE(0, 4);
      // node:crypto is required at the first handshake, not at start-up (a few ms of a start)
      (require('node:crypto') as typeof Crypto).randomBytes(HANDSHAKE_SIZE - 8).copy(s1, 8);
      reply = Buffer.concat([Buffer.from([RTMP_VERSION]), s1, c1]);
      this.buffered = this.buffered.subarray(1 + HANDSHAKE_SIZE);
      this.state = 'c2';
    }
    if (this.state === 'c2' && this.buffered.length >= HANDSHAKE_SIZE) {
      const rest = this.buffered.subarray(HANDSHAKE_SIZE);
      this.buffered = Buffer.alloc(0);
      this.state = 'done';
      return { reply, rest };
    }
    return { reply, rest: Buffer.alloc(0) };
  }
}

/**
 * The handler of the `rtmp` role until the RTMP session of src/media/ registers its own. A held
 * session gives no drain hook: it has no stream to end, so a graceful quit waits for its client
 * (as SRS waits), and asking it alone to leave ends its socket.
 */
export function rtmpRoleHandler(): RoleHandler {
  return {
    kind: 'media',
    accept(socket, connection, ctx) {
      ctx.log.info({ cid: connection.id, remote: connection.remote, listener: endpoint(ctx.spec.address) }, 'rtmp client connected');
      serveMediaConnection(socket, ctx.log, connection);
      // accepted paused (pauseOnConnect): reading starts once the session listens
      socket.resume();
    },
  };
}

/**
 * Runs one media connection: the handshake, then a held session that ignores what it is sent.
 * `cid` goes into every line rather than into a pino child logger: a child per connection costs
 * memory for as long as the session is held, and a server holds thousands.
 */
export function serveMediaConnection(socket: Socket, log: pino.Logger, connection: Pick<Connection, 'id' | 'cut'>): void {
  const cid = connection.id;
  const handshake = new RtmpHandshake();
  socket.setNoDelay(true);
  const timer = setTimeout(() => {
    log.warn({ cid }, 'rtmp handshake timeout, close');
    socket.destroy();
  }, HANDSHAKE_TIMEOUT_MS);
  timer.unref();
  const onData = (chunk: Buffer): void => {
    if (handshake.state === 'done') return;
    const { reply } = handshake.feed(chunk);
    if (reply.length) socket.write(reply);
    const state = handshake.state as HandshakeState;
    if (state === 'failed') {
      clearTimeout(timer);
      log.warn({ cid, reason: handshake.error }, 'rtmp handshake failed, close');
      socket.destroy();
    } else if (state === 'done') {
      clearTimeout(timer);
      log.info({ cid }, 'rtmp handshake done, session held until the client closes');
    }
  };
  socket.on('data', onData);
  socket.on('error', (e: NodeJS.ErrnoException) => log.info({ cid, code: e.code }, 'media connection error'));
  socket.once('close', () => {
    clearTimeout(timer);
    if (!connection.cut) log.info({ cid }, 'media connection closed');
  });
  // A client that half-closes has nothing more to say; close our side too.
  socket.on('end', () => socket.end());
}
