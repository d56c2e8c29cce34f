'use strict';
// Reload through SIGHUP, `-s reload` and the API, on the real process.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('../helpers/harness');

function configText(dir, { rtmp, api, level = 'trace', extra = '', apiExtra = '' }) {
  return `listen ${rtmp};
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank console;
srs_log_level ${level};
auto_reload_for_docker off;
${extra}
http_api { enabled on; listen ${api}; ${apiExtra} }
vhost __defaultVhost__ { }
`;
}

async function start(t, opts = {}) {
  const dir = h.tmpdir('srs-reload-');
  const [rtmp, api] = await h.freePorts(2);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, configText(dir, { rtmp, api, ...opts }));
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { dir, file, rtmp, api, srs };
}

const count = (text, re) => (text.match(new RegExp(re.source, 'g')) || []).length;

test('SIGHUP: log level changes and the media listener moves; existing connections stay', async (t) => {
  const s = await start(t);
  const old = net.connect({ port: s.rtmp, host: '127.0.0.1' });
  old.on('error', () => {});
  await new Promise((r) => old.once('connect', r));
  let oldClosed = false;
  old.on('close', () => (oldClosed = true));

  await h.request(s.api, '/api/v1/versions');
  await s.srs.waitForLine(/GET \/api\/v1\/versions 200/);

  const [rtmp2] = await h.freePorts(1);
  fs.writeFileSync(s.file, configText(s.dir, { rtmp: rtmp2, api: s.api, level: 'warn' }));
  s.srs.kill('SIGHUP');
  await s.srs.waitForLine(/reload ok: applied/);
  assert.match(s.srs.output, /reload ok: applied listen, srs_log_level/);
  assert.equal(await h.canConnect(rtmp2), true, 'new address accepts');
  assert.equal(await h.canConnect(s.rtmp), false, 'old address is closed');
  assert.equal(oldClosed, false, 'the connection made on the old address is still open');

  const before = count(s.srs.output, /GET \/api\/v1\/summaries 200/);
  const r = await h.request(s.api, '/api/v1/summaries');
  assert.equal(r.json.data.reload.ok, true);
  assert.deepEqual(r.json.data.reload.applied, ['listen', 'srs_log_level']);
  // at warn, an access line (info) is no longer written
  await h.request(s.api, '/api/v1/versions');
  fs.writeFileSync(s.file, configText(s.dir, { rtmp: rtmp2, api: s.api, level: 'trace' }));
  s.srs.kill('SIGHUP');
  await h.waitFor('the level back at trace', async () => (await h.request(s.api, '/api/v1/versions')) && /GET \/api\/v1\/versions 200[\s\S]*GET \/api\/v1\/versions 200[\s\S]*GET \/api\/v1\/versions 200/.test(s.srs.output.split('reload ok').slice(-1)[0] ?? ''));
  assert.equal(count(s.srs.output, /GET \/api\/v1\/summaries 200/), before, 'no access line at warn');
  old.destroy();
});

test('a broken config keeps the server serving and is reported with file:line', async (t) => {
  const s = await start(t);
  fs.writeFileSync(s.file, `listen ${s.rtmp};\nhttp_api { enabled on; listen ${s.api}; }\nmax_connections lots;\n`);
  s.srs.kill('SIGHUP');
  await s.srs.waitForLine(/reload failed, keeping the running config/);
  assert.match(s.srs.output, /srs\.conf:3:\d+: max_connections/);
  const r = await h.request(s.api, '/api/v1/summaries');
  assert.equal(r.json.data.reload.ok, false);
  assert.match(r.json.data.reload.error, /srs\.conf:3:\d+/);
  assert.equal(await h.canConnect(s.rtmp), true, 'still serving media');
  const m = await h.request(s.api, '/metrics');
  assert.match(m.text, /srs_config_reloads_total\{result="failure"\} 1/);
  assert.match(m.text, /srs_config_last_reload_successful 0/);

  // a listen address that cannot be bound: all or nothing, the old listener stays
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  t.after(() => blocker.close());
  fs.writeFileSync(s.file, configText(s.dir, { rtmp: blocker.address().port, api: s.api }));
  s.srs.kill('SIGHUP');
  await h.waitFor('the failed rebind reported', () => count(s.srs.output, /reload failed/) === 2);
  assert.match(s.srs.output, /address already in use/);
  assert.equal(await h.canConnect(s.rtmp), true, 'the old media listener is untouched');
});

