'use strict';
// The real ./objs/srs in the foreground: endpoints, limits, RTMP handshake, CLI errors, quits.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../helpers/harness');

async function startServer(t, opts = {}) {
  const dir = h.tmpdir();
  const [rtmp, api, httpPort] = await h.freePorts(3);
  const file = h.writeConfig(dir, { rtmp, api, http: opts.samePort ? api : httpPort, extra: opts.extra ?? '', apiExtra: opts.apiExtra ?? '', maxConnections: opts.maxConnections });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { dir, rtmp, api, http: opts.samePort ? api : httpPort, srs, file };
}

/** C0+C1, expect S0+S1+S2 (S2 echoes C1), send C2. */
function rtmpHandshake(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    const c1 = Buffer.alloc(1536);
    for (let i = 8; i < 1536; i++) c1[i] = (i * 7) & 0xff;
    let got = Buffer.alloc(0);
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([3]), c1])));
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 1 + 1536 * 2) {
        sock.write(Buffer.alloc(1536)); // C2
        resolve({ sock, s0: got[0], s1: got.subarray(1, 1537), s2: got.subarray(1537, 3073) });
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`closed after ${got.length} bytes of handshake`)));
  }).then((r) => {
    r.sock.removeAllListeners('close');
    return r;
  });
}

test('HTTP API endpoints answer in SRS shape', async (t) => {
  const { api, srs, file } = await startServer(t);
  const v = await h.request(api, '/api/v1/versions');
  assert.equal(v.status, 200);
  assert.equal(v.json.code, 0);
  assert.match(v.json.data.version, /^\d+\.\d+\.\d+/);
  assert.equal(v.json.pid, String(srs.pid));

  const s = await h.request(api, '/api/v1/summaries');
  assert.equal(s.status, 200);
  const self = s.json.data.self;
  assert.equal(self.pid, srs.pid);
  assert.equal(self.config, file);
  assert.equal(self.daemon.daemon, false);
  assert.match(self.daemon.reason, /daemon off/);
  assert.ok(self.mem_rss_kbyte > 0);
  assert.equal(typeof s.json.data.connections.per_listener, 'object');

  assert.deepEqual((await h.request(api, '/healthz')).json, { status: 'ok' });
  assert.equal((await h.request(api, '/readyz')).status, 200);

  const m = await h.request(api, '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /srs_connections_accepted_total\{listener="http_api"\} \d+/);
  assert.match(m.text, /srs_uptime_seconds \d/);
  assert.match(m.text, /srs_config_reloads_total\{result="failure"\} 0/);

  const nf = await h.request(api, '/api/v1/nope');
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error, 'SRS_ERR_API_NO_ROUTE');
  assert.match(nf.json.message, /GET \/api\/v1\/nope/);
  assert.doesNotMatch(nf.text, /at .*\.js:\d+/, 'no stack trace');

  const bad = await h.request(api, '/api/v1/raw?rpc=reload');
  assert.equal(bad.status, 403);
  assert.match(bad.json.message, /raw_api/);

  const badUrl = await h.request(api, '/%%');
  assert.equal(badUrl.status, 400);
  assert.equal(badUrl.json.code, 400);
  assert.match(badUrl.json.message, /GET \/%%: /, 'a malformed URL gets our JSON error, naming the request');

  const badJson = await h.request(api, '/api/v1/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
  assert.ok(badJson.status >= 400 && badJson.status < 500, `bad request gets a 4xx, got ${badJson.status}`);
  assert.ok(badJson.json && typeof badJson.json.message === 'string', 'bad request gets a JSON error');
});

test('clients lists open connections with listener and remote', async (t) => {
  const { api, rtmp } = await startServer(t);
  const sock = net.connect({ port: rtmp, host: '127.0.0.1' });
  t.after(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  const list = await h.waitFor('the media connection in /api/v1/clients', async () => {
    const r = await h.request(api, '/api/v1/clients');
    return r.json.data.clients.find((c) => c.listener === 'rtmp') ? r.json.data.clients : null;
  });
  const media = list.find((c) => c.listener === 'rtmp');
  assert.match(media.remote, /^127\.0\.0\.1:\d+$/);
  assert.match(media.id, /^[0-9a-z]{8}$/);
  assert.ok(Date.parse(media.since) > 0);
});

test('file server serves the html root, and one port can serve API and files', async (t) => {
  const { http: port } = await startServer(t, { samePort: true });
  const index = await h.request(port, '/');
  assert.equal(index.status, 200);
  assert.match(index.text, /<h1>srs<\/h1>/);
  const cd = await h.request(port, '/crossdomain.xml');
  assert.equal(cd.status, 200);
  assert.match(cd.text, /cross-domain-policy/);
  const v = await h.request(port, '/api/v1/versions');
  assert.equal(v.json.code, 0, 'the API answers on the shared port');
  const missing = await h.request(port, '/no-such-file.html');
  assert.equal(missing.status, 404);
});

test('a client that sends its request then its FIN (nc -N) gets the whole response, from the files and the API', async (t) => {
  const { http: files, api } = await startServer(t);
  /** the request, then shutdown(SHUT_WR); resolves with everything read until the server closes */
  const halfClosed = (port, urlPath) => new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    s.on('connect', () => s.end(`GET ${urlPath} HTTP/1.1\r\nHost: x\r\n\r\n`));
    s.on('data', (d) => (text += d));
    s.on('error', reject);
    s.on('close', () => resolve(text));
  });
  const index = await halfClosed(files, '/index.html');
  assert.match(index, /^HTTP\/1\.1 200 /, `a file: ${JSON.stringify(index.slice(0, 80))}`);
  assert.match(index, /<h1>srs<\/h1>/);
  const missing = await halfClosed(files, '/no-such-file.html');
  assert.match(missing, /^HTTP\/1\.1 404 [^]*SRS_ERR_API_NO_FILE/);
  const v = await halfClosed(api, '/api/v1/versions');
  assert.match(v, /^HTTP\/1\.1 200 [^]*"code":0/);
});

