'use strict';
// SIGUSR1 reopen under the real logrotate, with the shipped etc/logrotate.d/srs, while a client
// keeps hitting the API: every request's line lands exactly once across the old and new files.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');

test('real logrotate (create + postrotate USR1) loses and duplicates no line', async (t) => {
  const dir = h.tmpdir('srs-rotate-');
  const [rtmp, api] = await h.freePorts(2);
  const log = path.join(dir, 'objs', 'srs.log');
  const pid = path.join(dir, 'objs', 'srs.pid');
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, `listen ${rtmp};\ndaemon off;\npid ${pid};\nsrs_log_tank file;\nsrs_log_file ${log};\nauto_reload_for_docker off;\nhttp_api { enabled on; listen ${api}; }\n`);
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await h.waitFor('srs to listen', () => h.canConnect(api));

  // the shipped logrotate config, with the prefix pointed at this test's dir, and no compression
  // so the old file can be read back
  const shipped = fs.readFileSync(path.join(h.ROOT, 'etc', 'logrotate.d', 'srs'), 'utf8');
  const conf = path.join(dir, 'logrotate.conf');
  fs.writeFileSync(conf, shipped.replaceAll('/usr/local/srs', dir).replace(/^\s*(delay)?compress$/gm, '').replace(/create 0644 root root/, 'create 0644'));

  let n = 0;
  let running = true;
  const client = (async () => {
    while (running) {
      await h.request(api, `/api/v1/versions?n=${n}`);
      n++;
    }
  })();
  await h.waitFor('some requests logged before the rotation', () => fs.existsSync(log) && /n=20 /.test(fs.readFileSync(log, 'utf8')));
  // asynchronously: the client keeps sending while logrotate renames and signals
  const nBefore = n;
  const r = await h.run('logrotate', ['-f', '-s', path.join(dir, 'logrotate.state'), conf]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(n > nBefore, 'requests were made while logrotate ran');
  assert.ok(fs.existsSync(`${log}.1`), 'the old log was renamed');
  await h.waitFor('the reopen to be logged in the new file', () => fs.existsSync(log) && /log file reopened/.test(fs.readFileSync(log, 'utf8')));
  const nAtReopen = n;
  await h.waitFor('requests after the reopen', () => n > nAtReopen + 20);
  running = false;
  await client;
  const last = n - 1;
  await h.waitFor(`the line of the last request n=${last}`, () => new RegExp(`n=${last} `).test(fs.readFileSync(log, 'utf8')));

  const oldText = fs.readFileSync(`${log}.1`, 'utf8');
  const newText = fs.readFileSync(log, 'utf8');
  const seen = new Map();
  for (const m of (oldText + newText).matchAll(/GET \/api\/v1\/versions\?n=(\d+) 200/g)) seen.set(m[1], (seen.get(m[1]) ?? 0) + 1);
  for (let i = 0; i <= last; i++) assert.equal(seen.get(String(i)), 1, `request n=${i} logged ${seen.get(String(i)) ?? 0} times`);
  assert.match(oldText, /n=0 /, 'old lines stay in the rotated file');
  assert.match(newText, new RegExp(`n=${last} `), 'new lines land in the new file');
  assert.doesNotMatch(oldText, /log file reopened/);
});

test('a daemon under real logrotate: after the reopen no fd points at the rotated or a deleted file', async (t) => {
  const dir = h.tmpdir('srs-rotate-');
  const [rtmp] = await h.freePorts(1);
  const log = path.join(dir, 'objs', 'srs.log');
  const pid = path.join(dir, 'objs', 'srs.pid');
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, `listen ${rtmp};\ndaemon on;\ndisable_daemon_for_docker off;\npid ${pid};\nsrs_log_tank file;\nsrs_log_file ${log};\nauto_reload_for_docker off;\n`);
  h.trackPidFile(pid);
  const r = await h.runSrsAsync(['-c', file], { cwd: dir });
  assert.equal(r.code, 0, r.output);
  const daemon = h.track(Number(fs.readFileSync(pid, 'utf8')));
  t.after(() => h.killPid(daemon));
  // an fd closed between the listing and its readlink (a client's socket) is skipped
  const fds = () =>
    fs.readdirSync(`/proc/${daemon}/fd`).flatMap((fd) => {
      try {
        return [[fd, fs.readlinkSync(`/proc/${daemon}/fd/${fd}`)]];
      } catch {
        return [];
      }
    });
  assert.deepEqual(fds().filter(([fd]) => fd === '1' || fd === '2').map(([, target]) => target), [log, log], 'the daemon\'s fds 1 and 2 are the log');

  // the shipped config, compressing (so the rotated file is deleted on the second run)
  const shipped = fs.readFileSync(path.join(h.ROOT, 'etc', 'logrotate.d', 'srs'), 'utf8');
  const conf = path.join(dir, 'logrotate.conf');
  fs.writeFileSync(conf, shipped.replaceAll('/usr/local/srs', dir).replace(/create 0644 root root/, 'create 0644'));
  for (let round = 1; round <= 2; round++) {
    const rot = await h.run('logrotate', ['-f', '-s', path.join(dir, 'logrotate.state'), conf]);
    assert.equal(rot.code, 0, rot.stderr);
    await h.waitFor(`round ${round}: the reopen to be logged in the new file`, () => fs.existsSync(log) && /log file reopened/.test(fs.readFileSync(log, 'utf8')));
    const stale = fds().filter(([, target]) => target.startsWith(`${log}.`) || target.endsWith(' (deleted)'));
    assert.deepEqual(stale, [], `round ${round}: fds on a rotated or deleted file`);
    assert.deepEqual(fds().filter(([fd]) => fd === '1' || fd === '2').map(([, target]) => target), [log, log], `round ${round}: fds 1 and 2 follow the log`);
  }
  h.killPid(daemon, 'SIGTERM');
  await h.waitFor(`daemon ${daemon} to exit`, () => h.pidGone(daemon));
});
