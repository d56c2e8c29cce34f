// The operator's console on the API's port: the page's built files under /console/, and one
// Server-Sent Events stream per page (/api/v1/events) that pushes what the panels show, so the page
// never polls. The stream ends itself when the server drains: a long-lived request would otherwise
// hold the drain until grace_max_wait. Also SRS's CORS for the API (`http_api { crossdomain on; }`).
import fs from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from './http';
import type { ConnectionRegistry } from './registry';
import type { ConsoleContext, ListenerView } from './console-context';
import { EVENT_LOG, EVENT_QUITTING, EVENT_SNAPSHOT, type ConnectionRow, type ListenerRow, type LogLine, type Snapshot } from '../console/snapshot';

/** Log lines a page gets when it connects (the panel's size) and at most per event after. */
export const LOG_TAIL_LINES = 200;
/** The stream's period when the context does not set one (ms). */
export const CONSOLE_PERIOD_MS = 1000;

/** The console's files: a fixed list, so no request path ever reaches the file system. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'mpegts.js.LICENSE.txt': 'text/plain; charset=utf-8',
};

/**
 * SRS's CORS headers (srs_app_http_conn.cpp SrsHttpCorsMux, SRS 4's list), sent when the request
 * carries an Origin. `Authorization` is added to the allowed headers: SRS's list lacks it, and a
 * dashboard on another origin cannot send http_api.auth's credentials without it.
 */
export const CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, HEAD, PUT, DELETE, OPTIONS',
  'access-control-expose-headers': 'Server,range,Content-Length,Content-Range',
  'access-control-allow-headers': 'origin,range,accept-encoding,referer,Cache-Control,X-Proxy-Authorization,X-Requested-With,Content-Type,Authorization',
});

function crossdomain(ctx: ApiContext): boolean {
  return (ctx as ConsoleContext).crossdomain?.() ?? true;
}

/**
 * CORS on every answer of the API's application when `http_api.crossdomain` is on (SRS's
 * default), 401s included, so a dashboard on another origin can read why it was refused. A
 * preflight (OPTIONS) is answered 200 without credentials, as browsers send none with it; with
 * crossdomain off, 405 as SRS does. Call it once per application, before the API's routes.
 */
export function registerCors(app: FastifyInstance, ctx: ApiContext): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.headers.origin !== undefined && crossdomain(ctx)) reply.headers(CORS_HEADERS);
    return payload;
  });
  app.options('/*', { config: { srsAccess: 'open' } }, async (_req, reply) => {
    if (!crossdomain(ctx)) return reply.code(405).send();
    return reply.code(200).send();
  });
}

/** Where the built console is: the context's, else objs/nginx/html/console next to dist/. */
export function consoleDir(ctx: ApiContext, here: string = __dirname): string {
  const given = (ctx as ConsoleContext).consoleDir;
  if (given) return given;
  // dist/srs.js (the bundle) is one level below the root, dist/server/console.js two
  const candidates = [path.join(here, '..', 'objs', 'nginx', 'html', 'console'), path.join(here, '..', '..', 'objs', 'nginx', 'html', 'console')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

/**
 * The console's event streams of one registry: their sockets (the drain does not wait for them)
 * and their ticks, run at once when a connection closes during a quit. One 'closed' listener per
 * registry, whatever the number of pages.
 */
interface Streams {
  sockets: Set<Socket>;
  ticks: Set<() => void>;
}
const streamsOf = new WeakMap<ConnectionRegistry, Streams>();

/** A page that reads slower than the stream writes is cut past this many bytes queued: it reconnects. */
export const MAX_QUEUED_BYTES = 1 << 20;

/**
 * GET /console/ (the page, its script and style) and GET /api/v1/events (the stream), both under
 * the API's auth. Call it where the API's routes are registered (roles.api).
 */
export function registerConsole(app: FastifyInstance, ctx: ApiContext): void {
  const api = { config: { srsAccess: 'api' } };
  const dir = consoleDir(ctx);
  app.get('/console', api, async (_req, reply) => reply.redirect('/console/', 302));
  const serve = async (name: string, reply: FastifyReply): Promise<FastifyReply> => {
    const type = FILES[name];
    if (!type) return reply.code(404).type('text/plain').send(`no such file in the console: ${name}\n`);
    let body: Buffer;
    try {
      body = await fs.promises.readFile(path.join(dir, name));
    } catch {
      return reply.code(404).type('text/plain').send(`the console is not built (${path.join(dir, name)} is missing): run npm run build\n`);
    }
    return reply.type(type).header('cache-control', 'no-cache').send(body);
  };
  app.get('/console/', api, async (_req, reply) => serve('index.html', reply));
  app.get('/console/:file', api, async (req, reply) => serve((req.params as { file: string }).file, reply));
  app.get('/api/v1/events', api, async (req, reply) => eventStream(ctx as ConsoleContext, req, reply));
}

/** One SSE frame. `data` is JSON on one line, so no line of it can end the frame early. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The console's streams' sockets are excluded from "connections left": a drain waits for the
 * others, the console watches it, and closes its own streams once nothing else is left.
 */
function streams(ctx: ApiContext): Streams {
  let st = streamsOf.get(ctx.registry);
  if (!st) {
    const created: Streams = { sockets: new Set(), ticks: new Set() };
    // the drain's last other connection may close between ticks: look again at once
    ctx.registry.on('closed', () => {
      if (!ctx.isReady()) for (const tick of [...created.ticks]) tick();
    });
    streamsOf.set(ctx.registry, created);
    st = created;
  }
  return st;
}

/**
 * Whether a stream must end now: the server is quitting and either the grace is past its
 * start_wait (listeners closed) with nothing but console streams left, or it is finishing. With
 * no grace() in the context, "not ready" counts as draining.
 */
export function shouldClose(grace: Snapshot['grace']): boolean {
  if (grace.phase === 'idle' || grace.phase === 'start_wait') return false;
  if (grace.phase === 'final_wait' || grace.phase === 'done') return true;
  return grace.open === 0;
}

async function eventStream(ctx: ConsoleContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const res = reply.raw;
  const socket = req.raw.socket;
  const all = streams(ctx);
  const own = all.sockets;
  reply.hijack();
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // a proxy in front must pass each event at once
    'x-accel-buffering': 'no',
  };
  if (req.headers.origin !== undefined && crossdomain(ctx)) Object.assign(headers, CORS_HEADERS);
  res.writeHead(200, headers);
  own.add(socket);
  let lastSeq = 0;
  let closed = false;
  // a page that reconnects waits this long (EventSource's retry, ms)
  res.write(`retry: 2000\n\n`);
  const tick = (): void => {
    if (closed) return;
    if (res.writableLength > MAX_QUEUED_BYTES) {
      finish();
      return;
    }
    const snap = buildSnapshot(ctx, own);
    if (ctx.logTail) {
      const lines: LogLine[] = ctx.logTail(LOG_TAIL_LINES).filter((l) => l.seq > lastSeq);
      if (lines.length > 0) {
        lastSeq = lines[lines.length - 1]!.seq;
        res.write(sseFrame(EVENT_LOG, lines));
      }
    }
    if (snap.grace.phase !== 'idle' && shouldClose(snap.grace)) {
      res.write(sseFrame(EVENT_QUITTING, snap));
      finish();
      return;
    }
    res.write(sseFrame(EVENT_SNAPSHOT, snap));
  };
  const timer = setInterval(tick, ctx.consolePeriodMs ?? CONSOLE_PERIOD_MS);
  all.ticks.add(tick);
  const finish = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    all.ticks.delete(tick);
    own.delete(socket);
    res.end();
    // the socket would otherwise sit idle until the drain's sweep closes it
    if (!ctx.isReady()) socket.end();
  };
  res.on('close', finish);
  tick();
}

