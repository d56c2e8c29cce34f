'use strict';
// The HTTP application (dist/server/http.js) built as the server builds it, on a port of its own:
// the bound on a trickled request, the 500 shape, the exporter role, the log counters.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { buildHttpApp, REQUEST_TIMEOUT_MS } = require('../../dist/server/http.js');
const { ConnectionRegistry } = require('../../dist/server/registry.js');
const { Metrics } = require('../../dist/server/metrics.js');
const pino = require('pino');

function context(overrides = {}) {
  const registry = new ConnectionRegistry(10);
  const lines = [];
  const log = pino({ level: 'trace' }, { write: (l) => lines.push(l) });
  return {
    lines,
    ctx: {
      version: '0.1.0',
      startedAt: Date.now(),
      configFile: 'srs.conf',
      cwd: process.cwd(),
      registry,
      metrics: new Metrics(registry, Date.now()),
      daemonDecision: () => ({ daemon: false, reason: 'daemon off', container: 'none' }),
      lastReload: () => null,
      isReady: () => true,
      upgrade: () => ({ generation: 0, parentPid: null, inherited: [] }),
      rawApi: () => ({ enabled: false, allowReload: false }),
      auth: () => ({ enabled: false, username: '', password: '' }),
      log: () => log,
      reload: async () => {
        throw new Error('not in this test');
      },
      ...overrides,
    },
  };
}

async function serve(t, ctx, roles = { api: true, files: null }) {
  const app = await buildHttpApp(ctx, roles);
  await new Promise((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    app.server.closeAllConnections();
    app.server.close();
  });
  return { app, port: app.server.address().port };
}

/** Open a socket, send `head`, then `trickle` one byte every `everyMs`: resolves with what came back and when the socket closed. */
function trickle(port, head, { bytes = 1000, everyMs = 100 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    let timer;
    let sent = 0;
    sock.on('connect', () => {
      sock.write(head);
      timer = setInterval(() => {
        if (sent++ < bytes && sock.writable) sock.write('x');
      }, everyMs);
    });
    sock.on('data', (d) => (got += d));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ got, ms: Date.now() - started, sent });
    });
    setTimeout(() => {
      clearInterval(timer);
      sock.destroy();
      reject(new Error(`the server still held the trickling connection after 10 s (sent ${sent} bytes, got ${JSON.stringify(got)})`));
    }, 10000).unref();
  });
}

test('the request bound defaults to 30 s for headers and body', async (t) => {
  const { ctx } = context();
  const { app } = await serve(t, ctx);
  assert.equal(REQUEST_TIMEOUT_MS, 30000);
  assert.equal(app.server.requestTimeout, 30000);
  assert.equal(app.server.headersTimeout, 30000);
});

test('a body sent a byte at a time is answered 408 and closed within the bound', async (t) => {
  const { ctx } = context({ requestTimeoutMs: 1000 });
  const { port } = await serve(t, ctx);
  const r = await trickle(port, 'POST /api/v1/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
  assert.ok(r.ms < 3000, `closed after ${r.ms} ms, bound 1000 ms`);
  assert.match(r.got, /^HTTP\/1\.1 408 /);
  const body = JSON.parse(r.got.slice(r.got.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error, 'SRS_ERR_API_TIMEOUT');
  assert.equal(body.code, 408);
});

test('headers sent a byte at a time (slowloris) are answered 408 and closed within the bound', async (t) => {
  const { ctx } = context({ requestTimeoutMs: 1000 });
  const { port } = await serve(t, ctx);
  const r = await trickle(port, 'GET /api/v1/versions HTTP/1.1\r\nX-Slow: ');
  assert.ok(r.ms < 3000, `closed after ${r.ms} ms, bound 1000 ms`);
  assert.match(r.got, /^HTTP\/1\.1 408 /);
});

test('an internal error is a 500 in the one shape; its details go to the log, not to the client', async (t) => {
  const { ctx, lines } = context({
    daemonDecision: () => {
      throw new Error('secret detail from deep inside');
    },
  });
  const { port } = await serve(t, ctx);
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/summaries`);
  assert.equal(r.status, 500);
  const body = await r.json();
  assert.equal(body.code, 500);
  assert.equal(body.error, 'SRS_ERR_API_INTERNAL');
  assert.match(body.message, /^GET \/api\/v1\/summaries: internal error/);
  assert.doesNotMatch(JSON.stringify(body), /secret detail|\.js:\d+/);
  assert.ok(lines.some((l) => /secret detail from deep inside/.test(l)), 'the log has the cause');
});

test('summaries and /metrics carry the log counters once the log reports them; media when wired', async (t) => {
  const bare = context();
  const { port: barePort } = await serve(t, bare.ctx);
  const s0 = await (await fetch(`http://127.0.0.1:${barePort}/api/v1/summaries`)).json();
  assert.deepEqual(s0.data.log, { log_write_failures: null, log_dropped_lines: null });
  assert.equal('media' in s0.data, false);
  assert.doesNotMatch(await (await fetch(`http://127.0.0.1:${barePort}/metrics`)).text(), /srs_log_write_failures_total/);

  const stats = { writeFailures: 3, droppedLines: 17 };
  const counters = { streams: 2, publishers: 1, players: 5, bytesIn: 100, bytesOut: 500, playersDroppedBehind: 1, messagesDropped: 9 };
  const media = { counters: () => counters, streams: () => [], stream: () => null, clients: () => [], kick: () => false, matchFlv: () => null, serveFlv: () => null };
  const { ctx } = context({ logStats: () => stats, media });
  const { port } = await serve(t, ctx);
  const s = await (await fetch(`http://127.0.0.1:${port}/api/v1/summaries`)).json();
  assert.deepEqual(s.data.log, { log_write_failures: 3, log_dropped_lines: 17 });
  assert.deepEqual(s.data.media, counters);
  stats.droppedLines = 18;
  const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(m, /^srs_log_write_failures_total 3$/m);
  assert.match(m, /^srs_log_dropped_lines_total 18$/m);
  assert.match(m, /^srs_players 5$/m);
  assert.match(m, /^srs_players_dropped_total 1$/m);
});

test('the exporter role serves /metrics open, and nothing else', async (t) => {
  const { ctx } = context({ auth: () => ({ enabled: true, username: 'a', password: 'b' }) });
  const { port } = await serve(t, ctx, { api: false, files: null, exporter: true });
  const m = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(m.status, 200);
  assert.match(await m.text(), /srs_uptime_seconds/);
  const other = await fetch(`http://127.0.0.1:${port}/api/v1/versions`);
  assert.equal(other.status, 404);
  assert.equal((await other.json()).error, 'SRS_ERR_API_NO_ROUTE');
});
