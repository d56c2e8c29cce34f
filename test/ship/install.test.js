'use strict';
// make install / uninstall, and etc/init.d/srs driving a daemon installed in a temp prefix; the
// installed systemd unit passes `systemd-analyze verify` without a word.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { ROOT, tmpdir, freePorts, waitFor, pidGone, request, track, killPid } = require('../helpers/harness');
const { run, makeInstall, readPid, filesUnder, killAndWait } = require('./support');

test('make install into DESTDIR+PREFIX: a self-contained tree naming PREFIX; make uninstall removes it all', { timeout: 180000 }, async () => {
  const dest = tmpdir('srs-destdir-');
  try {
    await makeInstall({ prefix: '/opt/srs', destdir: dest });
    const top = path.join(dest, 'opt', 'srs');
    for (const f of ['objs/srs', 'dist/main.js', 'build/Release/srs_native.node', 'package.json', 'node_modules/fastify/package.json',
      'node_modules/pino/package.json', 'conf/srs.conf', 'conf/docker.conf', 'etc/init.d/srs', 'usr/lib/systemd/system/srs.service',
      'objs/nginx/html/index.html', '.install-manifest']) {
      assert.ok(fs.existsSync(path.join(top, f)), `installed ${f}`);
    }
    assert.ok(!fs.existsSync(path.join(top, 'node_modules', 'typescript')), 'no dev dependencies');
    assert.ok(!fs.existsSync(path.join(top, 'src')), 'no sources');
    assert.ok(fs.statSync(path.join(top, 'objs/srs')).mode & 0o111, 'launcher executable');
    assert.ok(fs.statSync(path.join(top, 'etc/init.d/srs')).mode & 0o111, 'init script executable');
    const init = fs.readFileSync(path.join(top, 'etc/init.d/srs'), 'utf8');
    assert.match(init, /^ROOT="\/opt\/srs"$/m);
    const unit = fs.readFileSync(path.join(top, 'usr/lib/systemd/system/srs.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/opt\/srs\/objs\/srs -c conf\/srs\.conf$/m);
    assert.match(unit, /^WorkingDirectory=\/opt\/srs$/m);
    assert.doesNotMatch(unit, /\/usr\/local\/srs/);
    for (const f of ['etc/supervisor/srs.conf', 'etc/daemontools/srs/run', 'etc/runit/srs/run', 'etc/upstart/srs.conf', 'etc/logrotate.d/srs']) {
      const text = fs.readFileSync(path.join(top, f), 'utf8');
      assert.doesNotMatch(text, /\/usr\/local\/srs/, `${f} names the prefix`);
      assert.match(text, /\/opt\/srs/, `${f} names the prefix`);
    }
    assert.match(fs.readFileSync(path.join(top, 'etc/logrotate.d/srs'), 'utf8'), /^\/opt\/srs\/objs\/srs\.log \{$/m);
    // No installed file names the default root, but the Kubernetes manifest: it describes the
    // container image, whose root is /usr/local/srs whatever the host's PREFIX.
    const naming = await run('grep', ['-rlIF', '/usr/local/srs', '.'], { cwd: top });
    assert.deepEqual(naming.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^\.\//, '')).sort(), ['etc/kubernetes/srs.yaml'], naming.output);
    // The tree runs on its own: version and config test from the prefix.
    const v = await run(path.join(top, 'objs/srs'), ['-v'], { cwd: top });
    assert.equal(v.code, 0, v.output);
    assert.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const t = await run(path.join(top, 'objs/srs'), ['-t', '-c', 'conf/srs.conf'], { cwd: top });
    assert.equal(t.code, 0, t.output);

    const u = await run('make', ['uninstall', 'PREFIX=/opt/srs', `DESTDIR=${dest}`]);
    assert.equal(u.code, 0, u.output);
    assert.match(u.stdout, /srs uninstalled from /);
    assert.ok(!fs.existsSync(top), 'prefix removed');
    assert.deepEqual(filesUnder(dest), [], 'nothing left under DESTDIR');

    const again = await run('make', ['uninstall', 'PREFIX=/opt/srs', `DESTDIR=${dest}`]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /nothing installed there by make install/);
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('in the source tree, etc/init.d/srs finds its root by itself, also through a symlink', { timeout: 180000 }, async () => {
  const dir = tmpdir();
  try {
    const link = path.join(dir, 'srs');
    fs.symlinkSync(path.join(ROOT, 'etc/init.d/srs'), link);
    for (const script of [path.join(ROOT, 'etc/init.d/srs'), link]) {
      const r = await run(script, ['configtest'], { cwd: dir, env: { CONFIG: '', SRS_DEFAULTS: '/nonexistent' } });
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, /configuration conf\/srs\.conf is ok/);
    }
    const bad = await run(link, ['frobnicate'], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^Usage: .*\{start\|stop\|restart/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('etc/init.d/srs from an installed prefix: start, status, reload, rotate, restart, grace, stop, force-stop', { timeout: 180000 }, async (t) => {
  const dir = tmpdir();
  const prefix = path.join(dir, 'srs');
  const [rtmp, api] = await freePorts(2);
  const conf = path.join(dir, 'test.conf');
  // Relative paths: the script runs the server from ROOT, as SRS does.
  const configText = (extra = '') => `
listen ${rtmp};
daemon on;
pid ./objs/srs.pid;
srs_log_tank file;
srs_log_file ./objs/srs.log;
grace_start_wait 100;
grace_final_wait 100;
auto_reload_for_docker off;
${extra}
http_api { enabled on; listen ${api}; }
vhost __defaultVhost__ { }
`;
  fs.writeFileSync(conf, configText());
  const pidFile = path.join(prefix, 'objs', 'srs.pid');
  const logFile = path.join(prefix, 'objs', 'srs.log');
  const init = (args, env = {}) => run(path.join(prefix, 'etc/init.d/srs'), args, { cwd: dir, env: { CONFIG: conf, SRS_DEFAULTS: '/nonexistent', ...env } });
  const startDaemon = async () => {
    const r = await init(['start']);
    assert.equal(r.code, 0, r.output);
    const m = /srs: srs \S+ ready, pid (\d+)/.exec(r.stdout);
    assert.ok(m, r.output);
    const pid = track(Number(m[1]));
    assert.equal(readPid(pidFile), pid, 'the pid file names the daemon when start returns');
    return pid;
  };
  const pids = [];
  try {
    await makeInstall({ prefix });

    await t.test('status when nothing runs: 3, not running', async () => {
      const r = await init(['status']);
      assert.equal(r.code, 3, r.output);
      assert.match(r.stdout, /not running \(no .*objs\/srs\.pid\)/);
    });

    let pid;
    await t.test('start: returns once the daemon serves, exit 0', async () => {
      pid = await startDaemon();
      pids.push(pid);
      assert.notEqual(pid, process.pid);
      const res = await request(api, '/healthz');
      assert.equal(res.status, 200, 'the API answers as soon as start returned');
      const again = await init(['start']);
      assert.equal(again.code, 0, again.output);
      assert.match(again.stdout, new RegExp(`already running, pid ${pid}`));
    });

    await t.test('status: 0, running, pid', async () => {
      const r = await init(['status']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, new RegExp(`running, pid ${pid} \\(objs/srs\\.pid\\)`));
    });

    await t.test('reload: 0 with what was applied; a broken config: 6, refused, old config kept', async () => {
      fs.writeFileSync(conf, configText('max_connections 500;'));
      const ok = await init(['reload']);
      assert.equal(ok.code, 0, ok.output);
      assert.match(ok.stdout, new RegExp(`reloaded pid ${pid}: applied .*max_connections`));

      // A file that does not parse: the running server is still found (its pid file read
      // leniently), judges the file, refuses it, and says why.
      fs.writeFileSync(conf, `${configText('max_connections 500;')}\nlisten ${rtmp}\n`);
      const bad = await init(['reload']);
      assert.equal(bad.code, 6, bad.output);
      assert.match(bad.stderr, new RegExp(`reload refused, pid ${pid} keeps its running config: .*test\\.conf:\\d+`));
      // A valid file the server cannot apply (its new API port is taken): refused by the server.
      const blocker = net.createServer().listen(0, '127.0.0.1');
      await new Promise((resolve) => blocker.once('listening', resolve));
      try {
        fs.writeFileSync(conf, configText('max_connections 500;').replace(`listen ${api};`, `listen 127.0.0.1:${blocker.address().port};`));
        const refused = await init(['reload']);
        assert.equal(refused.code, 6, refused.output);
        assert.match(refused.stderr, new RegExp(`reload refused, pid ${pid} keeps its running config: .*EADDRINUSE`));
      } finally {
        blocker.close();
      }
      assert.equal((await request(api, '/healthz')).status, 200, 'still serving on the old API port');
      assert.equal(readPid(pidFile), pid);
      fs.writeFileSync(conf, configText());
    });

    await t.test('rotate: after the log is renamed, new lines go to a new srs.log', async () => {
      await waitFor('a log line', () => fs.existsSync(logFile) && fs.statSync(logFile).size > 0);
      fs.renameSync(logFile, `${logFile}.1`);
      const r = await init(['rotate']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, new RegExp(`sent SIGUSR1 to pid ${pid}`));
      await waitFor('a new srs.log with the reopen line', () => fs.existsSync(logFile) && /log file reopened/.test(fs.readFileSync(logFile, 'utf8')));
      await request(api, '/api/v1/versions');
      assert.doesNotMatch(fs.readFileSync(`${logFile}.1`, 'utf8'), /log file reopened/, 'the renamed file gets nothing new');
    });

    await t.test('restart: the old pid is gone, a new one serves', async () => {
      const r = await init(['restart']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, new RegExp(`pid ${pid} quit \\(SIGTERM\\)`));
      const m = /ready, pid (\d+)/.exec(r.stdout);
      assert.ok(m, r.output);
      assert.ok(pidGone(pid));
      pid = track(Number(m[1]));
      pids.push(pid);
      assert.notEqual(pid, pids[0]);
      assert.equal((await request(api, '/healthz')).status, 200);
    });

    await t.test('grace: waits for an open connection to close, then 0', async () => {
      const sock = net.connect({ port: rtmp, host: '127.0.0.1' });
      await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      sock.on('error', () => {});
      const grace = init(['grace']);
      await waitFor('the drain to wait for our connection', () => /wait for 1 conns to quit/.test(fs.readFileSync(logFile, 'utf8')), 15000);
      assert.ok(!pidGone(pid), 'still draining while the connection is open');
      sock.destroy();
      const r = await grace;
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, new RegExp(`pid ${pid} quit \\(SIGQUIT\\)`));
      assert.ok(pidGone(pid));
      const s = await init(['status']);
      assert.equal(s.code, 3, s.output);
    });

    await t.test('stop: SIGTERM, waits for the pid, 0; stop again: 0, not running', async () => {
      pid = await startDaemon();
      pids.push(pid);
      const r = await init(['stop']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, new RegExp(`pid ${pid} quit \\(SIGTERM\\)`));
      assert.ok(pidGone(pid));
      assert.ok(!fs.existsSync(pidFile), 'pid file removed');
      const again = await init(['stop']);
      assert.equal(again.code, 0, again.output);
      assert.match(again.stdout, /not running/);
    });

    await t.test('force-stop: a server that ignores SIGTERM gets SIGKILL, pid file removed', async () => {
      pid = await startDaemon();
      pids.push(pid);
      killPid(pid, 'SIGSTOP'); // a stopped process acts on no signal but SIGKILL
      const r = await init(['force-stop'], { KILL_TIMEOUT: '1' });
      assert.equal(r.code, 0, r.output);
      assert.match(r.stderr, new RegExp(`pid ${pid} ignored SIGTERM for 1s: SIGKILL`));
      assert.match(r.stdout, new RegExp(`pid ${pid} killed`));
      assert.ok(pidGone(pid));
      const s = await init(['status']);
      assert.equal(s.code, 3, s.output);
    });

    await t.test('upgrade: returns once a new process serves; the old one drains and goes; stop ends it', async () => {
      pid = await startDaemon();
      pids.push(pid);
      const r = await init(['upgrade']);
      assert.equal(r.code, 0, r.output);
      const m = /upgraded: pid (\d+) serves now; pid (\d+) drains and exits/.exec(r.stdout);
      assert.ok(m, r.output);
      const now = track(Number(m[1]));
      pids.push(now);
      assert.equal(Number(m[2]), pid);
      assert.notEqual(now, pid);
      assert.equal(readPid(pidFile), now, 'the new process holds the pid file');
      await waitFor(`old pid ${pid} to drain and exit`, () => pidGone(pid), 20000);
      assert.equal((await init(['status'])).code, 0);
      assert.equal((await request(api, '/healthz')).status, 200);
      const stop = await init(['stop']);
      assert.equal(stop.code, 0, stop.output);
      assert.equal((await init(['status'])).code, 3);
    });

    await t.test('a config broken on disk while srs runs: status, rotate, restart (refused), grace, stop, force-stop, srs -s stop still reach it', async () => {
      const broken = configText('max_connections zero;');
      const startThenBreak = async () => {
        fs.writeFileSync(conf, configText());
        pid = await startDaemon();
        pids.push(pid);
        fs.writeFileSync(conf, broken);
      };
      await startThenBreak();
      const st = await init(['status']);
      assert.equal(st.code, 0, st.output);
      assert.match(st.stdout, new RegExp(`running, pid ${pid}`));
      const rot = await init(['rotate']);
      assert.equal(rot.code, 0, rot.output);
      assert.match(rot.stdout, new RegExp(`sent SIGUSR1 to pid ${pid}`));
      // a restart would stop a working server and start nothing: refused, the server untouched
      const rs = await init(['restart']);
      assert.equal(rs.code, 6, rs.output);
      assert.match(rs.stderr, /test\.conf:\d+:\d+: .*max_connections/);
      assert.match(rs.stderr, /restart refused: .* does not load; a running srs keeps running/);
      assert.ok(!pidGone(pid), 'the running server was left alone');
      const g = await init(['grace']);
      assert.equal(g.code, 0, g.output);
      assert.match(g.stdout, new RegExp(`pid ${pid} quit \\(SIGQUIT\\)`));
      assert.ok(pidGone(pid));
      const st3 = await init(['status']);
      assert.equal(st3.code, 3, st3.output);
      const again = await init(['grace']);
      assert.equal(again.code, 0, again.output);
      assert.match(again.stdout, /not running/);

      await startThenBreak();
      const sp = await init(['stop']);
      assert.equal(sp.code, 0, sp.output);
      assert.match(sp.stdout, new RegExp(`pid ${pid} quit \\(SIGTERM\\)`));
      assert.ok(pidGone(pid));

      await startThenBreak();
      killPid(pid, 'SIGSTOP');
      const fs1 = await init(['force-stop'], { KILL_TIMEOUT: '1' });
      assert.equal(fs1.code, 0, fs1.output);
      assert.match(fs1.stdout, new RegExp(`pid ${pid} killed`));
      assert.ok(pidGone(pid));
      assert.equal((await init(['status'])).code, 3);
      assert.deepEqual(filesUnder(path.join(prefix, 'objs')).filter((f) => f.startsWith('srs.pid')), [], 'the killed server\'s pid file and records are gone');

      await startThenBreak();
      const direct = await run(path.join(prefix, 'objs/srs'), ['-s', 'stop', '-c', conf], { cwd: prefix });
      assert.equal(direct.code, 0, direct.output);
      assert.match(direct.stdout, new RegExp(`pid ${pid} quit \\(SIGTERM\\)`));
      fs.writeFileSync(conf, configText());
    });

    await t.test('reload, rotate when not running: 7; start with a broken config: 6 and the reason', async () => {
      for (const action of ['reload', 'rotate']) {
        const r = await init([action]);
        assert.equal(r.code, 7, `${action}: ${r.output}`);
        assert.match(r.stderr, /not running: no pid file/);
      }
      fs.writeFileSync(conf, `listen ${rtmp}\n`);
      const r = await init(['start']);
      assert.equal(r.code, 6, r.output);
      assert.match(r.stderr, /test\.conf:1/);
      const s = await init(['status']);
      assert.equal(s.code, 3, `status finds the pid file of a config that does not parse: ${s.output}`);
      const gone = await init(['status'], { CONFIG: path.join(dir, 'missing.conf') });
      assert.equal(gone.code, 4, `a config that cannot be read at all, nothing at the default: unknown: ${gone.output}`);
      fs.writeFileSync(conf, configText());
      assert.equal((await init(['status'])).code, 3);
    });

    await t.test('the installed unit passes systemd-analyze verify silently', async () => {
      const unit = path.join(prefix, 'usr/lib/systemd/system/srs.service');
      const r = await run('systemd-analyze', ['verify', unit], { cwd: dir });
      assert.equal(r.code, 0, r.output);
      assert.equal(r.output, '', `systemd-analyze verify printed:\n${r.output}`);
    });

    await t.test('make uninstall: only the logs stay, and are listed; no pid file or record of a server that is gone', async () => {
      // what a killed server leaves (make uninstall removes it: no process holds its pid file)
      fs.writeFileSync(pidFile, '999999\n');
      fs.writeFileSync(`${pidFile}.reload`, JSON.stringify({ ok: true, pid: 999999, started_at: 0 }));
      fs.writeFileSync(`${pidFile}.oldbin`, '999998\n');
      const u = await run('make', ['uninstall', `PREFIX=${prefix}`]);
      assert.equal(u.code, 0, u.output);
      const left = filesUnder(prefix);
      assert.deepEqual(left, ['objs/srs.log', 'objs/srs.log.1']);
      for (const f of left) assert.match(u.stdout, new RegExp(`^  ${f.replace(/\./g, '\\.')}$`, 'm'));
    });
  } finally {
    for (const p of pids) await killAndWait(p);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
