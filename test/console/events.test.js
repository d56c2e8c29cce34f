'use strict';
// The console's event stream on a fastify app of its own (no lifecycle): what it sends, when it
// ends itself during a quit, and that pages do not pile listeners on the registry.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { EventEmitter } = require('node:events');
const { Fastify } = require('../../dist/http-deps.js');
const { registerConsole } = require('../../dist/server/console.js');
const { ConnectionRegistry } = require('../../dist/server/registry.js');
const { waitFor } = require('../helpers/harness');

function context(over = {}) {
  return {
    version: '9.9.9',
    startedAt: Date.now(),
    configFile: '/etc/srs.conf',
    cwd: '/',
    registry: new ConnectionRegistry(10),
    metrics: null,
    daemonDecision: () => ({ daemon: false, reason: 'daemon off', container: '' }),
    lastReload: () => null,
    isReady: () => true,
    upgrade: () => ({ generation: 1, parentPid: null, inherited: [] }),
    rawApi: () => ({ enabled: false, allowReload: false }),
    auth: () => ({ enabled: false, username: '', password: '' }),
    log: () => null,
    reload: async () => null,
    consolePeriodMs: 50,
    ...over,
  };
}

async function serve(t, ctx) {
  // the streams never end by themselves: close cuts them
  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerConsole(app, ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  return app.server.address().port;
}

/** Open /api/v1/events; collects the frames as { event, data } and whether the server ended it. */
function open(port) {
  const got = { frames: [], ended: false, status: 0, headers: null, events: new EventEmitter() };
  const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/events', agent: false }, (res) => {
    got.status = res.statusCode;
    got.headers = res.headers;
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) got.frames.push({ event, data: JSON.parse(data) });
      }
    });
    res.on('end', () => (got.ended = true));
  });
  got.close = () => req.destroy();
  return got;
}

test('snapshots while serving, the log once per line, no close', async (t) => {
  let lines = [{ seq: 1, time: 1, level: 'Trace', cid: '', msg: 'one' }];
  const ctx = context({ logTail: () => lines });
  const port = await serve(t, ctx);
  const s = open(port);
  t.after(() => s.close());
  await waitFor('three snapshots', () => s.frames.filter((f) => f.event === 'snapshot').length >= 3, 5000);
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.frames[0].event, 'log', 'the log window first');
  lines = [...lines, { seq: 2, time: 2, level: 'Warn', cid: '', msg: 'two' }];
  await waitFor('the second log line', () => s.frames.some((f) => f.event === 'log' && f.data.some((l) => l.seq === 2)), 5000);
  const sent = s.frames.filter((f) => f.event === 'log').flatMap((f) => f.data.map((l) => l.seq));
  assert.deepEqual(sent, [1, 2], 'each line once');
  const snap = s.frames.find((f) => f.event === 'snapshot').data;
  assert.equal(snap.process.version, '9.9.9');
  assert.equal(snap.grace.phase, 'idle');
  assert.equal(s.ended, false);
});

test('start_wait keeps the stream; draining with nothing else left: "quitting", then the end', async (t) => {
  let phase = 'idle';
  const ctx = context({
    isReady: () => phase === 'idle',
    grace: () => ({ phase, since: Date.now(), quitAt: Date.now(), startWaitMs: 1000, finalWaitMs: 0, maxWaitMs: 0, reason: 'SIGQUIT' }),
  });
  const port = await serve(t, ctx);
  const s = open(port);
  t.after(() => s.close());
  await waitFor('a snapshot', () => s.frames.length > 0, 5000);
  phase = 'start_wait';
  await waitFor('a start_wait snapshot', () => s.frames.some((f) => f.event === 'snapshot' && f.data.grace.phase === 'start_wait'), 5000);
  assert.equal(s.ended, false, 'listeners still accept: the stream holds nothing');
  phase = 'draining';
  await waitFor('the end of the stream', () => s.ended, 5000);
  const last = s.frames[s.frames.length - 1];
  assert.equal(last.event, 'quitting');
  assert.equal(last.data.grace.phase, 'draining');
});

test('many pages: one listener on the registry, removed streams tick no more', async (t) => {
  const ctx = context();
  const port = await serve(t, ctx);
  const pages = Array.from({ length: 15 }, () => open(port));
  t.after(() => pages.forEach((p) => p.close()));
  await waitFor('every page to get a snapshot', () => pages.every((p) => p.frames.length > 0), 10000);
  assert.equal(ctx.registry.listenerCount('closed'), 1);
});
