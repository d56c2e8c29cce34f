'use strict';
// logrotate under load: ten real logrotate runs (the shipped etc/logrotate.d/srs: rename, create,
// SIGUSR1), each while 8 clients hit the API as fast as they can. Every request's line must be
// in exactly one of the files: 0 lost, 0 duplicated; and no fd of the server points at a rotated
// or deleted file afterwards.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const { report, fdsOf } = require('./support');

test('10 logrotate runs under 8 busy clients: 0 lines lost, 0 duplicated, no fd on a rotated file', async (t) => {
  const dir = h.tmpdir('srs-chaos-rotate-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const log = path.join(dir, 'objs', 'srs.log');
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, `listen ${rtmp};\ndaemon off;\npid ${path.join(dir, 'objs', 'srs.pid')};\nsrs_log_tank file;\nsrs_log_file ${log};\nauto_reload_for_docker off;\nhttp_api { enabled on; listen ${api}; }\n`);
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await h.waitFor('srs to listen', () => h.canConnect(api));
  const shipped = fs.readFileSync(path.join(h.ROOT, 'etc', 'logrotate.d', 'srs'), 'utf8');
  const conf = path.join(dir, 'logrotate.conf');
  // rotate 20 keeps every generation of this test; no compression, so the files can be read back
  fs.writeFileSync(conf, shipped.replaceAll('/usr/local/srs', dir).replace(/^\s*(delay)?compress$/gm, '').replace(/create 0644 root root/, 'create 0644').replace(/rotate \d+/, 'rotate 20'));

  let n = 0;
  let running = true;
  const clients = Array.from({ length: 8 }, async () => {
    while (running) {
      const i = n++;
      await h.request(api, `/api/v1/versions?n=${i}`);
    }
  });
  for (let r = 0; r < 10; r++) {
    const before = n;
    const out = await h.run('logrotate', ['-f', '-s', path.join(dir, 'logrotate.state'), conf]);
    assert.equal(out.code, 0, out.stderr);
    await h.waitFor(`the reopen of rotation ${r + 1}`, () => fs.existsSync(log) && /log file reopened/.test(fs.readFileSync(log, 'utf8')));
    await h.waitFor('requests after the reopen', () => n > before + 50);
  }
  running = false;
  await Promise.all(clients);
  const last = n - 1;
  await h.waitFor(`the line of the last request n=${last}`, () => new RegExp(`n=${last} `).test(fs.readFileSync(log, 'utf8')), 10000);
  const texts = [log, ...Array.from({ length: 20 }, (_, i) => `${log}.${i + 1}`)].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'));
  const seen = new Map();
  for (const text of texts) for (const m of text.matchAll(/GET \/api\/v1\/versions\?n=(\d+) 200/g)) seen.set(m[1], (seen.get(m[1]) ?? 0) + 1);
  let lost = 0;
  let dup = 0;
  for (let i = 0; i <= last; i++) {
    const c = seen.get(String(i)) ?? 0;
    if (c === 0) lost++;
    if (c > 1) dup++;
  }
  assert.equal(lost, 0, `${lost} of ${last + 1} request lines lost`);
  assert.equal(dup, 0, `${dup} of ${last + 1} request lines duplicated`);
  const stale = fdsOf(srs.pid).filter((f) => f.includes('(deleted)') || /srs\.log\.\d+$/.test(f));
  assert.deepEqual(stale, [], 'no fd points at a rotated or deleted file');
  report(t, `10 logrotate runs under ${last + 1} requests from 8 clients`, `0 lost, 0 duplicated, ${texts.length} files, no stale fd`);
});
