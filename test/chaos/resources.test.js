'use strict';
// Resources running out: a full disk under the log (a 4 MiB tmpfs in a private mount namespace,
// filled from outside through /proc/PID/root), and fd exhaustion (prlimit --nofile=64 with 500
// clients). The server must keep serving, say what happened, count it, bound its memory, and
// recover when the resource comes back.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('../helpers/harness');
const { report, rssMB } = require('./support');

function connectMany(port, n) {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const s = net.connect({ port, host: '127.0.0.1' });
          s.on('error', () => resolve(s));
          s.on('connect', () => resolve(s));
          s.on('close', () => resolve(s));
        }),
    ),
  );
}

test('a full disk under the log: lines are counted as dropped, memory stays bounded, writing resumes and says so', async (t) => {
  const dir = h.tmpdir('srs-chaos-disk-');
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, tank: 'file', maxConnections: 5000 });
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/srs_log_file [^;]+;/, `srs_log_file ${path.join(logDir, 'srs.log')};`));
  const srs = h.startSrs(['-c', file], {
    cwd: dir,
    command: 'unshare',
    prefix: ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"', logDir],
  });
  t.after(() => srs.kill());
  // the log is inside the namespace: read it, and fill its disk, through the server's root
  const inside = (f) => `/proc/${srs.pid}/root${f}`;
  const logFile = () => {
    try {
      return fs.readFileSync(inside(path.join(logDir, 'srs.log')), 'utf8');
    } catch {
      return '';
    }
  };
  await h.waitFor(() => `the ready line in the log (${srs.output.slice(-500)})`, () => /ready, pid/.test(logFile()), 15000);
  const filler = inside(path.join(logDir, 'filler'));
  const fd = fs.openSync(filler, 'w');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1));
  } catch (e) {
    assert.equal(e.code, 'ENOSPC', 'the tmpfs fills up');
  } finally {
    fs.closeSync(fd);
  }
  const rss0 = rssMB(srs.pid);
  // every RTMP connection logs lines: 20 rounds of 500
  for (let i = 0; i < 20; i++) {
    const socks = await connectMany(rtmp, 500);
    socks.forEach((s) => s.destroy());
  }
  const sum = JSON.parse((await h.request(api, '/api/v1/summaries')).text);
  const stats = JSON.stringify(sum);
  assert.match(stats, /"log_write_failures":[1-9]/, `summaries count the failed writes: ${stats.slice(0, 800)}`);
  const metrics = (await h.request(api, '/metrics')).text;
  assert.match(metrics, /log_write_failures[a-z_]* [1-9]/, 'metrics count the failed writes');
  const rss1 = rssMB(srs.pid);
  assert.ok(rss1 - rss0 < 64, `memory stays bounded while the disk is full: ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB`);
  fs.unlinkSync(filler);
  (await connectMany(rtmp, 1)).forEach((s) => s.destroy());
  await h.waitFor(() => `a line saying what was dropped once writing resumed (log tail: ${logFile().slice(-600)})`, () => /dropped|write fail/i.test(logFile()), 10000, 50);
  assert.equal((await h.request(api, '/healthz')).status, 200);
  report(t, 'a full 4 MiB log disk under 10,000 connections', `served throughout, failures counted, RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB, resumed with a summary line`);
});

test('fd exhaustion (nofile 64, 500 clients): warned at start, counted and logged, the server recovers', async (t) => {
  const dir = h.tmpdir('srs-chaos-fds-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, maxConnections: 1000 });
  const srs = h.startSrs(['-c', file], { cwd: dir, command: 'prlimit', prefix: ['--nofile=64:64', '--'] });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.match(srs.output, /max_connections[^\n]*(fd|file|nofile|limit)/i, 'a warning at start: max_connections does not fit the fd limit');
  const socks = await connectMany(rtmp, 500);
  await srs.waitForLine(/EMFILE|too many open files|fd limit|out of file/i, 10000);
  socks.forEach((s) => s.destroy());
  await h.waitFor('the API answers once the clients left', async () => {
    try {
      return (await h.request(api, '/healthz', { timeoutMs: 1000 })).status === 200;
    } catch {
      return false;
    }
  }, 15000, 100);
  const metrics = (await h.request(api, '/metrics')).text;
  assert.match(metrics, /^srs_connections_refused_total\{[^}]*reason="fd_limit"[^}]*\} [1-9]/m, `metrics count the refusals:\n${metrics.split('\n').filter((l) => /refused/.test(l)).join('\n')}`);
  assert.ok(await h.canConnect(rtmp), 'RTMP accepts again');
  report(t, '500 clients against 64 fds', 'warned at start, exhaustion logged and counted, the server recovered');
});
