'use strict';
// Zero-downtime upgrade (SIGUSR2) on the real daemon, under load.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const path = require('node:path');
const h = require('../helpers/harness');

async function startDaemon(t, { finalWait = 200, apiExtra = '' } = {}) {
  const dir = h.tmpdir('srs-upgrade-');
  const [rtmp, api, files] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  const text = (extra = '') => `listen ${rtmp};
daemon on;
disable_daemon_for_docker off;
auto_reload_for_docker off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank file;
srs_log_file ${path.join(dir, 'srs.log')};
grace_final_wait ${finalWait};
max_connections 5000;
http_api { enabled on; listen ${api}; ${apiExtra} }
http_server { enabled on; listen ${files}; dir ${path.join(h.ROOT, 'html')}; }
${extra}
`;
  fs.writeFileSync(file, text());
  const r = await h.runSrsAsync(['-c', file], { cwd: dir });
  assert.equal(r.code, 0, r.output);
  const pidFile = h.trackPidFile(path.join(dir, 'srs.pid'));
  const pids = new Set();
  const current = () => {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    h.track(pid);
    pids.add(pid);
    return pid;
  };
  current();
  t.after(() => {
    // whoever holds the pid file now too, even if a test failed before it learnt the pid
    try {
      current();
    } catch {
      // no pid file
    }
    pids.forEach((p) => h.killPid(p));
  });
  return { dir, file, rtmp, api, files, pidFile, current, pids, log: path.join(dir, 'srs.log'), text };
}

/** SIGUSR2, then wait until a new pid holds srs.pid and answers the API. */
async function upgrade(s) {
  const old = s.current();
  const t0 = Date.now();
  process.kill(old, 'SIGUSR2');
  const next = await h.waitFor(`a new pid in ${s.pidFile} after SIGUSR2 to ${old}`, () => {
    try {
      const p = Number(fs.readFileSync(s.pidFile, 'utf8').trim());
      return p && p !== old ? p : null;
    } catch {
      return null;
    }
  });
  h.track(next);
  s.pids.add(next);
  return { old, next, ms: Date.now() - t0 };
}

/**
 * `concurrency` closed loops of `one(stats, i)` until stop(); every attempt counts once, as ok or
 * as failed with its reason.
 */
function closedLoops(concurrency, one) {
  const stats = { ok: 0, failed: 0, errors: [] };
  let running = true;
  const loops = [];
  for (let i = 0; i < concurrency; i++) {
    loops.push(
      (async () => {
        for (let n = 0; running; n++) await one(stats, n);
      })(),
    );
  }
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** Settle an attempt once: an error followed by a close is one failure, not two. */
function attempt(stats, body) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (failure) => {
      if (settled) return;
      settled = true;
      if (failure === undefined) stats.ok++;
      else {
        stats.failed++;
        stats.errors.push(failure);
      }
      resolve();
    };
    body(done);
  });
}

/** HTTP clients, each a new connection per request, across the API and the file server. */
function load(ports, concurrency) {
  return closedLoops(concurrency, (stats, n) =>
    attempt(stats, (done) => {
      const port = ports[n % ports.length];
      const req = http.get({ host: '127.0.0.1', port, path: port === ports[0] ? '/api/v1/versions' : '/index.html', agent: false }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
        res.on('error', (e) => done(e.code ?? e.message));
      });
      req.on('error', (e) => done(e.code ?? e.message));
    }),
  );
}

/** Raw TCP connects + an RTMP handshake each, as fast as possible: some are always in the accept queue. */
function connectStorm(port) {
  return closedLoops(8, (stats) =>
    attempt(stats, (done) => {
      const sock = net.connect({ port, host: '127.0.0.1' });
      let n = 0;
      const end = (failure) => {
        sock.destroy();
        done(failure);
      };
      sock.on('connect', () => sock.write(Buffer.alloc(1537, 3)));
      sock.on('data', (d) => {
        n += d.length;
        if (n >= 3073) end();
      });
      sock.on('error', (e) => end(e.code ?? e.message));
      sock.on('close', () => end(`closed after ${n} bytes`));
    }),
  );
}

