'use strict';
// http_api.auth against every spelling of a protected route, on the real server: the router decodes
// `%61pi` into `api`, so a check on the raw URL let `/%61pi/v1/raw?rpc=reload` reload the server.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const h = require('../helpers/harness');

const CREDS = `Basic ${Buffer.from('admin:secret').toString('base64')}`;

/**
 * One request on a raw socket, so that no client library normalises the path: the status and the
 * body text. The server closes (Connection: close), or answers a bad request and closes.
 */
function rawRequest(port, method, target, headers = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    sock.on('connect', () => sock.write(`${lines.join('\r\n')}\r\n\r\n`));
    sock.on('data', (d) => (got += d));
    sock.on('error', reject);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (!m) return reject(new Error(`${method} ${target}: no HTTP answer (got ${JSON.stringify(got.slice(0, 200))})`));
      const body = got.slice(got.indexOf('\r\n\r\n') + 4);
      resolve({ status: Number(m[1]), head: got.slice(0, got.indexOf('\r\n\r\n')), body });
    });
  });
}

const hex = (c) => c.charCodeAt(0).toString(16).padStart(2, '0');

/**
 * Spellings of `p` (a path without query): each character percent-encoded alone (upper and lower
 * hex), all encoded, double and triple encoding, case mixes, doubled slashes, dot segments,
 * trailing slash, `;params`, backslashes, NUL and space. `resolves` marks the spellings the router
 * itself maps to the route (percent-decoding one non-slash character): with credentials they must
 * answer 200, the others must not reach any handler.
 */
function spellings(p) {
  const out = [];
  for (let i = 1; i < p.length; i++) {
    const c = p[i];
    out.push({ target: `${p.slice(0, i)}%${hex(c).toUpperCase()}${p.slice(i + 1)}`, resolves: c !== '/' });
    if (/[a-f]/i.test(hex(c))) out.push({ target: `${p.slice(0, i)}%${hex(c).toLowerCase()}${p.slice(i + 1)}`, resolves: c !== '/' });
  }
  out.push({ target: [...p].map((c) => (c === '/' ? c : `%${hex(c)}`)).join(''), resolves: true });
  out.push({ target: `/${[...p.slice(1)].map((c) => `%${hex(c)}`).join('')}`, resolves: false });
  out.push({ target: `${p.slice(0, 1)}%25${hex(p[1])}${p.slice(2)}`, resolves: false });
  out.push({ target: `${p.slice(0, 1)}%2525${hex(p[1])}${p.slice(2)}`, resolves: false });
  out.push({ target: p.toUpperCase(), resolves: false });
  out.push({ target: p.replace(/[a-z]/g, (c, i) => (i % 2 ? c.toUpperCase() : c)), resolves: false });
  const segs = p.split('/').slice(1);
  out.push({ target: `/${segs.join('//')}`, resolves: false });
  out.push({ target: `//${segs.join('/')}`, resolves: false });
  out.push({ target: `/./${segs.join('/./')}`, resolves: false });
  out.push({ target: `/x/../${segs.join('/')}`, resolves: false });
  out.push({ target: `/${segs[0]}/x/%2e%2e/${segs.slice(1).join('/')}`, resolves: false });
  out.push({ target: `/${segs[0]}/x/%252e%252e/${segs.slice(1).join('/')}`, resolves: false });
  out.push({ target: `${p}/`, resolves: false });
  out.push({ target: `${p};jsessionid=1`, resolves: false });
  out.push({ target: `/${p.slice(1).replace(/\//g, '\\')}`, resolves: false });
  out.push({ target: `${p}%09`, resolves: false });
  out.push({ target: `/${segs.join('%2F')}`, resolves: false });
  out.push({ target: `/${segs.join('%2f')}`, resolves: false });
  out.push({ target: `${p}%00`, resolves: false });
  out.push({ target: `${p}%20`, resolves: false });
  out.push({ target: `${p}/.`, resolves: false });
  out.push({ target: `${p}?`, resolves: true });
  out.push({ target: `${p}#frag`, resolves: true });
  // for a one-segment path some spellings coincide: the first (or the path itself) decides
  const unique = new Map([[p, { target: p, resolves: true }]]);
  for (const s of out) if (!unique.has(s.target)) unique.set(s.target, s);
  return [...unique.values()];
}

