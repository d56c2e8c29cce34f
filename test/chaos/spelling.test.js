'use strict';
// Every spelling of a way out or a way in: path traversal on the file server (a secret beside the
// served dir must never come back), and every protected API route behind auth (generated
// spellings: percent-encoding of any character, case, doubled slashes, dot segments, trailing
// slashes and parameters) must be 401 without credentials; no reload may happen through them.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const fc = require('fast-check');
const h = require('../helpers/harness');
const { report } = require('./support');

/** A raw request: the path goes on the wire exactly as given (no client normalisation). */
function raw(port, target, headers = '') {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    sock.on('connect', () => sock.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`));
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0), body: data }));
  });
}

const SECRET = 'srs-chaos-secret-3f1c9a';

test('path traversal in 60 spellings never leaks a file outside the served dir', async (t) => {
  const dir = h.tmpdir('srs-chaos-trav-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const html = path.join(dir, 'html');
  fs.mkdirSync(path.join(html, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(html, 'index.html'), 'ok');
  fs.writeFileSync(path.join(dir, 'secret.txt'), SECRET);
  const [rtmp, files] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, http: files });
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/dir [^;]+;/, `dir ${html};`));
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const dots = ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '..%00', '%c0%ae%c0%ae', '..;', '.../.'];
  const seps = ['/', '%2f', '%2F', '%5c', '\\', '%252f', '//'];
  const spellings = [];
  for (const d of dots) for (const s of seps) spellings.push(`/sub/${d}${s}${d}${s}secret.txt`);
  spellings.push('/../secret.txt', '/./../secret.txt', '/sub/../../secret.txt', `/${'..%2f'.repeat(8)}secret.txt`, `/${path.join(dir, 'secret.txt')}`, `//${dir}/secret.txt`);
  let statuses = {};
  for (const p of spellings) {
    const r = await raw(files, p);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    assert.ok(!r.body.includes(SECRET), `${p} leaked the secret (status ${r.status})`);
    assert.ok(r.status >= 400, `${p}: status ${r.status}`);
  }
  assert.equal((await raw(files, '/index.html')).status, 200, 'a file inside the dir is still served');
  report(t, `${spellings.length} traversal spellings`, `no leak; statuses ${JSON.stringify(statuses)}`);
});

test('auth: generated spellings of every protected route are 401 without credentials, and none reloads', async (t) => {
  const dir = h.tmpdir('srs-chaos-auth-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, apiExtra: 'auth { enabled on; username admin; password secret; } raw_api { enabled on; allow_reload on; }' });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const routes = ['/api/v1/summaries', '/api/v1/clients', '/api/v1/raw?rpc=reload', '/api/v1/versions', '/api/v1/streams', '/metrics', '/api/v1/'];
  const enc = (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0');
  const spell = fc.tuple(fc.constantFrom(...routes), fc.array(fc.nat(), { maxLength: 4 }), fc.constantFrom('', '/', '//', '/.', ';x', '?', '#'), fc.nat(), fc.boolean()).map(([r, picks, tail, mode, upper]) => {
    const [p, q] = r.split('?');
    let chars = [...p];
    for (const i of picks) {
      const k = i % chars.length;
      if (chars[k] !== '/') chars[k] = mode % 3 === 0 ? enc(chars[k]) : mode % 3 === 1 ? enc(chars[k]).toUpperCase() : '%25' + enc(chars[k]).slice(1);
    }
    let s = chars.join('');
    if (mode % 5 === 0) s = s.replace('/v1/', '//v1/');
    if (mode % 7 === 0) s = s.replace('/api/', '/api/./');
    if (mode % 11 === 0) s = s.replace('/api/', '/x/../api/');
    if (upper && mode % 2 === 0) s = s.toUpperCase();
    return s + tail + (q ? `?${q}` : '');
  });
  const samples = [...new Set(fc.sample(spell, { numRuns: 400, seed: 7 }))];
  const open = [];
  for (const p of samples) {
    const r = await raw(api, p);
    // refused as unauthorised, or not a route at all: never served
    if (![400, 401, 404].includes(r.status)) open.push(`${p} -> ${r.status}`);
  }
  assert.deepEqual(open, [], 'every spelling of a protected route is refused');
  const auth = `Authorization: Basic ${Buffer.from('admin:secret').toString('base64')}\r\n`;
  assert.equal((await raw(api, '/api/v1/summaries', auth)).status, 200, 'the right credentials still work');
  for (const probe of ['/healthz', '/readyz']) assert.equal((await raw(api, probe)).status, 200, `${probe} stays open`);
  assert.doesNotMatch(srs.output, /reload requested|reload ok/, 'no spelling reloaded the server');
  report(t, `${samples.length} spellings of ${routes.length} protected routes`, 'none answered without credentials, none reloaded; probes open');
});