test('RTMP handshake completes and the session is held until the client closes', async (t) => {
  const { rtmp, api, srs } = await startServer(t);
  const { sock, s0, s2 } = await rtmpHandshake(rtmp);
  assert.equal(s0, 3);
  const c1 = Buffer.alloc(1536);
  for (let i = 8; i < 1536; i++) c1[i] = (i * 7) & 0xff;
  assert.ok(s2.equals(c1), 'S2 echoes C1');
  await srs.waitForLine(/rtmp handshake done/);
  const r = await h.request(api, '/api/v1/summaries');
  assert.equal(r.json.data.connections.per_listener.rtmp, 1);
  sock.end();
  await srs.waitForLine(/media connection closed/);
});

test('max_connections refuses, counts and logs', async (t) => {
  const { rtmp, api, srs } = await startServer(t, { maxConnections: 3 });
  const socks = [];
  t.after(() => socks.forEach((s) => s.destroy()));
  for (let i = 0; i < 3; i++) {
    const s = net.connect({ port: rtmp, host: '127.0.0.1' });
    socks.push(s);
    await new Promise((r) => s.once('connect', r));
  }
  await srs.waitForLine(/(rtmp client connected[\s\S]*){3}/);
  // the next 20 are accepted by the kernel and closed by srs at once
  for (let i = 0; i < 20; i++) {
    const extra = net.connect({ port: rtmp, host: '127.0.0.1' });
    extra.on('error', () => {});
    socks.push(extra);
    await new Promise((resolve) => extra.once('close', resolve));
  }
  await srs.waitForLine(/connection refused: max_connections/);
  socks.slice(0, 3).forEach((s) => s.destroy());
  await h.waitFor('20 refusals counted in /metrics', async () => {
    try {
      const r = await h.request(api, '/metrics');
      return /srs_connections_refused_total\{listener="rtmp",reason="max_connections"\} 20/.test(r.text) ? r : null;
    } catch {
      return null;
    }
  });
  // logged, but not one line each: the first at once, then a count per second
  const logged = () => {
    const firsts = (srs.output.match(/connection refused: max_connections/g) || []).length;
    const more = [...srs.output.matchAll(/connection refused: (\d+) more in the last second/g)].reduce((n, m) => n + Number(m[1]), 0);
    return { firsts, more };
  };
  // (the /metrics polls take the API's own slots, never a max_connections one)
  await h.waitFor('every refusal accounted for in the log', () => logged().firsts + logged().more >= 20, 5000);
  // 20 refusals within a second or two: one or two first lines, the rest counted
  assert.ok(logged().firsts <= 4 && logged().more >= 16, `${logged().firsts} lines and ${logged().more} counted for 20 refusals`);
});

