'use strict';
// A reload that moves a port from one role to another (issue 10, fault 7): the socket already
// bound is handed to its new role instead of being bound again, all or nothing, on the real server.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('../helpers/harness');

function configText(dir, { rtmp, api, files }) {
  return `listen ${rtmp};
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank console;
auto_reload_for_docker off;
http_api { enabled on; listen ${api}; raw_api { enabled on; allow_reload on; } }
http_server { enabled on; listen ${files}; dir ${path.join(dir, 'html')}; }
vhost __defaultVhost__ { }
`;
}

async function start(t, ports) {
  const dir = h.tmpdir('srs-move-');
  fs.mkdirSync(path.join(dir, 'html'));
  fs.writeFileSync(path.join(dir, 'html', 'index.html'), 'files here\n');
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, configText(dir, ports));
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => {
    srs.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await srs.waitForLine(/ready, pid/);
  return { dir, file, srs, ...ports };
}

/** C0+C1, and the server's S0+S1+S2 back: this port speaks RTMP. */
function rtmpHandshake(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let n = 0;
    const timer = setTimeout(() => reject(new Error(`no RTMP handshake answer on ${port}`)), 5000);
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 1)])));
    sock.on('data', (d) => {
      n += d.length;
      if (n >= 1 + 2 * 1536) {
        clearTimeout(timer);
        resolve(sock);
      }
    });
    sock.on('error', reject);
  });
}

/** A keep-alive HTTP/1.1 client on one socket: send a request, read one response. */
function keepAlive(port) {
  const sock = net.connect({ port, host: '127.0.0.1' });
  sock.on('error', () => {});
  const connected = new Promise((r) => sock.once('connect', r));
  return {
    sock,
    async get(p) {
      await connected;
      return new Promise((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no HTTP answer on the kept socket for ${p}`)), 5000);
        const onData = (d) => {
          text += d;
          const m = /content-length: (\d+)/i.exec(text);
          const body = text.indexOf('\r\n\r\n');
          if (m && body >= 0 && text.length >= body + 4 + Number(m[1])) {
            clearTimeout(timer);
            sock.removeListener('data', onData);
            resolve(text);
          }
        };
        sock.on('data', onData);
        sock.write(`GET ${p} HTTP/1.1\r\nHost: srs\r\n\r\n`);
      });
    },
  };
}

async function reload(s, ports) {
  fs.writeFileSync(s.file, configText(s.dir, ports));
  const r = await h.request(s.api, '/api/v1/raw?rpc=reload');
  return r.json;
}

test("the file server's port becomes the RTMP port and the file server moves: applied, old connections stay", async (t) => {
  const [rtmp, api, files, files2] = await h.freePorts(4);
  const s = await start(t, { rtmp, api, files });
  const kept = keepAlive(files);
  t.after(() => kept.sock.destroy());
  assert.match(await kept.get('/index.html'), /files here/);
  const rtmpBefore = await rtmpHandshake(rtmp);
  t.after(() => rtmpBefore.destroy());

  const r = await reload(s, { rtmp: files, api, files: files2 });
  assert.equal(r.code, 0);
  assert.equal(r.data.ok, true, `reload applied: ${r.data.error}`);
  await s.srs.waitForLine(new RegExp(`:${files} moves from http_server to rtmp`));

  const viaRtmp = await rtmpHandshake(files);
  viaRtmp.destroy();
  const moved = await h.request(files2, '/index.html');
  assert.equal(moved.status, 200, 'the file server answers on its new port');
  assert.equal(await h.canConnect(rtmp), false, 'the old RTMP port is closed');
  assert.match(await kept.get('/index.html'), /files here/, 'the HTTP connection accepted before the move is still served');
  assert.equal(rtmpBefore.destroyed, false, 'the RTMP session on the old port is still open');

  // and back, swapping two roles at once (each port's socket changes role, none is bound again)
  const back = await reload(s, { rtmp: files2, api, files });
  assert.equal(back.data.ok, true, `swap applied: ${back.data.error}`);
  (await rtmpHandshake(files2)).destroy();
  assert.equal((await h.request(files, '/index.html')).status, 200);
});

test('a move whose other half cannot bind changes nothing (all or nothing)', async (t) => {
  const [rtmp, api, files, busy] = await h.freePorts(4);
  const s = await start(t, { rtmp, api, files });
  const blocker = net.createServer().listen(busy, '0.0.0.0');
  t.after(() => blocker.close());
  await new Promise((r) => blocker.once('listening', r));

  const r = await reload(s, { rtmp: files, api, files: busy });
  assert.equal(r.data.ok, false);
  assert.match(r.data.error, new RegExp(`http_server listen 0.0.0.0:${busy}: address already in use`));
  assert.equal((await h.request(files, '/index.html')).status, 200, 'the file server still answers on its port');
  (await rtmpHandshake(rtmp)).destroy();
});
