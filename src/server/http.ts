// One fastify application per HTTP listener: the API, the file server, or both when http_api and
// http_server share a port (SRS's http.api.one.port.conf). We own the http.Server (serverFactory)
// so that binding, rebinding on reload and inheriting a socket stay in our hands, not fastify's.
import type Crypto from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as HttpDeps from './http-deps';
import type { LogStats, Metrics, ReloadStatus } from './metrics';
export type { LogStats } from './metrics';
import { srsError, renderMessage } from '../errors';
import type { Connection, ConnectionRegistry } from './registry';
import { apiErrorBody, classifyError, clientErrorResponse, type ApiErrorCode } from './api-errors';
import { isProtectedPath } from './route-path';
import { registerConsole, registerCors } from './console';
import type { ServiceSnapshot } from './service';
import type { MediaApi } from '../media/service';

export interface DaemonDecisionView {
  daemon: boolean;
  reason: string;
  container: string;
}

/** What the API reads from the running server; the lifecycle provides it. */
export interface ApiContext {
  version: string;
  startedAt: number;
  configFile: string;
  cwd: string;
  registry: ConnectionRegistry;
  metrics: Metrics;
  daemonDecision(): DaemonDecisionView;
  lastReload(): ReloadStatus | null;
  /** false once a graceful quit has begun: readiness answers 503 */
  isReady(): boolean;
  /** generation of this process in a chain of upgrades, and what it inherited */
  upgrade(): { generation: number; parentPid: number | null; inherited: string[] };
  rawApi(): { enabled: boolean; allowReload: boolean };
  auth(): { enabled: boolean; username: string; password: string };
  /** exporter { label; tag; }: this server's marks in srs_build_info, when wired */
  exporter?(): { label: string; tag: string };
  /** the current logger (its level follows reloads) */
  log(): import('pino').Logger;
  /** the API's reload (rpc=reload): resolves with the outcome */
  reload(trigger: string): Promise<ReloadStatus>;
  /** the log's write failures and the lines its bounded backlog dropped (SrsLog.stats()), when wired */
  logStats?: () => LogStats;
  /** streams, media clients, kick, and HTTP-FLV on the file server (src/media/service.ts), when wired */
  media?: MediaApi;
  /** each service's snapshot (listeners, connections, details) for /api/v1/summaries, when wired */
  services?: () => ServiceSnapshot[];
  /**
   * Bound on receiving one request, headers and body (ms): a client that trickles either is answered
   * 408 and closed. Default {@link REQUEST_TIMEOUT_MS}; read when an application is built.
   */
  requestTimeoutMs?: number;
}

export interface HttpRoles {
  api: boolean;
  files: string | null;
  /**
   * SRS's exporter listener (`exporter { enabled on; listen 9972; }`): serves /metrics alone, open
   * to scrapers, as SRS does on its exporter port. On the API's port /metrics needs the API's auth.
   */
  exporter?: boolean;
}

/**
 * Node's requestTimeout is 300 s: a body sent a byte a second held its connection (and its slot)
 * that long. 30 s for the headers and the body together is nginx's client_header_timeout and
 * client_body_timeout (60 s) halved: an API request or a file request is small. SRS has no
 * directive for it.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpApp {
  app: FastifyInstance;
  server: http.Server;
}

const SERVER_ID = `vid-${Math.random().toString(36).slice(2, 9)}`;

function envelope(ctx: ApiContext, data: unknown): Record<string, unknown> {
  // SRS's API shape: { code, server, service, pid, data }
  return { code: 0, server: SERVER_ID, service: SERVER_ID, pid: String(process.pid), data };
}

/**
 * Answer with the one error shape (api-errors.ts): SRS's envelope, a stable code, a message naming
 * the request. `detail` replaces the catalogue's text when the case needs more.
 */
function apiError(reply: FastifyReply, req: { method: string; url: string }, code: ApiErrorCode, detail?: string): FastifyReply {
  const body = apiErrorBody(SERVER_ID, code, req.method, req.url, detail);
  return reply.code(body.code).type('application/json').send(body);
}

