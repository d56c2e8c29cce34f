'use strict';
// `srs -s ...` against a running srs whatever its config file says now (issue 10, fault 4), the
// outcome of a reload when nothing can be recorded (fault 7), and the records next to the pid
// file dying with the processes they name (fault 9).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const fc = require('fast-check');
const h = require('../helpers/harness');
const { scanTopLevel, locatePidFile, DEFAULT_PID_FILE } = require('../../dist/lifecycle/control-client.js');
const pidfile = require('../../dist/lifecycle/pidfile.js');

/** A pid that existed and is gone now (a child that exited and was reaped). */
function deadPid() {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(r.stdout);
  assert.ok(pid > 0 && h.pidGone(pid));
  return pid;
}

test('scanTopLevel: pid and work_dir survive every other kind of error', () => {
  const cases = [
    ['listen 1935;\nmax_connections zero;\npid ./a.pid;\n', './a.pid'],
    ['listen\n    1935;\npid\n  "/x y/b.pid";\n', '/x y/b.pid'],
    ['lisne 1;\nvhost v { pid /not/top.pid; }\npid /top.pid;\n', '/top.pid'],
    ['# pid /comment.pid;\npid /c.pid; # trailing\n', '/c.pid'],
    ['vhost v { unbalanced\n', undefined],
    ['pid /first.pid;\npid /second.pid;\n', '/first.pid'],
    ["pid '/single.pid';", '/single.pid'],
    ['pid;\npid a b;\n', undefined],
  ];
  for (const [text, pid] of cases) assert.equal(scanTopLevel(text, 'x.conf').pid, pid, JSON.stringify(text));
  const top = scanTopLevel('work_dir /w;\ninclude a.conf b.conf;\nvhost v { include c.conf; }\n', 'x.conf');
  assert.equal(top.workDir, '/w');
  assert.deepEqual(top.includes, ['a.conf', 'b.conf']);
  assert.equal(scanTopLevel('listen: 1935\npid: "/y.pid"\nwork_dir: /w # c\n  pid: /nested.pid\n', 'x.yaml').pid, '/y.pid');
  assert.equal(scanTopLevel('work_dir: /w # c\n', 'x.yml').workDir, '/w');
});

test('scanTopLevel: a top-level pid is found whatever well-closed junk surrounds it (property)', () => {
  const piece = (extra) => fc.array(fc.constantFrom('a', 'b', '1', ' ', '\n', '\t', '#', '"', "'", ';', '{', '}', '$', 'listen', ...extra), { maxLength: 60 }).map((a) => a.join(''));
  fc.assert(
    fc.property(piece([]), piece(['pid']), (before, after) => {
      // whatever comes before (no pid, no quotes of its own), once closed (comment, blocks and
      // statement ended), the directive is at top level; nothing after it changes what was read
      const close = '\n' + '}'.repeat(61) + ';\n';
      const text = `${before.replace(/["']/g, '')}${close}pid /p.pid;\n${after}`;
      assert.equal(scanTopLevel(text, 'x.conf').pid, '/p.pid', JSON.stringify(text));
    }),
    { numRuns: 2000 },
  );
});