function listenerRows(ctx: ConsoleContext): ListenerRow[] {
  const counts = ctx.registry.countByListener();
  const totals = ctx.registry.totals();
  const bound: ListenerView[] | null = ctx.listenersBound?.() ?? null;
  if (bound) {
    return bound.map((l) => ({
      role: l.role,
      endpoint: l.endpoint,
      inherited: l.inherited,
      // the registry counts per role: listeners of one role share the count
      connections: counts[l.role] ?? 0,
      accepted: totals[l.role]?.accepted ?? 0,
      refused: totals[l.role]?.refused ?? 0,
    }));
  }
  return Object.keys(counts)
    .sort()
    .map((role) => ({ role, endpoint: null, inherited: false, connections: counts[role] ?? 0, accepted: totals[role]?.accepted ?? 0, refused: totals[role]?.refused ?? 0 }));
}

/** The port of `host:port` / `[v6]:port`, or null. */
export function portOf(endpoint: string): number | null {
  const m = /:(\d+)$/.exec(endpoint);
  return m ? Number(m[1]) : null;
}

/** Everything the panels show, now. `own`: the console's streams, left out of "connections left". */
export function buildSnapshot(ctx: ConsoleContext, own: ReadonlySet<Socket> = new Set()): Snapshot {
  const now = Date.now();
  const up = ctx.upgrade();
  const raw = ctx.rawApi();
  const slots = ctx.registry.slots();
  const media = ctx.mediaView?.() ?? null;
  const list = ctx.registry.list();
  const connectionList: ConnectionRow[] = list.map((c) => ({ id: c.id, listener: c.listener, kind: c.kind, remote: c.remote, since: c.since }));
  const open = list.filter((c) => !own.has(c.socket)).length;
  const g = ctx.grace?.();
  const grace: Snapshot['grace'] = g
    ? { phase: g.phase, detailed: true, since: g.since, quitAt: g.quitAt, startWaitMs: g.startWaitMs, finalWaitMs: g.finalWaitMs, maxWaitMs: g.maxWaitMs, reason: g.reason, open }
    : { phase: ctx.isReady() ? 'idle' : 'quitting', detailed: false, since: null, quitAt: null, startWaitMs: null, finalWaitMs: null, maxWaitMs: null, reason: null, open };
  const listeners = listenerRows(ctx);
  const files = listeners.find((l) => l.role.split('+').includes('http_server') && l.endpoint !== null);
  return {
    at: now,
    process: {
      version: ctx.version,
      pid: process.pid,
      ppid: process.ppid,
      uptime_ms: now - ctx.startedAt,
      started_at: ctx.startedAt,
      daemon: ctx.daemonDecision(),
      generation: up.generation,
      parent_pid: up.parentPid,
      inherited: up.inherited,
      ready: ctx.isReady(),
      mem_rss_kbyte: Math.round(process.memoryUsage.rss() / 1024),
    },
    connections: { open: ctx.registry.size, max: ctx.registry.maxConnections, api_open: slots.api, api_max: ctx.registry.maxApiConnections },
    listeners,
    streams: media ? media.streams() : null,
    clients: media ? media.clients() : null,
    connectionList,
    config: { file: ctx.configFile, generation: ctx.configGeneration?.() ?? null, reload: ctx.lastReload(), rawApi: raw.enabled, allowReload: raw.allowReload, auth: ctx.auth().enabled },
    grace,
    logAvailable: ctx.logTail !== undefined,
    flvPort: files?.endpoint ? portOf(files.endpoint) : null,
  };
}
