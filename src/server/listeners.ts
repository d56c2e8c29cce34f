// The set of listening sockets the config asks for: media on every `listen`, the API and the file
// server (one socket when they share a port). A reload hands a new config to `apply`, which binds
// what is new before closing what is gone, so a bad address leaves the old listeners untouched.
import net from 'node:net';
import type http from 'node:http';
import type pino from 'pino';
import type { ListenAddress, SrsConfig } from '../config/schema';
import { SrsError, errnoCode } from '../errors';
import { buildHttpApp, type ApiContext, type HttpApp } from './http';
import type { Connection, ConnectionKind, ConnectionRegistry } from './registry';
import { serveMediaConnection } from './media';
import type { Metrics } from './metrics';

export type ListenerRole = 'rtmp' | 'http_api' | 'http_server' | 'http_api+http_server';

export interface ListenerSpec {
  /** identity: a listener whose key is unchanged across a reload is kept as it is */
  key: string;
  role: ListenerRole;
  address: ListenAddress;
  api: boolean;
  files: string | null;
}

export function hostOf(a: ListenAddress): string {
  // SRS binds IPv4 any for a bare port; `[::]:1935` asks for IPv6.
  return a.host ?? '0.0.0.0';
}

export function endpoint(a: ListenAddress): string {
  const h = hostOf(a);
  return h.includes(':') ? `[${h}]:${a.port}` : `${h}:${a.port}`;
}