/** Who may call a route: probes (open), the API (auth when enabled), files (open unless the path is the API's). */
type Access = 'open' | 'api' | 'files';
interface RouteConfig {
  srsAccess?: Access;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

export async function buildHttpApp(ctx: ApiContext, roles: HttpRoles): Promise<HttpApp> {
  // Loaded here, after the sockets are bound, not at start-up: fastify is most of our load time.
  // require, not import(): a dynamic import of a CommonJS file goes through the ESM loader, which
  // scans the whole (bundled) file for its exports first.
  const { Fastify, fastifyStatic, lazySchemaCompilers } = require('./http-deps') as typeof HttpDeps;
  let server: http.Server | undefined;
  const timeout = ctx.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const guard = (req: FastifyRequest | { method: string; url: string; headers: http.IncomingHttpHeaders }, access: Access | undefined): boolean =>
    !needsCredentials(ctx, roles, req.url, access) || hasCredentials(ctx, req.headers);
  const app = Fastify({
    logger: false,
    schemaController: { compilersFactory: lazySchemaCompilers },
    // keep-alive sockets idle longer than this are closed anyway; the drain closes them at once.
    keepAliveTimeout: 5000,
    // errors fastify raises before routing (a malformed URL...) get the one shape; without
    // credentials, a request that may be the API's is 401 whatever its spelling
    frameworkErrors: (error, req, reply) => {
      if (!guard(req, undefined)) return void deny(req, reply);
      void apiError(reply, req, classifyError(error));
    },
    serverFactory: (handler) => {
      // node:http is required here, after the bind, with the rest of the HTTP side. Its clocks
      // bound how long a request may take to arrive (slowloris, a trickled body): checked every
      // connectionsCheckingInterval, answered 408 and closed.
      // HTTP-FLV goes past fastify: a mounted stream's response lives as long as its player, and
      // its bytes are the media side's (src/media/http-flv.ts)
      const media = roles.files !== null ? ctx.media : undefined;
      server = (require('node:http') as typeof http).createServer(
        { requestTimeout: timeout, headersTimeout: timeout, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeout / 4))) },
        media ? (req, res) => serveMedia(ctx, media, req, res) || handler(req, res) : handler,
      );
      // Errors before a request exists (bad request line, too-large headers, the bound above) get
      // the one shape too, instead of node's bare status line.
      server.on('clientError', (err: Error & { code?: string }, socket: import('node:stream').Duplex) => {
        // as node's own handler: a response already under way cannot be followed by another
        const answering = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
        if (err.code === 'ECONNRESET' || !socket.writable || answering) {
          socket.destroy();
          return;
        }
        socket.end(clientErrorResponse(SERVER_ID, err.code).bytes);
      });
      // A client that sends its request and then its FIN (`printf ... | nc -N`, some probes) is
      // answered, as nginx does: node's default aborts the request on that FIN and ends the
      // socket, losing any response not written in the same tick (every file). The listener's
      // sockets are made half-open to match (listeners.ts).
      (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
      // This server never listens itself (our sockets are handed to it), but node starts its
      // per-connection clock on 'listening': without it those bounds would never be checked.
      server.emit('listening');
      return server;
    },
  });

  /** the methods each path answers (for 405 and Allow), from every route as it is added */
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const set = methodsByPath.get(route.url) ?? new Set<string>();
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) set.add(m);
    methodsByPath.set(route.url, set);
  });

  // Auth is decided from the route the router matched (its config), never from the raw URL: the
  // router decodes `%61pi` into `api`, so a check on the text would let other spellings through.
  // A request no route matched is the API's, unless the file server shares the port and the path,
  // fully canonicalised (route-path.ts), is not under /api or /metrics.
  app.addHook('onRequest', async (req, reply) => {
    // During a graceful quit every response tells the client not to reuse the socket, so
    // keep-alive connections leave as soon as their request is answered.
    if (ctx.registry.isDraining) reply.header('connection', 'close');
    if (!guard(req, (req.routeOptions.config as RouteConfig | undefined)?.srsAccess)) return deny(req, reply);
    return undefined;
  });

  // One access line per request, with the connection's context id.
  app.addHook('onResponse', async (req, reply) => {
    const conn = (req.raw.socket as { srsConnection?: { id: string } }).srsConnection;
    ctx.log().info(
      { cid: conn?.id, method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, remote: req.ip },
      `${req.method} ${req.url} ${reply.statusCode}`,
    );
  });

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string; stack?: string }, req, reply) => {
    const code = classifyError(error);
    if (code === 'SRS_ERR_API_INTERNAL') ctx.log().error({ code, err: error, method: req.method, url: req.url }, `${req.method} ${req.url}: ${error.message}`);
    return apiError(reply, req, code);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = routerPath(req.url);
    const apiPath = roles.files === null || (roles.api && isProtectedPath(req.url));
    const methods = methodsByPath.get(path) ?? (apiPath ? undefined : methodsByPath.get('/*'));
    if (methods && methods.size > 0 && !methods.has(req.method)) {
      const allow = METHODS.filter((m) => methods.has(m)).join(', ');
      reply.header('allow', allow);
      return apiError(reply, req, 'SRS_ERR_API_METHOD', `method not allowed; allowed: ${allow}`);
    }
    return apiError(reply, req, apiPath && (roles.api || roles.exporter) ? 'SRS_ERR_API_NO_ROUTE' : 'SRS_ERR_API_NO_FILE');
  });

  if (roles.api) {
    registerCors(app, ctx);
    registerApi(app, ctx);
    registerConsole(app, ctx);
  }
  if (roles.api || roles.exporter) {
    // On the API's port /metrics is the API's (auth when enabled). Wherever SRS's exporter role
    // serves it (its own port, or one the operator shares with the API) it is open, as promised.
    const access: Access = roles.exporter ? 'open' : 'api';
    app.get('/metrics', { config: { srsAccess: access } satisfies RouteConfig }, metricsHandler(ctx));
  }
  if (roles.files !== null) {
    const root = path.resolve(ctx.cwd, roles.files);
    const stat = fs.statSync(root, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) {
      throw srsError('SRS_ERR_CONFIG_VALUE', { directive: `http_server.dir ${roles.files}`, reason: `${root} is not a directory` });
    }
    if (stat) {
      await app.register(async (files) => {
        // the static routes are the file server's: open, except for paths that are the API's
        files.addHook('onRoute', (route) => {
          route.config = { ...(route.config as RouteConfig | undefined), srsAccess: 'files' } as typeof route.config;
        });
        await files.register(fastifyStatic, { root, prefix: '/', index: ['index.html'], wildcard: true });
      });
    } else {
      // SRS serves 404s in that case too; say why once instead of failing the start
      ctx.log().warn({ code: 'SRS_WARN_HTTP_DIR', dir: root }, renderMessage('SRS_WARN_HTTP_DIR', { dir: roles.files, cwd: ctx.cwd }));
    }
  }
  await app.ready();
  if (!server) throw new Error('fastify did not call serverFactory');
  return { app, server };
}