test('three upgrades in a row under load: no failed request, no reset, only the last process left', async (t) => {
  const s = await startDaemon(t);
  const l = load([s.api, s.files], 16);
  const storm = connectStorm(s.rtmp);
  // a failed assertion must not leave 24 client loops spinning against a dead server
  t.after(() => Promise.all([l.stop(), storm.stop()]));
  await h.waitFor('some load before the first upgrade', () => l.stats.ok > 200);
  const chain = [];
  for (let i = 0; i < 3; i++) {
    const { old, next } = await upgrade(s);
    chain.push(old);
    await h.waitFor(`old pid ${old} to drain and exit`, () => h.pidGone(old), 15000);
    const before = l.stats.ok;
    await h.waitFor('requests served by the new process', () => l.stats.ok > before + 100);
    const r = await h.request(s.api, '/api/v1/summaries');
    assert.equal(r.json.data.self.pid, next);
    assert.equal(r.json.data.self.generation, i + 2);
    assert.equal(r.json.data.self.parent_pid, old);
    assert.deepEqual(r.json.data.self.inherited_listeners.sort(), [`http_api 0.0.0.0:${s.api}`, `http_server 0.0.0.0:${s.files}`, `rtmp 0.0.0.0:${s.rtmp}`].sort());
  }
  const stats = await l.stop();
  const st = await storm.stop();
  assert.equal(stats.failed, 0, `failed requests: ${stats.failed} (${[...new Set(stats.errors)].join(', ')}) of ${stats.ok + stats.failed}`);
  assert.equal(st.failed, 0, `failed media connects/handshakes: ${st.failed} (${[...new Set(st.errors)].join(', ')}) of ${st.ok + st.failed}`);
  assert.ok(stats.ok > 500 && st.ok > 100, `load ran (${stats.ok} requests, ${st.ok} handshakes)`);
  for (const pid of chain) assert.ok(h.pidGone(pid), `old pid ${pid} is gone`);
  const last = s.current();
  assert.equal(h.pidGone(last), false);
  assert.equal(fs.existsSync(`${s.pidFile}.oldbin`), false, 'no .oldbin left');
  const log = fs.readFileSync(s.log, 'utf8');
  assert.match(log, /upgrade: pid \d+ \(generation 4\) is ready; this process stops accepting and drains/);
  h.killPid(last, 'SIGTERM');
  await h.waitFor('the last process to exit', () => h.pidGone(last));
});

test('a media session opened before the upgrade stays on the old process until its client closes', async (t) => {
  const s = await startDaemon(t);
  const media = net.connect({ port: s.rtmp, host: '127.0.0.1' });
  media.on('error', () => {});
  await new Promise((r) => media.once('connect', r));
  let closedByServer = false;
  media.on('close', () => (closedByServer = true));
  const { old, next } = await upgrade(s);
  await h.waitFor('the new process to answer', async () => (await h.request(s.api, '/api/v1/summaries')).json?.data?.self?.pid === next);

  const fresh = net.connect({ port: s.rtmp, host: '127.0.0.1' });
  fresh.on('error', () => {});
  t.after(() => fresh.destroy());
  await new Promise((r) => fresh.once('connect', r));
  const clients = await h.waitFor('the new media connection on the new process', async () => {
    const r = await h.request(s.api, '/api/v1/clients');
    const media = r.json.data.clients.filter((c) => c.listener === 'rtmp');
    return media.length === 1 ? media : null;
  });
  assert.equal(clients[0].remote, `127.0.0.1:${fresh.localPort}`, 'the new connection landed on the new process');
  assert.equal(h.pidGone(old), false, 'the old process waits for its media session');
  await h.waitFor('the old process to log that it waits', () => /wait for 1 conns to quit/.test(fs.readFileSync(s.log, 'utf8')), 3000);
  assert.equal(closedByServer, false, 'the old session is not cut');

  // A SIGUSR2 to the draining old process is refused, and does not touch the upgrade record,
  // which is the new process's now (a waiting `srs -s upgrade` would misreport the handover).
  const recordFile = `${s.pidFile}.upgrade`;
  const record = fs.readFileSync(recordFile, 'utf8');
  assert.equal(JSON.parse(record).new_pid, next);
  process.kill(old, 'SIGUSR2');
  await h.waitFor('the old process to refuse the second SIGUSR2', () => /upgrade ignored: quitting/.test(fs.readFileSync(s.log, 'utf8')), 3000);
  assert.equal(fs.readFileSync(recordFile, 'utf8'), record, 'the record of the handover stands');
  media.end();
  await h.waitFor(`old pid ${old} to exit once its last client left`, () => h.pidGone(old), 5000);
});

