// One fastify application per HTTP listener: the API, the file server, or both when http_api and
// http_server share a port (SRS's http.api.one.port.conf). We own the http.Server (serverFactory)
// so that binding, rebinding on reload and inheriting a socket stay in our hands, not fastify's.
import type Crypto from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as HttpDeps from './http-deps';
import type { Metrics, ReloadStatus } from './metrics';
import { SrsError } from '../errors';
import type { ConnectionRegistry } from './registry';

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
  /** the current logger (its level follows reloads) */
  log(): import('pino').Logger;
  /** the API's reload (rpc=reload): resolves with the outcome */
  reload(trigger: string): Promise<ReloadStatus>;
}

export interface HttpRoles {
  api: boolean;
  files: string | null;
}

export interface HttpApp {
  app: FastifyInstance;
  server: http.Server;
}

const SERVER_ID = `vid-${Math.random().toString(36).slice(2, 9)}`;

function envelope(ctx: ApiContext, data: unknown): Record<string, unknown> {
  // SRS's API shape: { code, server, service, pid, data }
  return { code: 0, server: SERVER_ID, service: SERVER_ID, pid: String(process.pid), data };
}

function apiError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ code: status, error: code, message });
}

export async function buildHttpApp(ctx: ApiContext, roles: HttpRoles): Promise<HttpApp> {
  // Loaded here, after the sockets are bound, not at start-up: fastify is most of our load time.
  // require, not import(): a dynamic import of a CommonJS file goes through the ESM loader, which
  // scans the whole (bundled) file for its exports first.
  const { Fastify, fastifyStatic, lazySchemaCompilers } = require('./http-deps') as typeof HttpDeps;
  let server: http.Server | undefined;
  const app = Fastify({
    logger: false,
    schemaController: { compilersFactory: lazySchemaCompilers },
    // keep-alive sockets idle longer than this are closed anyway; the drain closes them at once.
    keepAliveTimeout: 5000,
    // errors fastify raises before routing (a malformed URL...) get the same JSON shape as ours
    frameworkErrors: (error, req, reply) => {
      void apiError(reply, 400, error.code ?? 'bad_request', `${req.method} ${req.url}: ${error.message}`);
    },
    serverFactory: (handler) => {
      // node:http is required here, after the bind, with the rest of the HTTP side
      server = (require('node:http') as typeof http).createServer(handler);
      // This server never listens itself (our sockets are handed to it), but node starts its
      // per-connection clock (headersTimeout, requestTimeout: the answer to slowloris) on
      // 'listening': without it an idle half-request would hold a max_connections slot forever.
      server.emit('listening');
      return server;
    },
  });

  // During a graceful quit every response tells the client not to reuse the socket, so
  // keep-alive connections leave as soon as their request is answered.
  app.addHook('onRequest', async (req, reply) => {
    if (ctx.registry.isDraining) reply.header('connection', 'close');
    if (roles.api && req.url.startsWith('/api/')) {
      const auth = ctx.auth();
      if (auth.enabled && !checkBasicAuth(req, auth.username, auth.password)) {
        reply.header('www-authenticate', 'Basic realm="srs"');
        return apiError(reply, 401, 'unauthorized', 'http_api.auth is enabled: send HTTP basic credentials');
      }
    }
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

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const message = status < 500 ? `${req.method} ${req.url}: ${error.message}` : `${req.method} ${req.url}: internal error`;
    return apiError(reply, status, error.code ?? (status < 500 ? 'bad_request' : 'internal'), message);
  });
  app.setNotFoundHandler((req, reply) =>
    apiError(reply, 404, 'not_found', `no route ${req.method} ${req.url}${roles.api ? '; see GET /api/v1' : ''}`),
  );

  if (roles.api) registerApi(app, ctx);
  if (roles.files !== null) {
    const root = path.resolve(ctx.cwd, roles.files);
    const stat = fs.statSync(root, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) {
      throw new SrsError('SRS_ERR_CONFIG_VALUE', `http_server.dir ${roles.files}: ${root} is not a directory`);
    }
    if (stat) {
      await app.register(fastifyStatic, { root, prefix: '/', index: ['index.html'], wildcard: true });
    } else {
      // SRS serves 404s in that case too; say why once instead of failing the start
      ctx.log().warn({ dir: root }, `http_server.dir ${roles.files} does not exist (from ${ctx.cwd}): every file request will get 404`);
    }
  }
  await app.ready();
  if (!server) throw new Error('fastify did not call serverFactory');
  return { app, server };
}

function checkBasicAuth(req: FastifyRequest, username: string, password: string): boolean {
  const h = req.headers.authorization;
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
  const routes = ['/api/v1/versions', '/api/v1/summaries', '/api/v1/clients', '/api/v1/raw', '/healthz', '/readyz', '/metrics'];
  app.get('/api/v1', async () => envelope(ctx, { urls: routes }));
  app.get('/api/v1/', async () => envelope(ctx, { urls: routes }));

  app.get('/api/v1/versions', async () => {
    const [major = 0, minor = 0, revision = 0] = ctx.version.split('.').map((x) => Number.parseInt(x, 10));
    return envelope(ctx, { major, minor, revision, version: ctx.version });
  });

  app.get('/api/v1/summaries', async () => {
    const mem = process.memoryUsage();
    const up = ctx.upgrade();
    return envelope(ctx, {
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
        per_listener: ctx.registry.countByListener(),
        totals: ctx.registry.totals(),
      },
      reload: ctx.lastReload(),
    });
  });

  app.get('/api/v1/clients', async () => {
    const now = Date.now();
    return envelope(ctx, {
      clients: ctx.registry.list().map((c) => ({
        id: c.id,
        listener: c.listener,
        kind: c.kind,
        remote: c.remote,
        since: new Date(c.since).toISOString(),
        alive_ms: now - c.since,
      })),
    });
  });

  // SRS's raw API: rpc=reload (only with raw_api and allow_reload on) and rpc=reload-fetch.
  app.get('/api/v1/raw', async (req, reply) => {
    const rpc = (req.query as Record<string, string | undefined>).rpc;
    const raw = ctx.rawApi();
    if (!raw.enabled) return apiError(reply, 403, 'raw_api_disabled', 'http_api.raw_api is off: set `raw_api { enabled on; }` in http_api');
    if (rpc === 'reload') {
      if (!raw.allowReload) return apiError(reply, 403, 'reload_not_allowed', 'http_api.raw_api.allow_reload is off');
      const status = await ctx.reload('api');
      return reply.code(status.ok ? 200 : 409).send(envelope(ctx, status));
    }
    if (rpc === 'reload-fetch') return envelope(ctx, ctx.lastReload());
    return apiError(reply, 400, 'bad_rpc', `rpc=${rpc ?? ''} is not valid; use rpc=reload or rpc=reload-fetch`);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) =>
    ctx.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'quitting' }),
  );
  app.get('/api/v1/ready', async (_req, reply) =>
    ctx.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'quitting' }),
  );
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });
}