/** Whether a request must carry the API's credentials: see the onRequest hook. */
function needsCredentials(ctx: ApiContext, roles: HttpRoles, url: string, access: Access | undefined): boolean {
  if (!roles.api || !ctx.auth().enabled) return false;
  if (access === 'open') return false;
  if (access === 'api') return true;
  // a file, or no route at all: protected unless files share the port and the path is not the API's
  return roles.files === null || isProtectedPath(url);
}

function hasCredentials(ctx: ApiContext, headers: http.IncomingHttpHeaders): boolean {
  const auth = ctx.auth();
  return checkBasicAuth(headers.authorization, auth.username, auth.password);
}

function deny(req: { method: string; url: string }, reply: FastifyReply): FastifyReply {
  reply.header('www-authenticate', 'Basic realm="srs"');
  return apiError(reply, req, 'SRS_ERR_API_UNAUTHORIZED');
}

/** The path as the router matched it: query dropped, percent-decoded once (as find-my-way does). */
function routerPath(url: string): string {
  const q = url.indexOf('?');
  const p = q >= 0 ? url.slice(0, q) : url;
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function metricsHandler(ctx: ApiContext) {
  return async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const marks = ctx.exporter?.();
    const build = { version: ctx.version, label: marks?.label ?? '', tag: marks?.tag ?? '' };
    const { contentType, body } = await ctx.metrics.render({ logStats: ctx.logStats, media: ctx.media?.counters, build });
    return reply.type(contentType).send(body);
  };
}