/** The listeners a config asks for, in a stable order. */
export function listenerSpecs(cfg: SrsConfig): ListenerSpec[] {
  const specs: ListenerSpec[] = [];
  const seen = new Set<string>();
  for (const a of cfg.listen) {
    const key = `rtmp@${endpoint(a)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    specs.push({ key, role: 'rtmp', address: a, api: false, files: null });
  }
  const api = cfg.httpApi.enabled ? cfg.httpApi.listen : null;
  const files = cfg.httpServer.enabled ? cfg.httpServer.listen : null;
  if (api && files && endpoint(api) === endpoint(files)) {
    specs.push({ key: `http_api+http_server@${endpoint(api)}:${cfg.httpServer.dir}`, role: 'http_api+http_server', address: api, api: true, files: cfg.httpServer.dir });
  } else {
    if (api) specs.push({ key: `http_api@${endpoint(api)}`, role: 'http_api', address: api, api: true, files: null });
    if (files) specs.push({ key: `http_server@${endpoint(files)}:${cfg.httpServer.dir}`, role: 'http_server', address: files, api: false, files: cfg.httpServer.dir });
  }
  return specs;
}

export interface Listener {
  spec: ListenerSpec;
  /** the listening socket: a plain net.Server; HTTP sockets are handed to the app's http.Server */
  server: net.Server;
  /** the HTTP application new connections go to (null for media, or until it is built) */
  http: HttpApp | null;
  /** HTTP sockets accepted before the application was built: handed over once it is */
  pending: net.Socket[];
  /** true when the socket came from the previous process of an upgrade */
  inherited: boolean;
}

export interface ListenerDeps {
  registry: ConnectionRegistry;
  metrics: Metrics;
  log: () => pino.Logger;
  api: ApiContext;
  /** listening fds handed over by the previous process, by endpoint; consumed when used */
  inheritedFds?: Map<string, number>;
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
 * Listeners are identified by endpoint (`rtmp@0.0.0.0:1935`, `http@0.0.0.0:1985`): sockets are
 * bound first, as nginx's master does, and the HTTP applications are built after, so a port
 * conflict fails before any heavy work, and connections that arrive meanwhile wait in the
 * socket's queue instead of being refused. A reload that changes what an HTTP port serves swaps
 * its application and keeps the socket.
 */
export class ListenerSet {
  private readonly active = new Map<string, Listener>();
  private readonly deps: ListenerDeps;
  /** closeAll() ran: the process is quitting, nothing opens again */
  private closed = false;

  constructor(deps: ListenerDeps) {
    this.deps = deps;
  }

  list(): Listener[] {
    return [...this.active.values()];
  }

  /** Count the socket in, or refuse it (max_connections): null when refused and destroyed. */
  private admit(socket: net.Socket, spec: ListenerSpec, kind: ConnectionKind): Connection | null {
    const admitted = this.deps.registry.admit(socket, spec.role, kind);
    if (!admitted.admitted) {
      this.deps.metrics.connectionRefused(spec.role, admitted.reason);
      socket.destroy();
      return null;
    }
    this.deps.metrics.connectionAccepted(spec.role);
    return admitted.connection;
  }

  /** Bind (or adopt an inherited fd); connections are accepted from here on. */
  private async bind(spec: ListenerSpec): Promise<Listener> {
    const media = spec.role === 'rtmp';
    // HTTP sockets stay unread until the application's parser consumes them
    const server = net.createServer({ noDelay: true, pauseOnConnect: !media });
    const listener: Listener = { spec, server, http: null, pending: [], inherited: false };
    server.on('connection', (socket: net.Socket) => {
      const connection = this.admit(socket, listener.spec, media ? 'media' : 'http');
      if (!connection) return;
      if (media) {
        const log = this.deps.log();
        log.info({ cid: connection.id, remote: connection.remote, listener: endpoint(spec.address) }, 'rtmp client connected');
        serveMediaConnection(socket, log, connection);
        return;
      }
      (socket as net.Socket & { srsConnection?: Connection }).srsConnection = connection;
      if (listener.http) handOver(listener.http, socket);
      else listener.pending.push(socket);
    });
    const key = endpointKey(spec);
    const fd = this.deps.inheritedFds?.get(key);
    if (fd !== undefined) this.deps.inheritedFds?.delete(key);
    await listenOn(server, spec, fd);
    // after the bind: a bind failure is the caller's to report, once
    server.on('error', (e) => this.deps.log().error({ err: e, listener: spec.key }, 'listener error'));
    listener.inherited = fd !== undefined;
    return listener;
  }

  /** Build the HTTP application a spec asks for, counting requests per socket for the drain. */
  private async buildApp(spec: ListenerSpec): Promise<HttpApp> {
    const { registry } = this.deps;
    const app = await buildHttpApp(this.deps.api, { api: spec.api, files: spec.files });
    app.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const conn = (req.socket as net.Socket & { srsConnection?: Connection }).srsConnection;
      if (!conn) return;
      conn.inFlight++;
      res.once('close', () => {
        conn.inFlight--;
        conn.idleSince = Date.now();
        // during a drain the response said `Connection: close`: the socket leaves once it is sent
        if (registry.isDraining && conn.inFlight === 0) req.socket.destroySoon();
      });
    });
    return app;
  }

  private install(listener: Listener, app: HttpApp, spec: ListenerSpec): void {
    listener.http = app;
    listener.spec = spec;
    for (const socket of listener.pending.splice(0)) if (!socket.destroyed) handOver(app, socket);
  }

  /**
   * Bring the listeners in line with a config, all or nothing: bind every new endpoint and build
   * every new or changed application first (on any failure what was just opened is closed and the
   * running set is unchanged), then switch, then close the endpoints the config no longer has.
   * Open connections are never touched: closing a listener only stops accepting, and a swapped
   * application keeps serving the connections it already has.
   */
  async apply(cfg: SrsConfig, afterBind: () => void = () => {}): Promise<{ opened: Array<ListenerSpec & { inherited: boolean }>; closed: ListenerSpec[] }> {
    const wanted = listenerSpecs(cfg);
    const wantedEndpoints = new Set(wanted.map(endpointKey));
    const opened: Listener[] = [];
    const swaps: Array<{ listener: Listener; spec: ListenerSpec; app: HttpApp | null }> = [];
    try {
      for (const spec of wanted) {
        const current = this.active.get(endpointKey(spec));
        if (!current) {
          const l = await this.bind(spec);
          opened.push(l);
          swaps.push({ listener: l, spec, app: null });
        } else if (current.spec.key !== spec.key) {
          swaps.push({ listener: current, spec, app: null });
        }
      }
      afterBind();
      for (const swap of swaps) if (swap.spec.role !== 'rtmp') swap.app = await this.buildApp(swap.spec);
    } catch (e) {
      this.discard(opened);
      throw e;
    }
    if (this.closed) {
      // a quit closed everything while we were binding: what we opened goes too
      this.discard(opened);
      throw new SrsError('SRS_ERR_SIGNAL', 'quitting: listeners not changed');
    }
    for (const l of opened) this.active.set(endpointKey(l.spec), l);
    for (const { listener, spec, app } of swaps) {
      if (app) this.install(listener, app, spec);
      else listener.spec = spec;
    }
    const closed: ListenerSpec[] = [];
    for (const [key, l] of [...this.active.entries()]) {
      if (!wantedEndpoints.has(key)) {
        this.active.delete(key);
        closed.push(l.spec);
        closeServer(l.server);
      }
    }
    return { opened: opened.map((l) => ({ ...l.spec, inherited: l.inherited })), closed };
  }

  /** The listening sockets' fds by endpoint key, for an upgrade to hand over. */
  listeningSockets(): Array<{ key: string; fd: number }> {
    const out: Array<{ key: string; fd: number }> = [];
    for (const [key, l] of this.active) {
      const fd = (l.server as net.Server & { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd === 'number' && fd > 2) out.push({ key, fd });
    }
    return out;
  }

  /** Listeners opened by an apply that is not going through: nobody will answer their sockets. */
  private discard(listeners: Listener[]): void {
    for (const l of listeners) {
      closeServer(l.server);
      for (const socket of l.pending.splice(0)) socket.destroy();
    }
  }

  /** Stop accepting on every listener; open connections stay (graceful quit, or before destroyAll). */
  closeAll(): void {
    this.closed = true;
    const all = [...this.active.values()];
    this.active.clear();
    for (const l of all) {
      closeServer(l.server);
      // accepted but never handed to an application: nobody will answer them
      for (const socket of l.pending.splice(0)) socket.destroy();
    }
  }
}

/** The endpoint part of a spec, the identity an inherited socket is matched on. */
export function endpointKey(spec: ListenerSpec): string {
  return `${spec.role === 'rtmp' ? 'rtmp' : 'http'}@${endpoint(spec.address)}`;
}

/**
 * Give an accepted socket to the application's http.Server. It was accepted paused
 * (pauseOnConnect), so no byte was read before the HTTP parser attached; resume starts reading.
 */
function handOver(app: HttpApp, socket: net.Socket): void {
  app.server.emit('connection', socket);
  socket.resume();
}

/** Stop accepting, nothing more: open connections are the drain's business. */
function closeServer(server: net.Server): void {
  if (server.listening) server.close();
}
