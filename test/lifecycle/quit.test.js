'use strict';
// Graceful and fast quit on the real process, asserted from timestamps with tolerances.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const path = require('node:path');
const h = require('../helpers/harness');

const START_WAIT = 1200;
const FINAL_WAIT = 700;
const BIG = 64 * 1024 * 1024;

async function start(t, { extra = '' } = {}) {
  const dir = h.tmpdir('srs-quit-');
  const html = path.join(dir, 'html');
  fs.mkdirSync(html);
  fs.writeFileSync(path.join(html, 'big.bin'), Buffer.alloc(BIG, 7));
  const [rtmp, api, files] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(
    file,
    `listen ${rtmp};
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank console;
auto_reload_for_docker off;
grace_start_wait ${START_WAIT};
grace_final_wait ${FINAL_WAIT};
${extra}
http_api { enabled on; listen ${api}; }
http_server { enabled on; listen ${files}; dir ${html}; }
`,
  );
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { dir, rtmp, api, files, srs, pidFile: path.join(dir, 'srs.pid') };
}

function rtmpSession(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let n = 0;
    sock.on('connect', () => sock.write(Buffer.alloc(1537, 3)));
    sock.on('data', (d) => {
      n += d.length;
      if (n >= 3073) {
        sock.write(Buffer.alloc(1536));
        resolve(sock);
      }
    });
    sock.on('error', reject);
  });
}

/** A download the client reads only when told: a response in flight for as long as we like. */
function slowDownload(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/big.bin', agent: false }, (res) => {
      res.pause();
      let bytes = 0;
      const done = new Promise((r, j) => {
        res.on('data', (c) => (bytes += c.length));
        res.on('end', () => r({ bytes, at: Date.now() }));
        res.on('error', j);
        res.on('aborted', () => j(new Error(`download aborted after ${bytes} bytes`)));
      });
      resolve({ resume: () => res.resume(), done, status: res.statusCode });
    });
    req.on('error', reject);
  });
}

test('SIGQUIT: ready 503 at once, accept during grace_start_wait, drain every kind of connection, then grace_final_wait', async (t) => {
  const s = await start(t);
  const media = await rtmpSession(s.rtmp);
  let mediaClosedByServer = false;
  media.on('close', () => (mediaClosedByServer = true));
  // an HTTP/1.1 keep-alive client, idle after its first response
  const idleSocket = net.connect({ port: s.api, host: '127.0.0.1' });
  idleSocket.on('error', () => {});
  t.after(() => idleSocket.destroy());
  await new Promise((r) => idleSocket.once('connect', r));
  idleSocket.write('GET /api/v1/versions HTTP/1.1\r\nHost: srs\r\n\r\n');
  await new Promise((r) => idleSocket.once('data', r));
  const idleClosed = new Promise((r) => idleSocket.once('close', () => r(Date.now())));
  const download = await slowDownload(s.files);
  assert.equal(download.status, 200);

  const t0 = Date.now();
  s.srs.kill('SIGQUIT');
  await s.srs.waitForLine(/start gracefully quit/);
  const ready = await h.request(s.api, '/readyz');
  assert.equal(ready.status, 503, 'readiness answers 503 at once');
  assert.equal(ready.headers.connection, 'close', 'responses during the quit carry Connection: close');
  assert.ok(Date.now() - t0 < START_WAIT - 200, 'that was during grace_start_wait');
  assert.equal(await h.canConnect(s.rtmp), true, 'new media connections accepted during grace_start_wait');

  await h.waitFor('listeners to close', async () => !(await h.canConnect(s.api)), START_WAIT + 3000);
  const closedAt = Date.now() - t0;
  assert.ok(closedAt >= START_WAIT - 50, `listeners closed after grace_start_wait (${closedAt} ms)`);
  // each listener takes what its accept queue holds before it closes (resetting nobody): within 1 s
  await h.waitFor('media refused after grace_start_wait', async () => !(await h.canConnect(s.rtmp)), 3000);
  await h.waitFor('files refused after grace_start_wait', async () => !(await h.canConnect(s.files)), 3000);
  const idleAt = (await idleClosed) - t0;
  assert.ok(idleAt >= START_WAIT - 50, `idle keep-alive closed when the listeners closed (${idleAt} ms)`);

  await s.srs.waitForLine(/wait for 2 conns to quit/, 3000);
  assert.equal(mediaClosedByServer, false, 'the media session is not cut');
  download.resume();
  const got = await download.done;
  assert.equal(got.bytes, BIG, 'the in-flight response completed');
  // the media session alone now holds the process, for longer than grace_final_wait: the drain
  // waits for it (its once-a-second line comes after the download is gone)
  const linesBefore = (s.srs.output.match(/wait for 1 conns to quit/g) || []).length;
  await h.waitFor('the drain waiting for the media session alone', () => (s.srs.output.match(/wait for 1 conns to quit/g) || []).length > linesBefore + 1, 5000);
  assert.ok(Date.now() - got.at > FINAL_WAIT, 'held longer than grace_final_wait after the download');
  assert.equal(h.pidGone(s.srs.pid), false, 'still waiting for the media session');
  assert.equal(mediaClosedByServer, false);
  const lastClose = Date.now();
  media.end();
  const { code } = await s.srs.waitForExit(FINAL_WAIT + 3000);
  const exitAt = Date.now();
  assert.equal(code, 0);
  const after = exitAt - lastClose;
  assert.ok(after >= FINAL_WAIT - 50, `exit ${after} ms after the last close, not before grace_final_wait ${FINAL_WAIT}`);
  assert.ok(after < FINAL_WAIT + 1000, `exit promptly after grace_final_wait (${after} ms)`);
  assert.equal(fs.existsSync(s.pidFile), false, 'pid file removed');
  assert.match(s.srs.output, /graceful quit done \(drained\), bye/);
});