/**
 * An HTTP-FLV request for a stream a vhost mounts (`http_remux { mount [vhost]/[app]/[stream].flv; }`):
 * served by the media side; false for anything else (a file, an API route).
 */
function serveMedia(ctx: ApiContext, media: MediaApi, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.method !== 'GET' || !req.url) return false;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const match = media.matchFlv(req.url, host);
  if (!match) return false;
  const connection = (req.socket as { srsConnection?: Connection }).srsConnection;
  if (!connection) return false;
  ctx.log().info({ cid: connection.id, url: req.url, remote: connection.remote }, `GET ${req.url}: HTTP-FLV player of ${match.key.vhost}/${match.key.app}/${match.key.stream}`);
  const refused = media.serveFlv(req, res, match.key, match.vhost, connection);
  if (refused !== null) {
    res.writeHead(403, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(JSON.stringify(apiErrorBody(SERVER_ID, 'SRS_ERR_API_FORBIDDEN', req.method ?? 'GET', req.url, refused)));
  }
  return true;
}

function checkBasicAuth(h: string | undefined, username: string, password: string): boolean {
  if (!h || !h.startsWith('Basic ')) return false;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i >= 0 && sameSecret(decoded.slice(0, i), username) && sameSecret(decoded.slice(i + 1), password);
}