test('a new process that fails to start leaves the old one serving with its pid file', async (t) => {
  const s = await startDaemon(t);
  const pid = s.current();
  fs.writeFileSync(s.file, s.text('srs_log_level loud;'));
  process.kill(pid, 'SIGUSR2');
  await h.waitFor('the failed upgrade to be logged', () => /upgrade failed, this process keeps serving: .*srs_log_level/.test(fs.readFileSync(s.log, 'utf8')), 15000);
  assert.equal(Number(fs.readFileSync(s.pidFile, 'utf8').trim()), pid, 'the pid file is back, naming the old process');
  assert.equal(fs.existsSync(`${s.pidFile}.oldbin`), false);
  assert.equal((await h.request(s.api, '/healthz')).status, 200, 'still serving');
  const status = JSON.parse(fs.readFileSync(`${s.pidFile}.upgrade`, 'utf8'));
  assert.equal(status.ok, false);
  // and it can still be upgraded once the config is fixed
  fs.writeFileSync(s.file, s.text());
  const { next } = await upgrade(s);
  await h.waitFor(`old pid ${pid} gone after a good upgrade`, () => h.pidGone(pid), 10000);
  h.killPid(next, 'SIGTERM');
});

test('the pid file never disappears during a handover', async (t) => {
  const s = await startDaemon(t);
  const old = s.current();
  let missing = 0;
  let polls = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      polls++;
      if (!fs.existsSync(s.pidFile)) missing++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const r = await h.runSrsAsync(['-s', 'upgrade', '-c', s.file], { cwd: s.dir });
  assert.equal(r.code, 0, r.output);
  await h.waitFor(`old pid ${old} gone`, () => h.pidGone(old), 10000);
  watching = false;
  await watcher;
  assert.ok(polls > 100, `polled ${polls} times`);
  assert.equal(missing, 0, `srs.pid was missing in ${missing} of ${polls} polls`);
  assert.notEqual(s.current(), old);
});

test('a reload and an upgrade at once: serialised, and the new process serves what the reload added', async (t) => {
  const s = await startDaemon(t);
  const old = s.current();
  const [extra] = await h.freePorts(1);
  fs.writeFileSync(s.file, s.text(`listen ${extra};`).replace(/^listen (\d+);$/m, `listen $1 ${extra};`));
  process.kill(old, 'SIGHUP');
  process.kill(old, 'SIGUSR2');
  await h.waitFor(`old pid ${old} to hand over and exit`, () => h.pidGone(old), 15000);
  const log = fs.readFileSync(s.log, 'utf8');
  assert.match(log, /upgrade: pid \d+ \(generation 2\) is ready/, log.slice(-2000));
  assert.equal(await h.canConnect(extra), true, 'the port the reload added is served by the new process');
  assert.doesNotMatch(log, /upgrade failed/);
  // Which signal the process took first decides how: HUP first, the old one binds the port and
  // hands it over; USR2 first, the reload waits and the new process binds it from the config.
  const r = await h.request(s.api, '/api/v1/summaries');
  assert.equal(r.json.data.self.parent_pid, old);
});

test('a quit during an upgrade leaves one consistent state: whoever serves holds the pid file', async (t) => {
  const s = await startDaemon(t);
  const old = s.current();
  process.kill(old, 'SIGUSR2');
  process.kill(old, 'SIGTERM');
  await h.waitFor(`old pid ${old} to exit`, () => h.pidGone(old), 10000);
  // let a new process that was already ready settle in; one that was still starting was killed
  await h.waitFor('no process left starting', () => !fs.readdirSync(s.dir).some((f) => f.startsWith('srs.pid.new.')), 5000);
  const { isPidFileLocked, readPid } = require('../../dist/lifecycle/pidfile.js');
  // A new process killed while it started holds the inherited listening socket until the kernel
  // has torn it down, a few ms after SIGKILL on a loaded machine: the port still takes connections
  // that no one will serve. Wait, with a bound, for the state the quit leaves.
  const { serving } = await h.waitFor(
    'the API port and the pid file to agree: both held by the process that serves, or neither',
    async () => {
      const open = await h.canConnect(s.api);
      return open === isPidFileLocked(s.pidFile) ? { serving: open } : null;
    },
    5000,
    20,
  );
  if (serving) {
    const pid = readPid(s.pidFile);
    h.track(pid);
    s.pids.add(pid);
    assert.notEqual(pid, old);
    assert.equal(isPidFileLocked(s.pidFile), true, 'the process that serves holds the pid file');
    assert.equal((await h.request(s.api, '/api/v1/summaries')).json.data.self.pid, pid);
  } else {
    assert.equal(isPidFileLocked(s.pidFile), false, 'nothing serves, nothing holds the pid file');
  }
});