async function startAuthServer(t, { shared = false } = {}) {
  const dir = h.tmpdir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const [rtmp, api, files] = await h.freePorts(3);
  const file = h.writeConfig(dir, {
    rtmp,
    api,
    http: shared ? api : files,
    apiExtra: 'auth { enabled on; username admin; password secret; } raw_api { enabled on; allow_reload on; }',
  });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { srs, api, files: shared ? api : files };
}

async function reloadsSoFar(api) {
  const m = await rawRequest(api, 'GET', '/metrics', { Authorization: CREDS });
  assert.equal(m.status, 200, `/metrics with credentials: ${m.body.slice(0, 200)}`);
  return [...m.body.matchAll(/^srs_config_reloads_total\{result="(success|failure)"\} (\d+)/gm)].reduce((n, x) => n + Number(x[2]), 0);
}

const PROTECTED = ['/api/v1/clients', '/api/v1/raw', '/api/v1/summaries', '/api/v1/versions', '/metrics'];

for (const shared of [false, true]) {
  test(`every spelling of a protected route is 401 without credentials${shared ? ' (API and files on one port)' : ''}`, async (t) => {
    const { api, srs } = await startAuthServer(t, { shared });
    const before = await reloadsSoFar(api);
    const cases = [];
    for (const p of PROTECTED) {
      for (const s of spellings(p)) {
        // the raw API reloads: every spelling carries the query that would do it
        const target = p === '/api/v1/raw' ? `${s.target.replace(/[?#].*$/, '')}?rpc=reload` : s.target;
        cases.push({ ...s, target, route: p });
      }
    }
    // and routes that do not exist under the API
    for (const target of ['/api/v1/nope', '/api/v2/clients', '/api', '/api/', '/%61pi/v1/nope', '/API/V1/']) cases.push({ target, resolves: false, route: null });
    assert.ok(cases.length >= 50, `${cases.length} spellings`);
    const leaks = [];
    for (const c of cases) {
      for (const method of ['GET', 'HEAD']) {
        const r = await rawRequest(api, method, c.target);
        if (r.status !== 401) leaks.push(`${method} ${c.target} -> ${r.status}`);
        else if (method === 'GET' && !/"error":"SRS_ERR_API_UNAUTHORIZED"/.test(r.body)) leaks.push(`${method} ${c.target}: 401 without the error shape: ${r.body}`);
      }
    }
    assert.deepEqual(leaks, [], `${leaks.length} of ${cases.length * 2} requests got past auth`);
    assert.equal(await reloadsSoFar(api), before, 'no spelling reloaded the server');
    assert.doesNotMatch(srs.output, /reload (ok|failed)/);

    // with credentials: the spellings the router maps to the route answer it, the others reach no handler
    const wrong = [];
    for (const c of cases) {
      if (c.route === '/api/v1/raw') continue; // the reloads are counted below
      const r = await rawRequest(api, 'GET', c.target, { Authorization: CREDS });
      if (c.resolves && r.status !== 200) wrong.push(`${c.target} -> ${r.status}, wanted 200`);
      if (!c.resolves && r.status === 200) wrong.push(`${c.target} -> 200: a spelling the router does not map reached a handler`);
      if (r.status >= 400 && !/"error":"SRS_ERR_API_/.test(r.body)) wrong.push(`${c.target} -> ${r.status} not in the one error shape: ${r.body.slice(0, 200)}`);
    }
    assert.deepEqual(wrong, []);
    const ok = await rawRequest(api, 'GET', '/%61pi/v1/raw?rpc=reload', { Authorization: CREDS });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(await reloadsSoFar(api), before + 1, 'the one authorised reload counted');
  });
}

test('probes stay open; the file server stays open on its own port and on a shared one, except for the API paths', async (t) => {
  for (const shared of [false, true]) {
    const { api, files } = await startAuthServer(t, { shared });
    for (const probe of ['/healthz', '/readyz']) {
      const r = await rawRequest(api, 'GET', probe);
      assert.equal(r.status, 200, `${probe}: ${r.body}`);
    }
    assert.equal((await rawRequest(files, 'GET', '/index.html')).status, 200, 'files need no credentials');
    assert.equal((await rawRequest(files, 'GET', '/nope.html')).status, 404);
    const metrics = await rawRequest(api, 'GET', '/metrics');
    assert.equal(metrics.status, 401, '/metrics is behind the API auth on the API port');
    assert.match(metrics.head, /www-authenticate: Basic realm="srs"/i);
    const wrongPassword = await rawRequest(api, 'GET', '/api/v1/versions', { Authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` });
    assert.equal(wrongPassword.status, 401);
    if (!shared) {
      // the file server's own port has no API behind it: a path that looks like one is just a file
      const r = await rawRequest(files, 'GET', '/api/v1/clients');
      assert.equal(r.status, 404);
      assert.match(r.body, /"error":"SRS_ERR_API_NO_FILE"/);
    }
  }
});

test('a malformed URL on the API port is 401 without credentials, 400 in the one shape with them', async (t) => {
  const { api } = await startAuthServer(t);
  assert.equal((await rawRequest(api, 'GET', '/%%')).status, 401);
  const r = await rawRequest(api, 'GET', '/%%', { Authorization: CREDS });
  assert.equal(r.status, 400);
  const body = JSON.parse(r.body);
  assert.equal(body.error, 'SRS_ERR_API_BAD_URL');
  assert.match(body.message, /^GET \/%%: /);
});

test('SRS\'s exporter port serves /metrics open to scrapers, with its label and tag, and nothing else; a reload turns it on and off', async (t) => {
  const fs = require('node:fs');
  const dir = h.tmpdir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api, exporter] = await h.freePorts(3);
  const auth = 'auth { enabled on; username admin; password secret; } raw_api { enabled on; allow_reload on; }';
  const withExporter = `exporter { enabled on; listen ${exporter}; label cn-beijing; tag cn-edge; }`;
  const file = h.writeConfig(dir, { rtmp, api, apiExtra: auth, extra: withExporter });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const m = await rawRequest(exporter, 'GET', '/metrics');
  assert.equal(m.status, 200, `no credentials needed on the exporter port: ${m.body.slice(0, 200)}`);
  assert.match(m.body, /^srs_build_info\{version="[\d.]+",label="cn-beijing",tag="cn-edge"\} 1$/m);
  assert.match(m.body, /^srs_connections_accepted_total\{listener="exporter"\} \d+$/m);
  for (const p of ['/api/v1/summaries', '/api/v1/raw?rpc=reload', '/healthz', '/index.html']) {
    const r = await rawRequest(exporter, 'GET', p);
    assert.equal(r.status, 404, `${p} on the exporter port: ${r.status} ${r.body.slice(0, 200)}`);
  }
  assert.equal((await rawRequest(api, 'GET', '/metrics')).status, 401, 'the API port keeps /metrics behind auth');
  // a reload without the block closes the port; with it again, opens it
  h.writeConfig(dir, { rtmp, api, apiExtra: auth });
  srs.kill('SIGHUP');
  await h.waitFor('the exporter port to close after a reload without exporter { }', async () => !(await h.canConnect(exporter)), 10000, 50);
  h.writeConfig(dir, { rtmp, api, apiExtra: auth, extra: withExporter });
  srs.kill('SIGHUP');
  await h.waitFor('the exporter port to open again after a reload with exporter { }', () => h.canConnect(exporter), 10000, 50);
  assert.equal((await rawRequest(exporter, 'GET', '/metrics')).status, 200);
});

test('the exporter on the API\'s own port: /metrics is open there, the API keeps its auth, and the port keeps the API\'s own slots', async (t) => {
  const fs = require('node:fs');
  const dir = h.tmpdir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, apiExtra: 'auth { enabled on; username admin; password secret; }', extra: `exporter { enabled on; listen ${api}; }`, maxConnections: 1 });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.equal((await rawRequest(api, 'GET', '/metrics')).status, 200, 'the exporter promises an open /metrics');
  assert.equal((await rawRequest(api, 'GET', '/api/v1/summaries')).status, 401, 'the API keeps its auth');
  // max_connections 1, held by an RTMP client: the shared port still answers from the API's slots
  const held = net.connect({ port: rtmp, host: '127.0.0.1' });
  t.after(() => held.destroy());
  await new Promise((resolve, reject) => held.once('connect', resolve).once('error', reject));
  await h.waitFor('the RTMP connection counted', async () => /srs_connections\{listener="rtmp"\} 1/.test((await rawRequest(api, 'GET', '/metrics')).body), 5000, 20);
  const probe = await rawRequest(api, 'GET', '/healthz');
  assert.equal(probe.status, 200, `a probe on the API+exporter port while max_connections is full: ${probe.status}`);
});