/** Constant-time comparison: the time an answer takes says nothing about how much matched. */
function sameSecret(given: string, expected: string): boolean {
  // node:crypto is required when first used, not at start-up (it is a few ms of a start)
  const { createHash, timingSafeEqual } = require('node:crypto') as typeof Crypto;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function readCpuPercent(): { user: number; system: number } {
  const u = process.cpuUsage();
  return { user: u.user / 1000, system: u.system / 1000 };
}

function registerApi(app: FastifyInstance, ctx: ApiContext): void {
  const api = { config: { srsAccess: 'api' } satisfies RouteConfig };
  const open = { config: { srsAccess: 'open' } satisfies RouteConfig };
  const routes = ['/api/v1/versions', '/api/v1/summaries', '/api/v1/streams', '/api/v1/clients', '/api/v1/raw', '/healthz', '/readyz', '/metrics'];
  app.get('/api/v1', api, async () => envelope(ctx, { urls: routes }));
  app.get('/api/v1/', api, async () => envelope(ctx, { urls: routes }));

  app.get('/api/v1/versions', api, async () => {
    const [major = 0, minor = 0, revision = 0] = ctx.version.split('.').map((x) => Number.parseInt(x, 10));
    return envelope(ctx, { major, minor, revision, version: ctx.version });
  });

  app.get('/api/v1/summaries', api, async () => {
    const mem = process.memoryUsage();
    const up = ctx.upgrade();
    const log = ctx.logStats?.();
    const data: Record<string, unknown> = {
      ok: true,
      now_ms: Date.now(),
      self: {
        version: ctx.version,
        pid: process.pid,
        ppid: process.ppid,
        argv: process.argv.join(' '),
        cwd: ctx.cwd,
        config: ctx.configFile,
        uptime_ms: Date.now() - ctx.startedAt,
        started_at: new Date(ctx.startedAt).toISOString(),
        mem_rss_kbyte: Math.round(mem.rss / 1024),
        mem_heap_kbyte: Math.round(mem.heapUsed / 1024),
        cpu_ms: readCpuPercent(),
        daemon: ctx.daemonDecision(),
        ready: ctx.isReady(),
        generation: up.generation,
        parent_pid: up.parentPid,
        inherited_listeners: up.inherited,
      },
      connections: {
        open: ctx.registry.size,
        max: ctx.registry.maxConnections,
        // the API's own slots, apart from max_connections
        api_open: ctx.registry.slots().api,
        api_max: ctx.registry.maxApiConnections,
        per_listener: ctx.registry.countByListener(),
        totals: ctx.registry.totals(),
      },
      // null until the log reports them (SrsLog.stats())
      log: { log_write_failures: log?.writeFailures ?? null, log_dropped_lines: log?.droppedLines ?? null },
      reload: ctx.lastReload(),
    };
    if (ctx.media) data.media = ctx.media.counters();
    if (ctx.services) data.services = ctx.services();
    return envelope(ctx, data);
  });

  // SRS's stream and client APIs: the list at the top level (`streams`, `clients`), one at
  // `stream`/`client`, as SRS's srs_app_http_api.cpp answers, so SRS's console and dashboards read them.
  app.get('/api/v1/streams', api, async () => ({ ...envelope(ctx, undefined), streams: ctx.media?.streams() ?? [] }));
  app.get('/api/v1/streams/', api, async () => ({ ...envelope(ctx, undefined), streams: ctx.media?.streams() ?? [] }));
  app.get('/api/v1/streams/:id', api, async (req, reply) => {
    const { id } = req.params as { id: string };
    const stream = ctx.media?.stream(id) ?? null;
    if (!stream) return apiError(reply, req, 'SRS_ERR_API_NO_STREAM');
    return { ...envelope(ctx, undefined), stream };
  });

  app.get('/api/v1/clients', api, async () => {
    const now = Date.now();
    const media = new Map((ctx.media?.clients() ?? []).map((c) => [c.id, c]));
    return {
      // every open connection (media and HTTP), as srs has always listed them
      ...envelope(ctx, {
        clients: ctx.registry.list().map((c) => ({
          id: c.id,
          listener: c.listener,
          kind: c.kind,
          remote: c.remote,
          since: new Date(c.since).toISOString(),
          alive_ms: now - c.since,
          type: media.get(c.id)?.type ?? null,
        })),
      }),
      // SRS's shape: the publishers and players, each with its stream
      clients: [...media.values()],
    };
  });
  app.get('/api/v1/clients/:id', api, async (req, reply) => {
    const { id } = req.params as { id: string };
    const client = ctx.media?.clients().find((c) => c.id === id) ?? null;
    if (!client) return apiError(reply, req, 'SRS_ERR_API_NO_CLIENT');
    return { ...envelope(ctx, undefined), client };
  });
  // SRS's kick: a publisher is closed after its current message, a player is told its stream ends
  app.delete('/api/v1/clients/:id', api, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (ctx.media?.kick(id)) {
      ctx.log().info({ cid: id }, `client ${id} kicked by the API`);
      return envelope(ctx, undefined);
    }
    const conn = ctx.registry.list().find((c) => c.id === id);
    if (!conn) return apiError(reply, req, 'SRS_ERR_API_NO_CLIENT');
    ctx.log().info({ cid: id }, `connection ${id} closed by the API`);
    conn.socket.end();
    return envelope(ctx, undefined);
  });

  // SRS's raw API: rpc=reload (only with raw_api and allow_reload on) and rpc=reload-fetch.
  app.get('/api/v1/raw', api, async (req, reply) => {
    const rpc = (req.query as Record<string, string | undefined>).rpc;
    const raw = ctx.rawApi();
    if (!raw.enabled) return apiError(reply, req, 'SRS_ERR_API_RAW_DISABLED');
    if (rpc === 'reload') {
      if (!raw.allowReload) return apiError(reply, req, 'SRS_ERR_API_RELOAD_NOT_ALLOWED');
      const status = await ctx.reload('api');
      // a refused reload names its code as every error body does (`error`), the status in `data`
      return reply.code(status.ok ? 200 : 409).send(status.ok ? envelope(ctx, status) : { ...envelope(ctx, status), error: 'SRS_ERR_RELOAD_FAILED' });
    }
    if (rpc === 'reload-fetch') return envelope(ctx, ctx.lastReload());
    return apiError(reply, req, 'SRS_ERR_API_BAD_RPC');
  });

  // Probes stay open whatever http_api.auth says: a kubelet or a load balancer has no credentials.
  app.get('/healthz', open, async () => ({ status: 'ok' }));
  app.get('/readyz', open, async (_req, reply) =>
    ctx.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'quitting' }),
  );
  app.get('/api/v1/ready', api, async (_req, reply) =>
    ctx.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'quitting' }),
  );
}