test('locatePidFile: the config, else a lenient read (includes, work_dir, SRS_PID), else the default', () => {
  const dir = h.tmpdir('srs-locate-');
  try {
    const conf = path.join(dir, 'srs.conf');
    fs.writeFileSync(conf, 'listen 1935;\npid ./objs/x.pid;\n');
    assert.deepEqual(locatePidFile({ file: conf, envOnly: false }, dir, {}), { file: path.join(dir, 'objs/x.pid'), how: 'config', problem: null, guess: false });
    fs.writeFileSync(conf, 'listen 1935;\nmax_connections zero;\nwork_dir ./w;\ninclude inc.conf;\n');
    fs.writeFileSync(path.join(dir, 'inc.conf'), 'pid ./from-include.pid;\n');
    const l = locatePidFile({ file: conf, envOnly: false }, dir, {});
    assert.equal(l.file, path.join(dir, 'w', 'from-include.pid'));
    assert.equal(l.how, 'lenient');
    assert.match(l.problem, /srs\.conf:2:\d+: .*max_connections/);
    assert.equal(locatePidFile({ file: conf, envOnly: false }, dir, { SRS_PID: '/env.pid' }).file, '/env.pid');
    // an include that is not a regular file is not read
    fs.rmSync(path.join(dir, 'inc.conf'));
    fs.mkdirSync(path.join(dir, 'inc.conf'));
    const d = locatePidFile({ file: conf, envOnly: false }, dir, {});
    assert.equal(d.file, path.join(dir, 'w', DEFAULT_PID_FILE));
    assert.equal(d.how, 'default');
    assert.equal(d.guess, false, 'the file was read: the server used the default too');
    const missing = locatePidFile({ file: path.join(dir, 'gone.conf'), envOnly: false }, dir, {});
    assert.equal(missing.file, path.join(dir, DEFAULT_PID_FILE));
    assert.equal(missing.guess, true);
    assert.throws(() => locatePidFile({ file: null, envOnly: false }, dir, {}), /no config file given/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function startServer(t, extra = '') {
  const dir = h.tmpdir('srs-control-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, extra });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid \d+/);
  return { dir, file, rtmp, api, srs, pidFile: path.join(dir, 'srs.pid') };
}

test('a config broken on disk: -s status, pid, reopen, reload (the server refuses), stop all reach the running srs', async (t) => {
  const s = await startServer(t);
  const good = fs.readFileSync(s.file, 'utf8');
  fs.writeFileSync(s.file, good.replace(/max_connections \d+;/, 'max_connections zero;'));
  const srs = (...args) => h.runSrsAsync(['-s', ...args, '-c', s.file], { cwd: s.dir });

  const status = await srs('status');
  assert.equal(status.code, 0, status.output);
  assert.match(status.stdout, new RegExp(`running, pid ${s.srs.pid}`));
  assert.match(status.stderr, /warning: .*srs\.conf:\d+:\d+: .*max_connections/, 'says the config does not load');

  const pid = await srs('pid');
  assert.equal(pid.code, 0, pid.output);
  assert.equal(pid.stdout.trim(), `${s.pidFile} ${s.srs.pid}`);

  const reopen = await srs('reopen');
  assert.equal(reopen.code, 0, reopen.output);
  assert.match(reopen.stdout, new RegExp(`sent SIGUSR1 to pid ${s.srs.pid}`));

  // the running server judges the file, refuses it and keeps serving
  const reload = await srs('reload');
  assert.equal(reload.code, 3, reload.output);
  assert.match(reload.stderr, new RegExp(`reload refused, pid ${s.srs.pid} keeps its running config: .*max_connections`));
  assert.equal((await h.request(s.api, '/healthz')).status, 200);

  const stop = await srs('stop');
  assert.equal(stop.code, 0, stop.output);
  assert.match(stop.stdout, new RegExp(`pid ${s.srs.pid} quit \\(SIGTERM\\)`));
  await s.srs.waitForExit();
  const after = await srs('status');
  assert.equal(after.code, 3, after.output);
});

test('a config broken on disk: -s quit drains and leaves; a pid directive that no longer parses falls back to the default', async (t) => {
  const s = await startServer(t);
  fs.writeFileSync(s.file, `${fs.readFileSync(s.file, 'utf8')}\nlisten\n  1935;\n`);
  const quit = await h.runSrsAsync(['-s', 'quit', '-c', s.file], { cwd: s.dir });
  assert.equal(quit.code, 0, quit.output);
  assert.match(quit.stdout, new RegExp(`pid ${s.srs.pid} quit \\(SIGQUIT\\)`));
  await s.srs.waitForExit();

  // pid ./objs/srs.pid (SRS's default) and a config reduced to garbage: found by the default
  const dir = s.dir;
  const [rtmp] = await h.freePorts(1);
  const file = path.join(dir, 'default.conf');
  fs.writeFileSync(file, `listen ${rtmp};\ndaemon off;\nsrs_log_tank console;\n`);
  const srs2 = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs2.kill());
  await srs2.waitForLine(/ready, pid \d+/);
  h.trackPidFile(path.join(dir, 'objs/srs.pid'));
  fs.writeFileSync(file, 'vhost { {{ "unterminated\n');
  const status = await h.runSrsAsync(['-s', 'status', '-c', file], { cwd: dir });
  assert.equal(status.code, 0, status.output);
  assert.match(status.stdout, new RegExp(`running, pid ${srs2.pid} \\(objs/srs\\.pid\\)`));
  assert.match(status.stderr, /pid file objs\/srs\.pid from the default/);
  const stop = await h.runSrsAsync(['-s', 'stop', '-c', file], { cwd: dir });
  assert.equal(stop.code, 0, stop.output);
  await srs2.waitForExit();
  // a config that cannot be read at all, and nothing at the default: status unknown (LSB 4)
  const unknown = await h.runSrsAsync(['-s', 'status', '-c', path.join(dir, 'nope.conf')], { cwd: dir });
  assert.equal(unknown.code, 4, unknown.output);
  assert.match(unknown.stdout, /unknown: the config cannot be read/);
});

test('records die with their process: .reload after a quit, a dead writer\'s records swept by readers', async (t) => {
  const s = await startServer(t);
  const reload = await h.runSrsAsync(['-s', 'reload', '-c', s.file], { cwd: s.dir });
  assert.equal(reload.code, 0, reload.output);
  assert.ok(fs.existsSync(`${s.pidFile}.reload`), 'the reload left its record while the server runs');
  process.kill(s.srs.pid, 'SIGTERM');
  await s.srs.waitForExit();
  assert.deepEqual(fs.readdirSync(s.dir).filter((f) => f.startsWith('srs.pid')), [], 'nothing left next to the pid file');

  // a killed writer: its records (and a fallback in the temp dir) go at the next reader
  const dead = deadPid();
  fs.writeFileSync(`${s.pidFile}.reload`, JSON.stringify({ ok: true, pid: dead, started_at: 0 }));
  fs.writeFileSync(`${s.pidFile}.upgrade`, JSON.stringify({ ok: true, old_pid: dead, new_pid: deadPid(), started_at: 0 }));
  const fallback = pidfile.fallbackRecordPath('reload', dead);
  fs.writeFileSync(fallback, JSON.stringify({ ok: true, pid: dead, started_at: 0 }));
  fs.writeFileSync(`${s.pidFile}.oldbin`, `${dead}\n`);
  // one that names a live process stays
  const live = pidfile.fallbackRecordPath('upgrade', process.pid);
  fs.writeFileSync(live, JSON.stringify({ ok: true, old_pid: dead, new_pid: process.pid, started_at: 0 }));
  t.after(() => fs.rmSync(live, { force: true }));
  const status = await h.runSrsAsync(['-s', 'status', '-c', s.file], { cwd: s.dir });
  assert.equal(status.code, 3, status.output);
  assert.deepEqual(fs.readdirSync(s.dir).filter((f) => f.startsWith('srs.pid')), [], 'the dead writer\'s records are gone');
  assert.equal(fs.existsSync(fallback), false, 'and its fallback');
  assert.ok(fs.existsSync(live), 'a record naming a live process stays');
});

test('removeRecords: a writer removes what names it alone; an upgrade\'s success stays while its new process runs', () => {
  const dir = h.tmpdir('srs-records-');
  try {
    const pidPath = path.join(dir, 'srs.pid');
    const dead = deadPid();
    pidfile.writeRecord(pidPath, 'reload', { ok: true, pid: process.pid, started_at: 1 });
    pidfile.writeRecord(pidPath, 'upgrade', { ok: true, old_pid: dead, new_pid: process.pid, started_at: 1 }, dead);
    pidfile.removeRecords(pidPath, dead);
    assert.ok(fs.existsSync(`${pidPath}.upgrade`), 'the old process leaves the success that names a live new one');
    assert.ok(fs.existsSync(`${pidPath}.reload`), 'and records that are not its own');
    pidfile.removeRecords(pidPath, process.pid);
    assert.deepEqual(fs.readdirSync(dir), [], 'the new process\'s exit takes both');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Run `script` (node, with pidfile.js as `P`) in a private mount namespace where `ro` directories
 * are read-only bind mounts of themselves.
 */
function inReadOnlyNamespace(ro, script, env = {}) {
  const mounts = ro.map((d) => `mount --bind -o ro '${d}' '${d}'`).join(' && ');
  const js = `const P = require(${JSON.stringify(path.join(h.ROOT, 'dist/lifecycle/pidfile.js'))}); ${script}`;
  return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${mounts} && exec "$0" -e "$1"`, process.execPath, js], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test('writeRecord: a pid file directory that cannot be written sends the record to the fallback, where readers find it', () => {
  const dir = h.tmpdir('srs-ro-');
  const tmp = h.tmpdir('srs-rotmp-');
  try {
    const pidPath = path.join(dir, 'srs.pid');
    const r = inReadOnlyNamespace(
      [dir],
      `const where = P.writeRecord(${JSON.stringify(pidPath)}, 'reload', { ok: true, pid: process.pid, started_at: 5 });
       process.stdout.write(JSON.stringify({ where, pid: process.pid, read: P.readRecords(${JSON.stringify(pidPath)}, 'reload', process.pid) }));`,
      { TMPDIR: tmp },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.where, path.join(tmp, `srs.${out.pid}.reload`));
    assert.deepEqual(out.read, [{ ok: true, pid: out.pid, started_at: 5 }]);
    // both unwritable: the writer says so (thrown), it does not pretend
    const both = inReadOnlyNamespace([dir, tmp], `try { P.writeRecord(${JSON.stringify(pidPath)}, 'reload', { pid: 1 }); } catch (e) { process.stdout.write(e.code); }`, { TMPDIR: tmp });
    assert.equal(both.stdout, 'EROFS', both.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('pid file directory and temp dir read-only after the start: -s reload says at once that its outcome cannot be known', async (t) => {
  const dir = h.tmpdir('srs-rorel-');
  const tmp = h.tmpdir('srs-rorel-tmp-');
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api });
  // in a private mount namespace, so that only this server sees its directories read-only
  const srs = h.startSrs(['-c', file], {
    cwd: dir,
    env: { TMPDIR: tmp },
    command: 'unshare',
    prefix: ['-m', '--propagation', 'private', 'sh', '-c', 'exec "$@"', 'sh'],
  });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid \d+/);
  const ro = spawnSync('nsenter', ['-t', String(srs.pid), '-m', 'sh', '-c', `mount --bind -o ro '${dir}' '${dir}' && mount --bind -o ro '${tmp}' '${tmp}'`], { encoding: 'utf8' });
  assert.equal(ro.status, 0, ro.stderr);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('srs_log_level trace;', 'srs_log_level warn;'));
  const t0 = Date.now();
  const r = await h.run('nsenter', ['-t', String(srs.pid), '-m', h.SRS, '-s', 'reload', '--timeout', '30', '-c', file], { cwd: dir, env: { TMPDIR: tmp } });
  const ms = Date.now() - t0;
  assert.equal(r.code, 1, r.output);
  assert.match(r.stderr, new RegExp(`sent SIGHUP to pid ${srs.pid}, but the reload's outcome cannot be known here: neither .* nor .* is writable`));
  assert.ok(ms < 10000, `answered in ${ms} ms, not at its 30 s timeout`);
  // the reload itself happened
  await srs.waitForLine(/reload ok: applied .*srs_log_level|could not write the reload status file/);
});

test('an upgrade, then the old process killed: the new process removes the .oldbin left behind', async (t) => {
  const dir = h.tmpdir('srs-oldbin-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, daemon: true, tank: 'file', extra: 'disable_daemon_for_docker off;\ngrace_final_wait 60000;\ngrace_start_wait 0;' });
  const start = await h.runSrsAsync(['-c', file], { cwd: dir });
  assert.equal(start.code, 0, start.output);
  const pidFile = path.join(dir, 'srs.pid');
  const old = h.track(Number(fs.readFileSync(pidFile, 'utf8')));
  t.after(() => h.killPid(old));
  // a connection keeps the old process draining (grace_final_wait is long): it still runs when killed
  const net = require('node:net');
  const sock = net.connect({ port: rtmp, host: '127.0.0.1' });
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  t.after(() => sock.destroy());
  const up = await h.runSrsAsync(['-s', 'upgrade', '-c', file], { cwd: dir });
  assert.equal(up.code, 0, up.output);
  const next = h.track(Number(/upgraded: pid (\d+)/.exec(up.stdout)[1]));
  t.after(() => h.killPid(next));
  assert.ok(fs.existsSync(`${pidFile}.oldbin`), 'the draining old process answers to .oldbin');
  assert.ok(!h.pidGone(old), `old pid ${old} still drains when it is killed`);
  h.killPid(old, 'SIGKILL');
  await h.waitFor(`pid ${old} to die`, () => h.pidGone(old));
  await h.waitFor('the new process to remove the .oldbin its killed parent left', () => !fs.existsSync(`${pidFile}.oldbin`), 5000);
  assert.ok(fs.existsSync(`${pidFile}.upgrade`), 'the upgrade\'s record stays while the new process runs');
  const stop = await h.runSrsAsync(['-s', 'stop', '-c', file], { cwd: dir });
  assert.equal(stop.code, 0, stop.output);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('srs.pid')), [], 'no record outlives the processes it names');
});

test('a refused upgrade, then a quit: no .upgrade left', async (t) => {
  const s = await startServer(t, 'asprocess on;');
  const up = await h.runSrsAsync(['-s', 'upgrade', '-c', s.file], { cwd: s.dir });
  assert.equal(up.code, 1, up.output);
  assert.match(up.stderr, /upgrade refused by pid/);
  assert.ok(fs.existsSync(`${s.pidFile}.upgrade`));
  process.kill(s.srs.pid, 'SIGQUIT');
  await s.srs.waitForExit(20000);
  assert.deepEqual(fs.readdirSync(s.dir).filter((f) => f.startsWith('srs.pid')), []);
});

test('the config now names another pid file (edited since the start): -s finds the server running that config through the kernel', async (t) => {
  const s = await startServer(t);
  const moved = path.join(s.dir, 'elsewhere', 'srs.pid');
  fs.writeFileSync(s.file, fs.readFileSync(s.file, 'utf8').replace(`pid ${s.pidFile};`, `pid ${moved};`));
  const status = await h.runSrsAsync(['-s', 'status', '-c', 'srs.conf'], { cwd: s.dir });
  assert.equal(status.code, 0, status.output);
  assert.match(status.stdout, new RegExp(`running, pid ${s.srs.pid} \\(srs\\.pid\\)`));
  assert.match(status.stderr, new RegExp(`elsewhere/srs\\.pid is not held, but pid ${s.srs.pid} runs srs\\.conf and holds srs\\.pid: using that`));
  // and broken as well
  fs.writeFileSync(s.file, `${fs.readFileSync(s.file, 'utf8')}\nmax_connections zero;\n`);
  const stop = await h.runSrsAsync(['-s', 'stop', '-c', s.file], { cwd: s.dir });
  assert.equal(stop.code, 0, stop.output);
  assert.match(stop.stdout, new RegExp(`pid ${s.srs.pid} quit \\(SIGTERM\\)`));
  await s.srs.waitForExit();
  const none = await h.runSrsAsync(['-s', 'status', '-c', s.file], { cwd: s.dir });
  assert.equal(none.code, 3, none.output);
});