test('non-reloadable changes warn and keep the running value', async (t) => {
  const s = await start(t);
  const text = fs.readFileSync(s.file, 'utf8').replace(/pid .*;/, `pid ${path.join(s.dir, 'other.pid')};`).replace('daemon off;', 'daemon off;\nsrs_log_format json;');
  fs.writeFileSync(s.file, text);
  s.srs.kill('SIGHUP');
  await s.srs.waitForLine(/reload ok/);
  assert.match(s.srs.output, /reload: pid cannot change in a running process; keeping .*restart to apply/);
  assert.match(s.srs.output, /reload: srs_log_format cannot change in a running process/);
  assert.ok(fs.existsSync(path.join(s.dir, 'srs.pid')), 'the pid file stays where it was');
  assert.equal(fs.existsSync(path.join(s.dir, 'other.pid')), false);
});

test('100 SIGHUPs in a burst: alive, and the last config is applied', async (t) => {
  const s = await start(t);
  const ports = await h.freePorts(1);
  for (let i = 0; i < 100; i++) {
    if (i === 99) fs.writeFileSync(s.file, configText(s.dir, { rtmp: ports[0], api: s.api }));
    s.srs.kill('SIGHUP');
  }
  await h.waitFor('the new listener from the last config', () => h.canConnect(ports[0]), 10000);
  await h.waitFor('reloads to settle', async () => {
    const r = await h.request(s.api, '/api/v1/summaries');
    return r.json.data.reload && r.json.data.reload.ok;
  });
  assert.equal(await h.canConnect(s.rtmp), false);
  assert.equal((await h.request(s.api, '/healthz')).status, 200, 'alive');
  assert.equal(h.pidGone(s.srs.pid), false);
});

test('srs -s reload: exit 0 once live, 3 with the reason when refused', async (t) => {
  const s = await start(t);
  const [rtmp2] = await h.freePorts(1);
  fs.writeFileSync(s.file, configText(s.dir, { rtmp: rtmp2, api: s.api }));
  const ok = await h.runSrsAsync(['-s', 'reload', '-c', s.file], { cwd: s.dir });
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.stdout, /reloaded pid \d+: applied listen/);
  assert.equal(await h.canConnect(rtmp2), true, 'live when -s reload returned');

  fs.writeFileSync(s.file, fs.readFileSync(s.file, 'utf8') + '\nlisne 1;\n');
  const bad = await h.runSrsAsync(['-s', 'reload', '-c', s.file], { cwd: s.dir });
  // -s reads the same config to find the pid file: the running server refuses a broken one
  assert.equal(bad.code, 3, bad.output);
  assert.match(bad.stderr, /lisne/);

  // broken in a way only the server sees (a port in use): the server's own refusal comes back
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  t.after(() => blocker.close());
  fs.writeFileSync(s.file, configText(s.dir, { rtmp: blocker.address().port, api: s.api }));
  const refused = await h.runSrsAsync(['-s', 'reload', '-c', s.file], { cwd: s.dir });
  assert.equal(refused.code, 3, refused.output);
  assert.match(refused.stderr, /reload refused, pid \d+ keeps its running config: .*address already in use/);
});

test('API reload: only with raw_api and allow_reload', async (t) => {
  const s = await start(t, { apiExtra: 'raw_api { enabled on; allow_reload on; }' });
  const [rtmp2] = await h.freePorts(1);
  fs.writeFileSync(s.file, configText(s.dir, { rtmp: rtmp2, api: s.api, apiExtra: 'raw_api { enabled on; allow_reload on; }' }));
  const r = await h.request(s.api, '/api/v1/raw?rpc=reload');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.ok, true);
  assert.equal(await h.canConnect(rtmp2), true);
  const f = await h.request(s.api, '/api/v1/raw?rpc=reload-fetch');
  assert.equal(f.json.data.trigger, 'api');

  fs.writeFileSync(s.file, configText(s.dir, { rtmp: rtmp2, api: s.api, apiExtra: 'raw_api { enabled on; allow_reload off; }' }));
  assert.equal((await h.request(s.api, '/api/v1/raw?rpc=reload')).status, 200, 'this reload turns allow_reload off');
  const denied = await h.request(s.api, '/api/v1/raw?rpc=reload');
  assert.equal(denied.status, 403);
  assert.match(denied.json.message, /allow_reload is off/);
  const badRpc = await h.request(s.api, '/api/v1/raw?rpc=nope');
  assert.equal(badRpc.status, 400);
});
