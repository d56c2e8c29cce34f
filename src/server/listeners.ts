// The set of listening sockets the config asks for: media on every `listen`, the API and the file
// server (one socket when they share a port). A reload hands a new config to `apply`, which binds
// what is new before closing what is gone, so a bad address leaves the old listeners untouched.
import net from 'node:net';
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
  server: net.Server;
  http: HttpApp | null;
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

export class ListenerSet {
  private readonly active = new Map<string, Listener>();
  private readonly deps: ListenerDeps;

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

  private async open(spec: ListenerSpec): Promise<Listener> {
    const { registry } = this.deps;
    let server: net.Server;
    let http: HttpApp | null = null;
    if (spec.role === 'rtmp') {
      server = net.createServer({ noDelay: true });
      server.on('connection', (socket) => {
        const connection = this.admit(socket, spec, 'media');
        if (!connection) return;
        const log = this.deps.log().child({ cid: connection.id });
        log.info({ remote: connection.remote, listener: endpoint(spec.address) }, 'rtmp client connected');
        serveMediaConnection(socket, log);
      });
    } else {
      http = await buildHttpApp(this.deps.api, { api: spec.api, files: spec.files });
      server = http.server;
      // prependListener: runs before node's http parser attaches, so a refused socket never
      // reaches fastify.
      server.prependListener('connection', (socket: net.Socket) => {
        const connection = this.admit(socket, spec, 'http');
        if (connection) (socket as net.Socket & { srsConnection?: unknown }).srsConnection = connection;
      });
      server.on('request', (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
        const conn = (req.socket as net.Socket & { srsConnection?: { inFlight: number; idleSince: number } }).srsConnection;
        if (!conn) return;
        conn.inFlight++;
        res.once('close', () => {
          conn.inFlight--;
          conn.idleSince = Date.now();
          // during a drain the response said `Connection: close`: the socket leaves once it is sent
          if (registry.isDraining && conn.inFlight === 0) req.socket.destroySoon();
        });
      });
    }
    server.on('error', (e) => this.deps.log().error({ err: e, listener: spec.key }, 'listener error'));
    const fd = this.deps.inheritedFds?.get(endpointKey(spec));
    if (fd !== undefined) this.deps.inheritedFds?.delete(endpointKey(spec));
    await listenOn(server, spec, fd);
    return { spec, server, http, inherited: fd !== undefined };
  }

  /**
   * Bring the listeners in line with a config: bind every new one first (all or nothing: on any
   * failure the ones just opened are closed and the running set is unchanged), then close those
   * the config no longer has. Open connections are never touched: closing a server only stops
   * accepting.
   */
  async apply(cfg: SrsConfig): Promise<{ opened: Array<ListenerSpec & { inherited: boolean }>; closed: ListenerSpec[] }> {
    const wanted = listenerSpecs(cfg);
    const wantedKeys = new Set(wanted.map((s) => s.key));
    const opened: Listener[] = [];
    try {
      for (const spec of wanted) {
        if (this.active.has(spec.key)) continue;
        // The same endpoint may be held by a listener that is going away (e.g. the API turned
        // into API + file server on one port): release it first, or the bind would fail.
        for (const old of this.active.values()) {
          if (!wantedKeys.has(old.spec.key) && endpoint(old.spec.address) === endpoint(spec.address)) {
            await closeServer(old.server);
            this.active.delete(old.spec.key);
          }
        }
        opened.push(await this.open(spec));
      }
    } catch (e) {
      await Promise.all(opened.map((l) => closeServer(l.server)));
      throw e;
    }
    for (const l of opened) this.active.set(l.spec.key, l);
    const closed: ListenerSpec[] = [];
    for (const [key, l] of [...this.active.entries()]) {
      if (!wantedKeys.has(key)) {
        this.active.delete(key);
        closed.push(l.spec);
        void closeServer(l.server);
      }
    }
    return { opened: opened.map((l) => ({ ...l.spec, inherited: l.inherited })), closed };
  }

  /** The listening sockets' fds by endpoint key, for an upgrade to hand over. */
  listeningSockets(): Array<{ key: string; fd: number }> {
    const out: Array<{ key: string; fd: number }> = [];
    for (const l of this.active.values()) {
      const fd = (l.server as net.Server & { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd === 'number' && fd > 2) out.push({ key: endpointKey(l.spec), fd });
    }
    return out;
  }

  /** Stop accepting on every listener; open connections stay (graceful quit, or before destroyAll). */
  async closeAll(): Promise<void> {
    const all = [...this.active.values()];
    this.active.clear();
    await Promise.all(all.map((l) => closeServer(l.server)));
  }
}

/** The endpoint part of a spec, the identity an inherited socket is matched on. */
export function endpointKey(spec: ListenerSpec): string {
  return `${spec.role === 'rtmp' ? 'rtmp' : 'http'}@${endpoint(spec.address)}`;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    // Stop accepting, nothing more: http.Server#close would also close idle keep-alive sockets
    // at once, under a client that may be sending its next request (the drain does that with a
    // grace instead). The callback would wait for every connection, which is the drain's business.
    net.Server.prototype.close.call(server);
    resolve();
  });
}