test('SIGTERM is a fast quit by default, even with open connections', async (t) => {
  const s = await start(t);
  const media = await rtmpSession(s.rtmp);
  media.on('error', () => {});
  const t0 = Date.now();
  s.srs.kill('SIGTERM');
  const { code } = await s.srs.waitForExit(3000);
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < START_WAIT, 'did not wait for grace_start_wait');
  assert.match(s.srs.output, /SIGTERM: fast quit/);
});

test('force_grace_quit on: SIGTERM quits gracefully; a second SIGTERM continues the drain; SIGINT turns it into a fast quit', async (t) => {
  const s = await start(t, { extra: 'force_grace_quit on;' });
  const media = await rtmpSession(s.rtmp);
  media.on('error', () => {});
  let mediaClosed = false;
  const closed = new Promise((r) => media.once('close', () => r((mediaClosed = true))));
  s.srs.kill('SIGTERM');
  await s.srs.waitForLine(/SIGTERM with force_grace_quit on: user: start gracefully quit/);
  assert.equal((await h.request(s.api, '/readyz')).status, 503);
  // Kubernetes and docker stop send SIGTERM again: the drain goes on
  s.srs.kill('SIGTERM');
  await s.srs.waitForLine(/SIGTERM during graceful quit: continuing the drain \(force_grace_quit on\)/);
  await s.srs.waitForLine(/wait for 1 conns to quit/, START_WAIT + 3000);
  assert.equal(mediaClosed, false, 'the media session is not cut by the second SIGTERM');
  assert.equal(h.pidGone(s.srs.pid), false, 'still draining');
  const t1 = Date.now();
  s.srs.kill('SIGINT');
  const { code } = await s.srs.waitForExit(3000);
  assert.equal(code, 0);
  assert.ok(Date.now() - t1 < 1000, 'SIGINT quits at once');
  await closed;
  assert.match(s.srs.output, /second quit signal: fast quit now/);
});

test('without force_grace_quit a second SIGQUIT still cuts the drain (unchanged)', async (t) => {
  const s = await start(t);
  const media = await rtmpSession(s.rtmp);
  media.on('error', () => {});
  s.srs.kill('SIGQUIT');
  await s.srs.waitForLine(/start gracefully quit/);
  s.srs.kill('SIGQUIT');
  const { code } = await s.srs.waitForExit(3000);
  assert.equal(code, 0);
  assert.match(s.srs.output, /second quit signal: fast quit now/);
});

test('grace_max_wait bounds the drain', async (t) => {
  const s = await start(t, { extra: 'grace_max_wait 500;' });
  const media = await rtmpSession(s.rtmp);
  media.on('error', () => {});
  const t0 = Date.now();
  s.srs.kill('SIGQUIT');
  const { code } = await s.srs.waitForExit(START_WAIT + 3000);
  assert.equal(code, 0);
  const took = Date.now() - t0;
  assert.ok(took >= START_WAIT + 500 - 50 && took < START_WAIT + 500 + 1000, `cut at start wait + max wait (${took} ms)`);
  assert.match(s.srs.output, /grace_max_wait reached: cutting 1 conns/);
});

test('fast quit with 1,000 open connections takes well under a second', async (t) => {
  const s = await start(t, { extra: 'max_connections 2000;' });
  const socks = [];
  t.after(() => socks.forEach((x) => x.destroy()));
  for (let i = 0; i < 1000; i++) {
    const sock = net.connect({ port: s.rtmp, host: '127.0.0.1' });
    sock.on('error', () => {});
    socks.push(sock);
  }
  await Promise.all(socks.map((x) => new Promise((r) => (x.connecting ? x.once('connect', r) : r()))));
  await h.waitFor('1,000 connections registered', async () => {
    const r = await h.request(s.api, '/api/v1/summaries');
    return r.json.data.connections.per_listener.rtmp === 1000 ? r : null;
  });
  const t0 = Date.now();
  s.srs.kill('SIGINT');
  const { code } = await s.srs.waitForExit(3000);
  const took = Date.now() - t0;
  assert.equal(code, 0);
  assert.ok(took < 1000, `fast quit with 1,000 connections took ${took} ms`);
});
