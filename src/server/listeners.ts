// The listening sockets every registered service asks for (RTMP on each `listen`, the API and the
// file server, one socket when they share a port). A reload hands a new config to `prepare`, which
// binds what is new before anything switches, so a bad address leaves the old listeners untouched.
// Listeners are identified by address: a port that moves from one role to another keeps its
// socket and changes only the handler its new connections go to.
import net from 'node:net';
import type http from 'node:http';
import type pino from 'pino';
import type { SrsConfig } from '../config/schema';
import { SrsError, errnoCode } from '../errors';
import { buildHttpApp, type ApiContext, type HttpApp } from './http';
import type { Connection, ConnectionRegistry } from './registry';
import type { Metrics } from './metrics';
import { ServiceSet, endpoint, hostOf, mergeSpecs, type ListenerSpec, type RoleHandler } from './service';
import type { FdGuard } from './fd-guard';

export { endpoint, hostOf, type ListenerSpec } from './service';

/** The roles srs has today; a service may register others (the type stays open). */
export type ListenerRole = 'rtmp' | 'http_api' | 'http_server' | 'exporter' | 'http_api+http_server' | (string & {});

/** The RTMP listeners a config asks for: one per distinct `listen` endpoint. */
export function rtmpSpecs(cfg: SrsConfig): ListenerSpec[] {
  const specs: ListenerSpec[] = [];
  const seen = new Set<string>();
  for (const a of cfg.listen) {
    const key = `rtmp@${endpoint(a)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    specs.push({ key, role: 'rtmp', address: a, api: false, files: null });
  }
  return specs;
}

/** The HTTP API's listener (it shares a port with the file server when both name it). */
export function httpApiSpecs(cfg: SrsConfig): ListenerSpec[] {
  if (!cfg.httpApi.enabled) return [];
  const a = cfg.httpApi.listen;
  return [{ key: `http_api@${endpoint(a)}`, role: 'http_api', address: a, api: true, files: null, shares: 'http' }];
}

export function httpServerSpecs(cfg: SrsConfig): ListenerSpec[] {
  if (!cfg.httpServer.enabled) return [];
  const a = cfg.httpServer.listen;
  return [{ key: `http_server@${endpoint(a)}:${cfg.httpServer.dir}`, role: 'http_server', address: a, api: false, files: cfg.httpServer.dir, shares: 'http' }];
}

/** SRS's exporter port: /metrics alone, open (it may share a port with the other HTTP roles). */
export function exporterSpecs(cfg: SrsConfig): ListenerSpec[] {
  if (!cfg.exporter.enabled) return [];
  const a = cfg.exporter.listen;
  return [{ key: `exporter@${endpoint(a)}`, role: 'exporter', address: a, api: false, files: null, shares: 'http' }];
}

/** The listeners of srs's own services, in a stable order (the same as the ServiceSet gives). */
export function listenerSpecs(cfg: SrsConfig): ListenerSpec[] {
  return mergeSpecs([...rtmpSpecs(cfg), ...httpApiSpecs(cfg), ...httpServerSpecs(cfg), ...exporterSpecs(cfg)]);
}

export interface Listener {
  spec: ListenerSpec;
  /** who new connections go to; a reload that changes the role changes it */
  handler: RoleHandler;
  /** the listening socket: a plain net.Server, accepting paused sockets */
  server: net.Server;
  /** what the handler built for this listener (the HTTP application), null until built */
  app: unknown;
  /** sockets accepted before the handler's application was built: handed over once it is */
  pending: Array<{ socket: net.Socket; connection: Connection }>;
  /** true when the socket came from the previous process of an upgrade */
  inherited: boolean;
  /** while the listener closes (see settleAndClose): sockets accepted meanwhile, served once it is closed */
  held: Array<{ socket: net.Socket; connection: Connection }> | null;
  /** connections accepted since the listener was bound */
  accepted: number;
}

export interface ListenerDeps {
  registry: ConnectionRegistry;
  metrics: Metrics;
  log: () => pino.Logger;
  services: ServiceSet;
  /** refuses sockets while the process is short of fds (counted, logged once a second) */
  fdGuard?: FdGuard;
  /** listening fds handed over by the previous process, by endpoint key; consumed when used */
  inheritedFds?: Map<string, number>;
}

/** What `prepare` bound and built; nothing is switched until `commit`. */
export interface ListenerChange {
  commit(): { opened: Array<ListenerSpec & { inherited: boolean }>; closed: ListenerSpec[]; moved: Array<{ from: ListenerSpec; to: ListenerSpec }> };
  abort(): void;
}

function listenOn(server: net.Server, spec: ListenerSpec, fd: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      server.removeListener('listening', onListening);
      const code = errnoCode(e) ?? 'EUNKNOWN';
      const what = `${spec.role} listen ${endpoint(spec.address)}`;
      const hint =
        code === 'EADDRINUSE'
          ? ': address already in use (another srs, or another program, is listening there; srs never shares a port)'
          : code === 'EACCES'
            ? ': permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
            : code === 'EADDRNOTAVAIL'
              ? ': no such local address'
              : `: ${e.message}`;
      reject(new SrsError('SRS_ERR_BIND', `${what}${hint} (${code})`));
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (fd !== undefined) server.listen({ fd });
    else server.listen({ host: hostOf(spec.address), port: spec.address.port, exclusive: true, backlog: 511 });
  });
}

/**
 * Sockets are bound first, as nginx's master does, and the handlers' applications are built
 * after, so a port conflict fails before any heavy work, and connections that arrive meanwhile
 * wait in the socket's queue instead of being refused. A reload that changes what a port serves
 * swaps its handler and application and keeps the socket.
 */
export class ListenerSet {
  /** by endpoint (`0.0.0.0:1935`), whatever the role */
  private readonly active = new Map<string, Listener>();
  private readonly deps: ListenerDeps;
  /** closeAll() ran: the process is quitting, nothing opens again */
  private closed = false;
  /**
   * listeningSockets() gave the fds to a new process (an upgrade): it accepts from the same
   * kernel sockets, so closing ours resets nobody and needs no settling. An upgrade that fails
   * after that leaves this set (see handOverFailed).
   */
  private shared = false;

  constructor(deps: ListenerDeps) {
    this.deps = deps;
  }

  list(): Listener[] {
    return [...this.active.values()];
  }

  /** Count the socket in, or refuse it (fd shortage, max_connections): null when refused and destroyed. */
  private admit(socket: net.Socket, spec: ListenerSpec, handler: RoleHandler): Connection | null {
    if (this.deps.fdGuard?.refuse(spec.role)) {
      this.deps.metrics.connectionRefused(spec.role, 'fd_limit');
      socket.destroy();
      return null;
    }
    const admitted = this.deps.registry.admit(socket, spec.role, handler.kind);
    if (!admitted.admitted) {
      this.deps.metrics.connectionRefused(spec.role, admitted.reason);
      socket.destroy();
      return null;
    }
    this.deps.metrics.connectionAccepted(spec.role);
    return admitted.connection;
  }

  private dispatch(listener: Listener, socket: net.Socket, connection: Connection): void {
    listener.handler.accept(socket, connection, { spec: listener.spec, app: listener.app, log: this.deps.log(), drains: this.deps.services.drains });
  }

  /** An inherited fd for this address, whatever role the previous process served there. */
  private takeInherited(spec: ListenerSpec): number | undefined {
    const fds = this.deps.inheritedFds;
    if (!fds) return undefined;
    const ep = `@${endpoint(spec.address)}`;
    for (const [key, fd] of fds) {
      if (key.endsWith(ep) && key.indexOf('@') === key.length - ep.length) {
        fds.delete(key);
        return fd;
      }
    }
    return undefined;
  }

  /** Bind (or adopt an inherited fd); connections are accepted from here on. */
  private async bind(spec: ListenerSpec, handler: RoleHandler): Promise<Listener> {
    // every socket stays unread until its handler is there to read it
    const server = net.createServer({ noDelay: true, pauseOnConnect: true });
    const listener: Listener = { spec, handler, server, app: null, pending: [], inherited: false, held: null, accepted: 0 };
    server.on('connection', (socket: net.Socket) => {
      listener.accepted++;
      const connection = this.admit(socket, listener.spec, listener.handler);
      if (!connection) return;
      if (listener.held) listener.held.push({ socket, connection });
      else if (listener.handler.build && listener.app === null) listener.pending.push({ socket, connection });
      else this.dispatch(listener, socket, connection);
    });
    const fd = this.takeInherited(spec);
    await listenOn(server, spec, fd);
    // after the bind: a bind failure is the caller's to report, once
    server.on('error', (e) => this.onServerError(listener, e));
    listener.inherited = fd !== undefined;
    return listener;
  }

  private onServerError(listener: Listener, e: Error): void {
    const code = errnoCode(e);
    // libuv accepts and closes silently when it has its spare fd; when it has not, the accept
    // error reaches us: count it as the fd guard counts its refusals
    if ((code === 'EMFILE' || code === 'ENFILE') && this.deps.fdGuard) {
      this.deps.metrics.connectionRefused(listener.spec.role, 'fd_limit');
      this.deps.fdGuard.acceptFailed(listener.spec.role, code);
      return;
    }
    this.deps.log().error({ code: 'SRS_ERR_INTERNAL', err: e, listener: listener.spec.key }, 'listener error');
  }

  private install(listener: Listener, spec: ListenerSpec, handler: RoleHandler, app: unknown): void {
    listener.spec = spec;
    listener.handler = handler;
    listener.app = app;
    for (const { socket, connection } of listener.pending.splice(0)) if (!socket.destroyed) this.dispatch(listener, socket, connection);
  }

  /**
   * Bind every new endpoint and build every new or changed application, switching nothing: on
   * any failure what was just opened is closed, the running set is unchanged, and the error
   * (SRS_ERR_BIND, or the application's) is thrown. `commit` then switches, and closes the
   * endpoints the config no longer has. Open connections are never touched: closing a listener
   * only stops accepting, and a replaced handler keeps serving the connections it already has.
   */
  async prepare(cfg: SrsConfig, afterBind: () => void = () => {}): Promise<ListenerChange> {
    const wanted = this.deps.services.specs(cfg);
    const wantedEndpoints = new Set(wanted.map((s) => endpoint(s.address)));
    const opened: Listener[] = [];
    const swaps: Array<{ listener: Listener; spec: ListenerSpec; handler: RoleHandler; app: unknown; fresh: boolean }> = [];
    try {
      for (const spec of wanted) {
        const handler = this.deps.services.handlers.get(spec.role);
        const current = this.active.get(endpoint(spec.address));
        if (!current) {
          const l = await this.bind(spec, handler);
          opened.push(l);
          swaps.push({ listener: l, spec, handler, app: null, fresh: true });
        } else if (current.spec.key !== spec.key || current.handler !== handler) {
          swaps.push({ listener: current, spec, handler, app: null, fresh: false });
        }
      }
      afterBind();
      for (const swap of swaps) if (swap.handler.build) swap.app = await swap.handler.build(swap.spec);
    } catch (e) {
      this.discard(opened);
      throw e;
    }
    let done = false;
    return {
      abort: () => {
        if (done) return;
        done = true;
        this.discard(opened);
      },
      commit: () => {
        if (done) throw new Error('listener change already committed or aborted');
        done = true;
        if (this.closed) {
          // a quit closed everything while we were binding: what we opened goes too
          this.discard(opened);
          throw new SrsError('SRS_ERR_SIGNAL', 'quitting: listeners not changed');
        }
        const moved: Array<{ from: ListenerSpec; to: ListenerSpec }> = [];
        for (const l of opened) this.active.set(endpoint(l.spec.address), l);
        for (const { listener, spec, handler, app, fresh } of swaps) {
          if (!fresh && listener.spec.role !== spec.role) moved.push({ from: listener.spec, to: spec });
          this.install(listener, spec, handler, app);
        }
        const closed: ListenerSpec[] = [];
        for (const [key, l] of [...this.active.entries()]) {
          if (!wantedEndpoints.has(key)) {
            this.active.delete(key);
            closed.push(l.spec);
            // at once: the port may be bound again by the next reload, and the reload says it is closed
            closeServer(l.server);
          }
        }
        return { opened: opened.map((l) => ({ ...l.spec, inherited: l.inherited })), closed, moved };
      },
    };
  }

  /** prepare then commit: the listeners in line with a config, all or nothing. */
  async apply(cfg: SrsConfig, afterBind: () => void = () => {}): Promise<ReturnType<ListenerChange['commit']>> {
    return (await this.prepare(cfg, afterBind)).commit();
  }

  /** The listening sockets' fds by endpoint key, for an upgrade to hand over. */
  listeningSockets(): Array<{ key: string; fd: number }> {
    this.shared = true;
    const out: Array<{ key: string; fd: number }> = [];
    for (const l of this.active.values()) {
      const fd = (l.server as net.Server & { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd === 'number' && fd > 2) out.push({ key: endpointKey(l.spec), fd });
    }
    return out;
  }

  /** Listeners opened by an apply that is not going through: nobody will answer their sockets. */
  private discard(listeners: Listener[]): void {
    for (const l of listeners) {
      closeServer(l.server);
      for (const { socket } of l.pending.splice(0)) socket.destroy();
    }
  }

  /**
   * Stop accepting on every listener; open connections stay (graceful quit, or before destroyAll).
   * Each listening socket closes once its accept queue is empty (see settleAndClose), so nobody
   * whose connection the kernel has completed is reset (unless an upgrade shares the sockets: see
   * `shared`); resolves once every one is closed.
   */
  closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.active.values()];
    this.active.clear();
    if (this.shared) {
      // the new process of an upgrade holds the same sockets and goes on accepting from them
      this.discard(all);
      return Promise.resolve();
    }
    return Promise.all(all.map((l) => this.settleAndClose(l))).then(() => undefined);
  }

  /** The new process that listeningSockets() handed the fds to is gone: closing ours would reset its queue again. */
  handOverFailed(): void {
    this.shared = false;
  }

  /**
   * Close a listening socket without resetting its accept queue. Linux resets every connection
   * still queued (handshake done, not accepted) when a listening socket closes, and Node cannot
   * stop new handshakes without closing (no shutdown(SHUT_RD) on a listening fd). So the listener
   * goes on accepting, but holds what it accepts unread instead of serving it: a client whose
   * connection is held does not come back with another one (wrk, a browser, a player that
   * reconnects after `Connection: close`), so arrivals stop. Once none has come for
   * ACCEPT_QUIET_MS (and the event loop has just polled the socket: libuv accepts until EAGAIN
   * there), or ACCEPT_SETTLE_MAX_MS have passed, the socket closes and the held connections are
   * served like any other: HTTP answers them with `Connection: close` (the registry is draining)
   * and the media service asks them to leave.
   */
  private settleAndClose(l: Listener): Promise<void> {
    if (!l.server.listening) {
      this.discard([l]);
      return Promise.resolve();
    }
    l.held = [];
    const started = Date.now();
    return new Promise((resolve) => {
      let seen = l.accepted;
      let quietSince = started;
      const look = (): void => {
        // check phase: the poll phase just ran, so what the kernel had queued is accepted by now
        setImmediate(() => {
          const now = Date.now();
          if (l.accepted !== seen) {
            seen = l.accepted;
            quietSince = now;
          }
          const settled = settleDone(now - quietSince, now - started);
          if (settled === 0) {
            closeServer(l.server);
            const held = l.held ?? [];
            l.held = null;
            for (const { socket, connection } of held) {
              if (socket.destroyed) continue;
              if (l.handler.build && l.app === null) socket.destroy();
              else this.dispatch(l, socket, connection);
            }
            for (const { socket } of l.pending.splice(0)) socket.destroy();
            resolve();
            return;
          }
          setTimeout(look, settled).unref();
        });
      };
      look();
    });
  }
}

/** ms without a new connection after which a closing listener's accept queue is taken as drained */
export const ACCEPT_QUIET_MS = 50;
/** ms a closing listener goes on accepting at most (clients that keep arriving) */
export const ACCEPT_SETTLE_MAX_MS = 1000;

/**
 * Whether a closing listener may close now: 0 when it may, otherwise the ms to wait before the
 * next look.
 * @param quietMs ms since the last connection arrived (or since the close began)
 * @param elapsedMs ms since the close began
 */
export function settleDone(quietMs: number, elapsedMs: number, quiet = ACCEPT_QUIET_MS, max = ACCEPT_SETTLE_MAX_MS): number {
  if (quietMs >= quiet || elapsedMs >= max) return 0;
  return Math.max(1, Math.min(quiet - quietMs, max - elapsedMs));
}

/**
 * The key an upgrade hands a listening fd over with (`rtmp@0.0.0.0:1935`, `http@0.0.0.0:1985`).
 * The new process matches it by address alone, so a port whose role the new config changes is
 * still taken over.
 */
export function endpointKey(spec: ListenerSpec): string {
  return `${spec.role === 'rtmp' ? 'rtmp' : 'http'}@${endpoint(spec.address)}`;
}

/** Stop accepting, nothing more: open connections are the drain's business. */
function closeServer(server: net.Server): void {
  if (server.listening) server.close();
}

/**
 * A keep-alive socket idle this long is closed by a drain. Not zero: a client that has just
 * received a response may have its next request on the wire, and closing under it is a reset.
 */
export const IDLE_HTTP_GRACE_MS = 200;

/**
 * nginx's lingering close (its lingering_timeout): how long a connection whose response went out
 * before its request's body was read (a 401, a 413) goes on reading and dropping that body after
 * our FIN. Closing at once resets the connection on the bytes still arriving, and a reset makes the
 * client's kernel throw away the response it has not read yet (curl and node report EPIPE or
 * ECONNRESET instead of the 401). ms.
 */
export const LINGERING_CLOSE_MS = 5000;

type HttpSocket = net.Socket & { srsConnection?: Connection; srsRequest?: http.IncomingMessage; srsLingering?: boolean };

/**
 * Replaces the socket's destroySoon, which node's HTTP server calls once the last response on a
 * connection is sent: when that response's request is not complete, the socket sends its FIN and
 * stays open until the body has arrived (node's parser drops it), the client closes, or
 * {@link LINGERING_CLOSE_MS} passes. Otherwise it is node's own.
 */
function lingerOnClose(socket: HttpSocket): void {
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = (): void => {
    if (socket.srsLingering) return;
    const req = socket.srsRequest;
    if (req === undefined || req.complete || socket.destroyed || socket.readableEnded) return destroySoon();
    socket.srsLingering = true;
    const done = (): void => {
      clearTimeout(timer);
      req.off('end', done);
      socket.off('end', done);
      socket.destroy();
    };
    const timer = setTimeout(done, LINGERING_CLOSE_MS);
    timer.unref();
    req.once('end', done);
    socket.once('end', done);
    socket.once('close', () => clearTimeout(timer));
    if (socket.writable) socket.end();
    req.resume();
  };
}

/**
 * The handler of HTTP roles: one fastify application per listener (the API, the files, or both),
 * built after the bind. Each connection's drain: responses say `Connection: close`, and the socket
 * closes once no request is in flight.
 */
export function httpRoleHandler(api: ApiContext, registry: ConnectionRegistry): RoleHandler {
  const draining = new WeakSet<Connection>();
  const responses = new WeakMap<Connection, Set<http.ServerResponse>>();
  return {
    kind: 'http',
    async build(spec: ListenerSpec): Promise<HttpApp> {
      const app = await buildHttpApp(api, { api: spec.api, files: spec.files, exporter: spec.role.split('+').includes('exporter') });
      app.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        (req.socket as HttpSocket).srsRequest = req;
        const conn = (req.socket as HttpSocket).srsConnection;
        if (!conn) return;
        conn.inFlight++;
        let open = responses.get(conn);
        if (!open) responses.set(conn, (open = new Set()));
        open.add(res);
        if (draining.has(conn) && !res.headersSent) res.shouldKeepAlive = false;
        res.once('close', () => {
          open!.delete(res);
          conn.inFlight--;
          conn.idleSince = Date.now();
          // during a drain the response said `Connection: close`: the socket leaves once it is sent
          if ((registry.isDraining || draining.has(conn)) && conn.inFlight === 0) req.socket.destroySoon();
        });
      });
      return app;
    },
    accept(socket, connection, ctx) {
      (socket as HttpSocket).srsConnection = connection;
      // a client's FIN ends its requests, not our responses (see httpAllowHalfOpen in http.ts)
      socket.allowHalfOpen = true;
      lingerOnClose(socket as HttpSocket);
      ctx.drains.set(connection, () => {
        if (draining.has(connection)) return;
        draining.add(connection);
        for (const res of responses.get(connection) ?? []) if (!res.headersSent) res.shouldKeepAlive = false;
        // an idle socket goes, but not one that has just answered: its client may have the next
        // request on the wire, which then gets `Connection: close` instead of a reset
        const closeIfIdle = (): void => {
          // a lingering socket ends itself (lingerOnClose): destroying it is the reset it avoids
          if (socket.destroyed || connection.inFlight > 0 || (socket as HttpSocket).srsLingering) return;
          const wait = IDLE_HTTP_GRACE_MS - (Date.now() - connection.idleSince);
          if (wait > 0) setTimeout(closeIfIdle, wait).unref();
          else socket.destroy();
        };
        closeIfIdle();
      });
      // accepted paused (pauseOnConnect): no byte was read before the HTTP parser attached
      (ctx.app as HttpApp).server.emit('connection', socket);
      socket.resume();
    },
  };
}
