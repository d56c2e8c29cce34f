'use strict';
// Connection attacks: slowloris (headers and bodies a byte at a time), 10,000 idle connections at
// once, and 100,000 connect/close cycles. Probes keep answering, slots are given back within the
// configured bounds, and memory stays flat.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const h = require('../helpers/harness');
const { report, rssMB } = require('./support');

async function server(t, { maxConnections = 20000, extra = '' } = {}) {
  const dir = h.tmpdir('srs-chaos-conns-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api, files] = await h.freePorts(3);
  const file = h.writeConfig(dir, { rtmp, api, http: files, maxConnections, extra: `srs_log_level warn; ${extra}` });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { rtmp, api, files, srs };
}

function open(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('10,000 idle connections: the probes still answer, and every slot comes back', async (t) => {
  const s = await server(t);
  const socks = [];
  for (let i = 0; i < 10000; i += 500) socks.push(...(await Promise.all(Array.from({ length: 500 }, () => open(s.rtmp)))));
  for (const s2 of socks) s2.on('error', () => {});
  const rss = rssMB(s.srs.pid);
  for (const p of ['/healthz', '/readyz']) assert.equal((await h.request(s.api, p, { timeoutMs: 3000 })).status, 200, `${p} answers with 10,000 idle connections`);
  const sum = JSON.parse((await h.request(s.api, '/api/v1/summaries')).text);
  socks.forEach((x) => x.destroy());
  await h.waitFor('every slot given back', async () => {
    const d = JSON.parse((await h.request(s.api, '/api/v1/summaries')).text);
    return (d.data?.connections?.per_listener?.rtmp ?? 0) === 0;
  }, 20000, 100);
  report(t, '10,000 idle RTMP connections', `probes 200, RSS ${rss.toFixed(1)} MB with them open, every slot back after (summaries said ${JSON.stringify(sum.data?.connections?.per_listener)})`);
});

test('slowloris: 200 clients sending headers or a body a byte at a time lose their slots within the bound; probes answer throughout', async (t) => {
  // a short bound for the test; the default is about 30 s
  const s = await server(t, { maxConnections: 300, extra: '' });
  const sum0 = JSON.parse((await h.request(s.api, '/api/v1/summaries')).text);
  const bound = Number(sum0.data?.http?.request_timeout_ms ?? sum0.data?.limits?.request_timeout_ms ?? 30000);
  const socks = [];
  const timers = [];
  for (let i = 0; i < 200; i++) {
    const sock = await open(s.files);
    sock.on('error', () => {});
    socks.push(sock);
    const body = i % 2 === 0;
    sock.write(body ? 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n' : 'GET / HTTP/1.1\r\n');
    const timer = setInterval(() => !sock.destroyed && sock.write(body ? 'a' : 'X'), 1000);
    timers.push(timer);
  }
  t.after(() => {
    timers.forEach(clearInterval);
    socks.forEach((x) => x.destroy());
  });
  for (const p of ['/healthz', '/readyz']) assert.equal((await h.request(s.api, p, { timeoutMs: 3000 })).status, 200, `${p} answers under slowloris`);
  const t0 = Date.now();
  await h.waitFor(
    () => `the server to close the 200 slow clients within ${bound + 10000} ms (${socks.filter((x) => !x.destroyed && !x.readableEnded).length} still open)`,
    () => socks.every((x) => x.destroyed || x.readableEnded),
    bound + 10000,
    200,
  );
  report(t, '200 slowloris clients (headers and bodies)', `all closed by the server after ${Date.now() - t0} ms (bound ${bound} ms); probes answered`);
});

test('100,000 connect/close cycles: memory flat, nothing left open', async (t) => {
  const s = await server(t);
  const cycle = () =>
    new Promise((resolve) => {
      const sock = net.connect({ port: s.rtmp, host: '127.0.0.1' });
      sock.on('error', () => resolve());
      sock.on('connect', () => sock.destroy());
      sock.on('close', () => resolve());
    });
  const run = async (n) => {
    let left = n;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (left-- > 0) await cycle();
      }),
    );
  };
  await run(10000);
  const rssWarm = rssMB(s.srs.pid);
  await run(90000);
  await h.waitFor('every slot given back', async () => {
    const d = JSON.parse((await h.request(s.api, '/api/v1/summaries')).text);
    return (d.data?.connections?.per_listener?.rtmp ?? 0) === 0;
  }, 20000, 100);
  const rssEnd = rssMB(s.srs.pid);
  assert.ok(rssEnd - rssWarm < 20, `memory flat over 90,000 more cycles: ${rssWarm.toFixed(1)} -> ${rssEnd.toFixed(1)} MB`);
  assert.equal(s.srs.child.exitCode, null);
  report(t, '100,000 connect/close cycles', `RSS ${rssWarm.toFixed(1)} MB after 10,000, ${rssEnd.toFixed(1)} MB after 100,000`);
});