test('SIGTERM and SIGINT with open connections: clean exit 0, pid file removed', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    const { rtmp, api, srs, dir } = await startServer(t);
    const pidFile = path.join(dir, 'srs.pid');
    assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(srs.pid));
    const media = net.connect({ port: rtmp, host: '127.0.0.1' });
    media.on('error', () => {});
    await new Promise((r) => media.once('connect', r));
    const keepAlive = new (require('node:http').Agent)({ keepAlive: true });
    await h.request(api, '/api/v1/versions', { agent: keepAlive });
    const closed = new Promise((r) => media.once('close', r));
    const started = Date.now();
    srs.kill(signal);
    const { code } = await srs.waitForExit(5000);
    assert.equal(code, 0, `${signal} exits 0`);
    assert.ok(Date.now() - started < 2000, `${signal} is a fast quit`);
    await closed;
    assert.equal(fs.existsSync(pidFile), false, 'pid file removed');
    assert.match(srs.output, /fast quit done, 2 connections closed, bye/);
    keepAlive.destroy();
  }
});

test('a second srs on the same ports fails loudly with one line and no stack', async (t) => {
  const { dir, rtmp, api } = await startServer(t);
  const other = h.tmpdir();
  const file = h.writeConfig(other, { rtmp, api: await h.freePort() });
  // a stale pid file from a process that is gone: taken over, and the log says so even though
  // the start then fails (the start lines are written on failure too, not only after the bind)
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const stalePid = Number(gone.stdout);
  await h.waitFor(`pid ${stalePid} gone`, () => h.pidGone(stalePid));
  fs.writeFileSync(path.join(other, 'srs.pid'), `${stalePid}\n`);
  const r = h.runSrs(['-c', file], { cwd: other });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`rtmp listen 0\\.0\\.0\\.0:${rtmp}: address already in use.*EADDRINUSE`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stdout, new RegExp(`starting, pid \\d+[^]*took over a stale pid file[^]*stale_pid=${stalePid}[^]*start failed: rtmp listen`), 'the log: starting, the takeover, the failure, in that order');
  assert.equal(fs.existsSync(path.join(other, 'srs.pid')), false, 'the failed one leaves no pid file');
  assert.ok(fs.existsSync(path.join(dir, 'srs.pid')), 'the running one keeps its pid file');
});

test('a second srs with the same pid file is refused naming the running pid', async (t) => {
  const { dir, srs } = await startServer(t);
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, name: 'second.conf' });
  const r = h.runSrs(['-c', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`pid file .*srs\\.pid is locked by a running srs \\(pid ${srs.pid}\\)`));
});

