'use strict';
// One error shape on the API and the file server, on the real server: SRS's envelope, a stable
// SRS_ERR_API_* code, a message naming the request; never fastify's FST_ERR_* codes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('../helpers/harness');

const CREDS = { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` };

async function start(t, apiExtra = '') {
  const dir = h.tmpdir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api, files] = await h.freePorts(3);
  const file = h.writeConfig(dir, { rtmp, api, http: files, apiExtra });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { srs, api, files };
}

/** The one shape: asserts it and returns the body. */
function shaped(r, status, error, message) {
  assert.equal(r.status, status, `${error}: ${r.text}`);
  assert.match(r.headers['content-type'], /application\/json/);
  const b = r.json;
  assert.ok(b, `a JSON body: ${r.text}`);
  assert.deepEqual(Object.keys(b).sort(), ['code', 'error', 'message', 'pid', 'server', 'service']);
  assert.equal(b.code, status);
  assert.equal(b.error, error);
  assert.match(b.message, message);
  assert.doesNotMatch(r.text, /FST_ERR|no route|\.js:\d+/);
  return b;
}

test('404, 405, 400 (bad JSON, bad URL), 413 and 403 in the one shape on the API port', async (t) => {
  const { api } = await start(t, 'raw_api { enabled off; }');
  shaped(await h.request(api, '/api/v1/nope'), 404, 'SRS_ERR_API_NO_ROUTE', /^GET \/api\/v1\/nope: no such API route; see \/api\/v1\/$/);
  shaped(await h.request(api, '/'), 404, 'SRS_ERR_API_NO_ROUTE', /^GET \/: /);
  const m = await h.request(api, '/api/v1/versions', { method: 'DELETE' });
  shaped(m, 405, 'SRS_ERR_API_METHOD', /^DELETE \/api\/v1\/versions: method not allowed; allowed: GET, HEAD$/);
  assert.equal(m.headers.allow, 'GET, HEAD');
  const json = { 'content-type': 'application/json' };
  shaped(await h.request(api, '/api/v1/versions', { method: 'POST', headers: json, body: '{oops' }), 400, 'SRS_ERR_API_BAD_JSON', /^POST \/api\/v1\/versions: the body is not valid JSON$/);
  shaped(await h.request(api, '/api/v1/versions', { method: 'POST', headers: json, body: 'x'.repeat(1024 * 1024 + 1) }), 413, 'SRS_ERR_API_BODY_TOO_LARGE', /^POST \/api\/v1\/versions: request body too large$/);
  shaped(await h.request(api, '/api/v1/raw?rpc=reload'), 403, 'SRS_ERR_API_RAW_DISABLED', /raw_api is off/);
  shaped(await h.request(api, '/%%'), 400, 'SRS_ERR_API_BAD_URL', /^GET \/%%: malformed URL/);
  const long = `/api/v1/${'a'.repeat(5000)}`;
  const b = shaped(await h.request(api, long), 404, 'SRS_ERR_API_NO_ROUTE', /^GET \/api\/v1\/a+\.\.\.: /);
  assert.ok(b.message.length < 400, 'a long URL is cut in the message');
});

test('the raw API: bad rpc is 400; 401 in the one shape with auth on', async (t) => {
  const { api } = await start(t, 'raw_api { enabled on; allow_reload off; } auth { enabled on; username admin; password secret; }');
  shaped(await h.request(api, '/api/v1/raw?rpc=nope', { headers: CREDS }), 400, 'SRS_ERR_API_BAD_RPC', /^GET \/api\/v1\/raw\?rpc=nope: rpc must be/);
  shaped(await h.request(api, '/api/v1/raw?rpc=reload', { headers: CREDS }), 403, 'SRS_ERR_API_RELOAD_NOT_ALLOWED', /allow_reload is off/);
  const r = await h.request(api, '/api/v1/summaries');
  shaped(r, 401, 'SRS_ERR_API_UNAUTHORIZED', /^GET \/api\/v1\/summaries: http_api\.auth is enabled/);
  assert.match(r.headers['www-authenticate'], /^Basic realm="srs"$/);
  // a request over the body limit without credentials is refused before its body matters
  shaped(await h.request(api, '/api/v1/versions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) }), 401, 'SRS_ERR_API_UNAUTHORIZED', /^POST /);
});

test('a refused upload (401 before its body): the connection is not reset while the body still arrives (nginx\'s lingering close)', async (t) => {
  const { api } = await start(t, 'auth { enabled on; username admin; password secret; }');
  const net = require('node:net');
  const total = 4 * 1024 * 1024;
  const head = 64 * 1024;
  const got = await new Promise((resolve, reject) => {
    // allowHalfOpen: the client keeps sending its body after the server's FIN, as curl does
    const s = net.connect({ port: api, host: '127.0.0.1', allowHalfOpen: true });
    const deadline = setTimeout(() => { s.destroy(); reject(new Error('the server neither closed nor reset within 10 s')); }, 10_000);
    let text = '';
    let afterFin = 0;
    s.on('connect', () => {
      s.write(`POST /api/v1/versions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`);
      s.write(Buffer.alloc(head, 120));
    });
    s.on('data', (d) => (text += d));
    // the response and the server's FIN are in: only now send the rest of the body
    s.on('end', () => {
      afterFin = total - head;
      s.end(Buffer.alloc(afterFin, 120));
    });
    s.on('error', (e) => { clearTimeout(deadline); reject(new Error(`the connection was reset while the body was sent (${e.code}); got so far: ${JSON.stringify(text.slice(0, 60))}`)); });
    s.on('close', () => { clearTimeout(deadline); resolve({ text, afterFin }); });
  });
  assert.match(got.text, /^HTTP\/1\.1 401 /);
  assert.match(got.text, /SRS_ERR_API_UNAUTHORIZED/);
  assert.equal(got.afterFin, total - 64 * 1024, 'the rest of the body was sent after the response');
});

test('the file server: a missing file says so (not "no route"), a POST is 405, in the same shape', async (t) => {
  const { files } = await start(t);
  shaped(await h.request(files, '/no-such-file.html'), 404, 'SRS_ERR_API_NO_FILE', /^GET \/no-such-file\.html: no such file under http_server\.dir$/);
  const m = await h.request(files, '/index.html', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  shaped(m, 405, 'SRS_ERR_API_METHOD', /^POST \/index\.html: method not allowed; allowed: GET, HEAD$/);
  // a path that climbs out of the root: refused by the static server, in the same shape
  shaped(await h.request(files, '/../../etc/passwd'), 400, 'SRS_ERR_API_BAD_REQUEST', /^GET \/\.\.\/\.\.\/etc\/passwd: bad request$/);
});

test('a request node cannot parse gets the same shape', async (t) => {
  const { api } = await start(t);
  const net = require('node:net');
  const got = await new Promise((resolve, reject) => {
    const s = net.connect({ port: api, host: '127.0.0.1' });
    let text = '';
    s.on('connect', () => s.write('GET /a b c HTTP/1.1\r\n\r\n'));
    s.on('data', (d) => (text += d));
    s.on('close', () => resolve(text));
    s.on('error', reject);
  });
  assert.match(got, /^HTTP\/1\.1 400 /);
  const body = JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error, 'SRS_ERR_API_BAD_REQUEST');
  assert.equal(body.code, 400);
});
