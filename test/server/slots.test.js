'use strict';
// max_connections full of media sessions: the API keeps its own slots, so a probe tells "full"
// from "dead" (a refused /healthz would get a merely busy server restarted).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const h = require('../helpers/harness');

test('with max_connections 50 held by RTMP sessions, /healthz, /readyz and the API still answer; media is refused', async (t) => {
  const dir = h.tmpdir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, maxConnections: 50 });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const socks = [];
  t.after(() => socks.forEach((s) => s.destroy()));
  for (let i = 0; i < 50; i++) {
    const s = net.connect({ port: rtmp, host: '127.0.0.1' });
    s.on('error', () => {});
    socks.push(s);
    await new Promise((r) => s.once('connect', r));
  }
  await h.waitFor('50 media sessions counted', async () => (await h.request(api, '/api/v1/summaries')).json.data.connections.per_listener.rtmp === 50);
  // the 51st media connection is closed at once
  const extra = net.connect({ port: rtmp, host: '127.0.0.1' });
  extra.on('error', () => {});
  socks.push(extra);
  await new Promise((resolve) => extra.once('close', resolve));
  for (let i = 0; i < 20; i++) {
    assert.deepEqual((await h.request(api, '/healthz', { timeoutMs: 5000 })).json, { status: 'ok' });
    assert.equal((await h.request(api, '/readyz', { timeoutMs: 5000 })).status, 200);
  }
  const s = (await h.request(api, '/api/v1/summaries')).json.data.connections;
  assert.equal(s.max, 50);
  assert.equal(s.api_max, 32);
  assert.equal(s.totals.rtmp.refused, 1);
  assert.equal(s.totals.http_api.refused, 0, 'no API connection refused');
  const m = await h.request(api, '/metrics');
  assert.match(m.text, /srs_connections_refused_total\{listener="rtmp",reason="max_connections"\} 1/);
  assert.doesNotMatch(m.text, /srs_connections_refused_total\{listener="http_api"/);
});

test('the API has its own cap: 32 held API connections, the 33rd is refused, media still admitted', async (t) => {
  const dir = h.tmpdir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, maxConnections: 5 });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const socks = [];
  t.after(() => socks.forEach((s) => s.destroy()));
  // idle API connections (a keep-alive client pool): each takes an API slot, none a media one
  for (let i = 0; i < 32; i++) {
    const s = net.connect({ port: api, host: '127.0.0.1' });
    s.on('error', () => {});
    socks.push(s);
    await new Promise((r) => s.once('connect', r));
  }
  const over = net.connect({ port: api, host: '127.0.0.1' });
  over.on('error', () => {});
  socks.push(over);
  await new Promise((resolve) => over.once('close', resolve));
  await srs.waitForLine(/connection refused: api_connections/);
  const media = net.connect({ port: rtmp, host: '127.0.0.1' });
  socks.push(media);
  await new Promise((r) => media.once('connect', r));
  await srs.waitForLine(/rtmp client connected/);
  assert.equal(media.destroyed, false, 'media is admitted while the API is full');
});