test('CLI: version, help, bad flags, -t', async () => {
  const dir = h.tmpdir();
  const v = h.runSrs(['-v'], { cwd: dir });
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(h.runSrs(['-V'], { cwd: dir }).stdout, v.stdout);
  const help = h.runSrs(['-h'], { cwd: dir });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: srs/);
  const bad = h.runSrs(['--bogus'], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option "--bogus"/);
  assert.match(bad.stderr, /Usage: srs/);
  assert.equal(h.runSrs(['-c'], { cwd: dir }).code, 2);

  const [rtmp, api] = await h.freePorts(2);
  const good = h.writeConfig(dir, { rtmp, api });
  const ok = h.runSrs(['-t', '-c', good], { cwd: dir });
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.stdout, /is ok/);

  const broken = path.join(dir, 'broken.conf');
  fs.writeFileSync(broken, `listen 1935;\nhttp_api {\n    enabled on;\n    listen abc;\n}\n`);
  const b = h.runSrs(['-t', '-c', broken], { cwd: dir });
  assert.equal(b.code, 3);
  assert.match(b.stderr, /broken\.conf:4:\d+: http_api\.listen: "abc" is not a port/);
  assert.doesNotMatch(b.stderr, /\n\s+at /);

  const typo = path.join(dir, 'typo.conf');
  fs.writeFileSync(typo, `listne 1935;\n`);
  const ty = h.runSrs(['-t', '-c', typo], { cwd: dir });
  assert.equal(ty.code, 3);
  assert.match(ty.stderr, /typo\.conf:1:1: .*listne.*listen/);

  const missing = h.runSrs(['-t', '-c', path.join(dir, 'nope.conf')], { cwd: dir });
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /nope\.conf.*ENOENT/);

  // same for starting, not only for -t
  const start = h.runSrs(['-c', broken], { cwd: dir });
  assert.equal(start.code, 3);
  assert.match(start.stderr, /broken\.conf:4/);
});

test('shipped configs pass -t', () => {
  for (const f of ['conf/srs.conf', 'conf/console.conf', 'conf/docker.conf', 'conf/srs.yaml']) {
    const r = h.runSrs(['-t', '-c', f], { cwd: h.ROOT });
    assert.equal(r.code, 0, `${f}: ${r.output}`);
  }
});