test('asprocess on: SIGUSR2 is refused (the supervising parent restarts srs instead)', async (t) => {
  const dir = h.tmpdir('srs-upgrade-');
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, extra: 'asprocess on;' });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  srs.kill('SIGUSR2');
  await srs.waitForLine(/upgrade ignored: asprocess on/);
  assert.equal((await h.request(api, '/healthz')).status, 200);
  // `srs -s upgrade` gets the refusal at once, not after its 60 s timeout
  const sent = Date.now();
  const r = await h.runSrsAsync(['-s', 'upgrade', '-c', file], { cwd: dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`upgrade refused by pid ${srs.pid}: asprocess on`));
  assert.ok(Date.now() - sent < 10000, 'answered long before the command\'s timeout');
  assert.equal((await h.request(api, '/healthz')).status, 200);
});

test('as PID 1 (a container\'s init) SIGUSR2 is refused: the container would end with the old process', async (t) => {
  const dir = h.tmpdir('srs-upgrade-');
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api });
  // a new pid namespace, where srs is pid 1 (unshare execs it after forking)
  const srs = h.startSrs(['-c', file], { cwd: dir, command: 'unshare', prefix: ['--pid', '--fork', '--kill-child'] });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid 1\b/);
  const pid1 = Number(fs.readFileSync(path.join(dir, 'srs.pid'), 'utf8'));
  assert.equal(pid1, 1, 'the pid file holds the pid as srs sees it');
  const hostPid = await h.waitFor('srs\'s pid outside its namespace', () => h.childPidsOf(srs.pid)[0]);
  h.track(hostPid);
  process.kill(hostPid, 'SIGUSR2');
  await srs.waitForLine(/upgrade ignored: running as PID 1/);
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'srs.pid.upgrade'), 'utf8'));
  assert.equal(record.ok, false);
  assert.equal(record.refused, true);
  assert.equal((await h.request(api, '/healthz')).status, 200, 'still serving');
});

test('an API reload that meets a successful upgrade, with no reload before it, is answered: the old process is quitting', async (t) => {
  const s = await startDaemon(t, { apiExtra: 'raw_api { enabled on; allow_reload on; }' });
  const old = s.current();
  // a keep-alive socket accepted by the old process: the reload request reaches it, not the new one
  const sock = net.connect({ port: s.api, host: '127.0.0.1' });
  sock.on('error', () => {});
  t.after(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  let text = '';
  sock.on('data', (d) => (text += d));
  const response = (n) =>
    h.waitFor(`HTTP response ${n} on the kept socket`, () => {
      const parts = text.split('HTTP/1.1 ').slice(1);
      if (parts.length < n) return null;
      const last = parts[n - 1];
      const m = /content-length: (\d+)/i.exec(last);
      const body = last.indexOf('\r\n\r\n');
      return m && body >= 0 && Buffer.byteLength(last.slice(body + 4)) >= Number(m[1]) ? last : null;
    }, 15000);
  sock.write('GET /api/v1/versions HTTP/1.1\r\nHost: srs\r\n\r\n');
  await response(1);

  process.kill(old, 'SIGUSR2');
  await h.waitFor('the old process to start the upgrade', () => /upgrade: starting a new srs/.test(fs.readFileSync(s.log, 'utf8')));
  sock.write('GET /api/v1/raw?rpc=reload HTTP/1.1\r\nHost: srs\r\n\r\n');
  const answer = await response(2);
  assert.match(answer, /^409 /, `a clear refusal, not a 500: ${answer}`);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  assert.equal(body.pid, String(old), 'answered by the old process');
  assert.equal(body.data.ok, false);
  assert.match(body.data.error, /the upgrade handed over to pid \d+, which serves with the config it read when it started; this process is quitting: reload ignored/);
  const next = s.current();
  assert.notEqual(next, old, 'the upgrade went through');
  assert.match(body.data.error, new RegExp(`pid ${next}`));
});