test('an unwritable log file is a start-up error', async () => {
  const dir = h.tmpdir();
  const [rtmp] = await h.freePorts(1);
  const file = h.writeConfig(dir, { rtmp, tank: 'file' });
  fs.mkdirSync(path.join(dir, 'srs.log')); // a directory where the log file should be
  const r = h.runSrs(['-c', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /srs_log_file .*srs\.log: cannot open for append \(EISDIR\)/);
});

test('env-only mode (-e) and SRS_* overrides', async (t) => {
  const dir = h.tmpdir();
  const [rtmp, api] = await h.freePorts(2);
  const env = {
    SRS_LISTEN: String(rtmp),
    SRS_DAEMON: 'off',
    SRS_SRS_LOG_TANK: 'console',
    SRS_PID: path.join(dir, 'e.pid'),
    SRS_HTTP_API_ENABLED: 'on',
    SRS_HTTP_API_LISTEN: String(api),
    SRS_HTTP_API_AUTH_PASSWORD: 'top-secret-42',
  };
  const srs = h.startSrs(['-e'], { cwd: dir, env });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.match(srs.output, /SRS_HTTP_API_LISTEN overrides http_api\.listen/);
  assert.match(srs.output, /SRS_HTTP_API_AUTH_PASSWORD overrides http_api\.auth\.password/);
  assert.doesNotMatch(srs.output, /top-secret-42/, 'a password from the environment is never logged');
  assert.equal((await h.request(api, '/api/v1/versions')).json.code, 0);
});

test('ffmpeg as a publisher and as a player completes the RTMP handshake with srs', async (t) => {
  const { rtmp, api, srs } = await startServer(t);
  const { spawn } = require('node:child_process');
  const modes = {
    // ffmpeg sends a digest (FP9) C1: srs answers with a digest S1/S2, as SRS does
    publish: ['-re', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-f', 'flv', `rtmp://127.0.0.1:${rtmp}/live/test`],
    // a player is the side that would validate the server's S1/S2 digests
    play: ['-i', `rtmp://127.0.0.1:${rtmp}/live/test`, '-f', 'null', '-'],
  };
  let done = 0;
  for (const [mode, args] of Object.entries(modes)) {
    const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'debug', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    h.track(ff.pid);
    t.after(() => h.killPid(ff.pid));
    let log = '';
    ff.stderr.on('data', (d) => (log += d));
    await h.waitFor(`srs to complete the handshake with ffmpeg (${mode})`, () => (srs.output.match(/rtmp handshake done/g) || []).length > done);
    done++;
    // ffmpeg moves on to `connect` once its handshake is done (test/stream/ covers what follows)
    await h.waitFor(`ffmpeg (${mode}) to get past its handshake (its log: ${log.slice(-500)})`, () => /Proto = rtmp, path = \/live\/test/.test(log));
    assert.match(srs.output, /rtmp handshake done \(digest\)/, 'srs answered the digest handshake ffmpeg sent');
    assert.doesNotMatch(log, /handshake.*(fail|error)|validat.*fail/i);
    const r = await h.request(api, '/api/v1/clients');
    assert.equal(r.json.data.clients.filter((c) => c.listener === 'rtmp').length, 1);
    const closed = (srs.output.match(/media connection closed/g) || []).length;
    h.killPid(ff.pid, 'SIGKILL');
    await h.waitFor(`srs to see ffmpeg (${mode}) go`, () => (srs.output.match(/media connection closed/g) || []).length > closed);
  }
});

test('http_server.dir that is a file: one line naming the directive, no stack', async () => {
  const dir = h.tmpdir();
  const [rtmp, http] = await h.freePorts(2);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, `listen ${rtmp};\ndaemon off;\npid ${path.join(dir, 'srs.pid')};\nsrs_log_tank console;\nhttp_server { enabled on; listen ${http}; dir ${file}; }\n`);
  const r = h.runSrs(['-c', file], { cwd: dir });
  assert.equal(r.code, 3, r.output);
  assert.match(r.stderr, /srs: SRS_ERR_CONFIG_VALUE http_server\.dir .* is not a directory/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(fs.existsSync(path.join(dir, 'srs.pid')), false);
});

test('listen on an IPv6 address and on several ports; http_api.auth guards /api/', async (t) => {
  const dir = h.tmpdir();
  const [a, b, api] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(
    file,
    `listen [::1]:${a} 127.0.0.1:${b};\ndaemon off;\npid ${path.join(dir, 'srs.pid')};\nsrs_log_tank console;\n` +
      `http_api { enabled on; listen 127.0.0.1:${api}; auth { enabled on; username admin; password s3cret; } }\n`,
  );
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.match(srs.output, new RegExp(`listen at \\[::1\\]:${a} \\(rtmp\\)`));
  assert.equal(await h.canConnect(a, '::1'), true, 'IPv6 media listener');
  assert.equal(await h.canConnect(b, '127.0.0.1'), true, 'second media listener');
  assert.equal(await h.canConnect(b, '::1'), false, 'bound to the address asked for, not to every one');
  const denied = await h.request(api, '/api/v1/summaries');
  assert.equal(denied.status, 401);
  assert.match(denied.headers['www-authenticate'], /Basic/);
  assert.match(denied.json.message, /http_api\.auth/);
  const wrong = await h.request(api, '/api/v1/summaries', { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
  assert.equal(wrong.status, 401);
  const ok = await h.request(api, '/api/v1/summaries', { headers: { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` } });
  assert.equal(ok.status, 200);
  assert.equal((await h.request(api, '/healthz')).status, 200, 'probes stay open');
});

test('a YAML config runs the same server, and a reload reads YAML too', async (t) => {
  const dir = h.tmpdir();
  const [rtmp, rtmp2, api] = await h.freePorts(3);
  const file = path.join(dir, 'srs.yaml');
  const yaml = (port) => `listen: ${port}\ndaemon: off\nsrs_log_tank: console\nauto_reload_for_docker: off\npid: ${path.join(dir, 'srs.pid')}\nhttp_api:\n  enabled: on\n  listen: ${api}\n`;
  fs.writeFileSync(file, yaml(rtmp));
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.equal(await h.canConnect(rtmp), true);
  assert.equal((await h.request(api, '/api/v1/summaries')).json.data.self.config, file);
  fs.writeFileSync(file, yaml(rtmp2));
  srs.kill('SIGHUP');
  await srs.waitForLine(/reload ok: applied listen/);
  assert.equal(await h.canConnect(rtmp2), true);
  fs.writeFileSync(file, `listen: [${rtmp2}\n`);
  srs.kill('SIGHUP');
  await srs.waitForLine(/reload failed, keeping the running config: .*srs\.yaml:\d+/);
});
