'use strict';
// daemon on: the starter returns 0 only once the daemon serves, or the daemon's own error.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync, spawn } = require('node:child_process');
const h = require('../helpers/harness');
const { decideDaemon, interpretReadiness } = require('../../dist/lifecycle/daemon.js');

const HOST = { inContainer: false, sign: null, detail: "no container sign: cgroup v2 root '0::/' on a host" };
const DOCKER = { inContainer: true, sign: 'dockerenv', detail: '/.dockerenv exists' };
const on = { daemon: true, disableDaemonForDocker: true, asprocess: false };

test('decision: every rule, with its reason', () => {
  assert.deepEqual(decideDaemon({ config: on, container: HOST, env: {}, pid: 100 }).daemon, true);
  assert.match(decideDaemon({ config: { ...on, daemon: false }, container: HOST, env: {}, pid: 100 }).reason, /daemon off/);
  const docker = decideDaemon({ config: on, container: DOCKER, env: {}, pid: 100 });
  assert.equal(docker.daemon, false);
  assert.equal(docker.ignoredInContainer, true, 'the terminal is told');
  assert.equal(decideDaemon({ config: { ...on, daemon: false }, container: DOCKER, env: {}, pid: 100 }).ignoredInContainer, undefined, 'daemon off: nothing was ignored');
  assert.match(docker.reason, /in a container \(dockerenv: \/\.dockerenv exists\), disable_daemon_for_docker on/);
  assert.equal(decideDaemon({ config: { ...on, disableDaemonForDocker: false }, container: DOCKER, env: {}, pid: 100 }).daemon, true);
  const systemd = decideDaemon({ config: on, container: HOST, env: { NOTIFY_SOCKET: '/run/systemd/notify' }, pid: 100 });
  assert.equal(systemd.daemon, false);
  assert.match(systemd.reason, /NOTIFY_SOCKET/);
  const pid1 = decideDaemon({ config: { ...on, disableDaemonForDocker: false }, container: HOST, env: {}, pid: 1 });
  assert.equal(pid1.daemon, false);
  assert.match(pid1.reason, /PID 1/);
  assert.match(decideDaemon({ config: on, container: HOST, env: { SRS_DAEMON_READY_FD: '3' }, pid: 100 }).reason, /running as the daemon/);
});

test('readiness records: ready, error with exit code, exec failure, silent death', () => {
  assert.deepEqual(interpretReadiness('READY srs ready\n', 7, null), { exitCode: 0, pid: 7, message: 'srs ready' });
  const err = interpretReadiness('ERROR 3 conf/x.conf:1:1: bad\n', 7, null);
  assert.equal(err.exitCode, 3);
  assert.equal(err.message, 'conf/x.conf:1:1: bad');
  assert.match(interpretReadiness('Eexecve 2\n', 7, null).message, /execve\(.*\): ENOENT/);
  const silent = interpretReadiness('', 7, '/var/log/srs.log');
  assert.equal(silent.exitCode, 1);
  assert.match(silent.message, /exited before it was ready; see \/var\/log\/srs\.log/);
});

async function daemonConfig(opts = {}) {
  const dir = h.tmpdir('srs-daemon-');
  const [rtmp, api, http] = await h.freePorts(3);
  const file = h.writeConfig(dir, { rtmp, api, http, daemon: true, tank: 'file', extra: 'disable_daemon_for_docker off;', ...opts });
  return { dir, file, rtmp, api, http, pidFile: path.join(dir, 'srs.pid'), log: path.join(dir, 'srs.log') };
}

function daemonPid(pidFile) {
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  h.track(pid);
  return pid;
}

async function stopDaemon(pid) {
  h.killPid(pid, 'SIGTERM');
  await h.waitFor(`daemon pid ${pid} to exit after SIGTERM`, () => h.pidGone(pid));
}

function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after comm: state ppid pgrp session tty_nr ...
  return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]), tty: Number(rest[4]) };
}

test('20 starts in a row: when the starter returns 0, every listener accepts', async () => {
  const c = await daemonConfig();
  for (let i = 0; i < 20; i++) {
    const r = await h.runSrsAsync(['-c', c.file], { cwd: c.dir });
    assert.equal(r.code, 0, `start ${i}: ${r.output}`);
    assert.match(r.stdout, /ready, pid \d+/);
    const pid = daemonPid(c.pidFile);
    for (const port of [c.rtmp, c.api, c.http]) {
      assert.equal(await h.canConnect(port), true, `start ${i}: port ${port} accepts the moment the starter returned`);
    }
    await stopDaemon(pid);
  }
});

test('the daemon: not the starter\'s child, own session but not its leader, no tty, clean fds', async () => {
  const c = await daemonConfig();
  // A marker fd without close-on-exec in the starter: the daemon must not inherit it.
  const marker = path.join(c.dir, 'marker');
  const markerFd = fs.openSync(marker, 'w');
  const starter = spawn(h.SRS, ['-c', c.file], { cwd: c.dir, stdio: ['ignore', 'pipe', 'pipe', markerFd] });
  h.track(starter.pid);
  let out = '';
  starter.stdout.on('data', (d) => (out += d));
  starter.stderr.on('data', (d) => (out += d));
  const code = await new Promise((r) => starter.on('exit', r));
  fs.closeSync(markerFd);
  assert.equal(code, 0, out);
  const pid = daemonPid(c.pidFile);
  try {
    const st = statFields(pid);
    assert.notEqual(st.ppid, starter.pid, 'parent is not the starter');
    assert.notEqual(st.session, pid, 'not a session leader (double fork)');
    assert.notEqual(st.session, statFields(process.pid).session, 'its own session, not ours');
    assert.equal(st.tty, 0, 'no controlling terminal');
    const fds = {};
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        fds[fd] = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        // closed while reading
      }
    }
    assert.equal(fds[0], '/dev/null');
    assert.equal(fds[1], c.log);
    assert.equal(fds[2], c.log);
    assert.ok(!Object.values(fds).includes(marker), `the starter's stray fd leaked into the daemon: ${JSON.stringify(fds)}`);
    // besides sockets, pipes and anon inodes (epoll, eventfd, inotify), only the log and the pid file
    const files = Object.values(fds).filter((t) => t.startsWith('/') && !['/dev/null', c.log, c.pidFile].includes(t));
    assert.deepEqual(files, [], `unexpected open files in the daemon: ${JSON.stringify(fds)}`);
    assert.ok(Object.values(fds).includes(c.pidFile), 'the pid file stays open (its lock is held)');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^SigBlk:\s+0+$/m, 'signal mask cleared');
  } finally {
    await stopDaemon(pid);
  }
});

test('port in use: the starter prints the daemon\'s error, exits 1, and no daemon is left', async () => {
  const running = await daemonConfig();
  assert.equal((await h.runSrsAsync(['-c', running.file], { cwd: running.dir })).code, 0);
  const runningPid = daemonPid(running.pidFile);
  try {
    const c = await daemonConfig({ rtmp: running.rtmp });
    const r = await h.runSrsAsync(['-c', c.file], { cwd: c.dir });
    assert.equal(r.code, 1);
    // the daemon's code travels through the readiness pipe to the starter's terminal line
    assert.match(r.stderr, new RegExp(`^srs: SRS_ERR_BIND rtmp listen 0\\.0\\.0\\.0:${running.rtmp}: address already in use`, 'm'));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(fs.existsSync(c.pidFile), false, 'the failed daemon removed its pid file');
    const mine = spawnSync('pgrep', ['-f', c.file], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    for (const pid of mine) assert.ok(h.pidGone(pid), `a daemon for the failed config is still alive: ${pid}`);
  } finally {
    await stopDaemon(runningPid);
  }
});

test('pid file held: exit 1 naming the pid; kill -9 leaves a stale file that the next start takes over', async () => {
  const c = await daemonConfig();
  assert.equal((await h.runSrsAsync(['-c', c.file], { cwd: c.dir })).code, 0);
  const pid = daemonPid(c.pidFile);
  const [rtmp, api] = await h.freePorts(2);
  const second = h.writeConfig(c.dir, { rtmp, api, daemon: true, tank: 'file', name: 'second.conf', extra: 'disable_daemon_for_docker off;' });
  const r = await h.runSrsAsync(['-c', second], { cwd: c.dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`is locked by a running srs \\(pid ${pid}\\)`));

  h.killPid(pid, 'SIGKILL');
  await h.waitFor(`pid ${pid} to die of SIGKILL`, () => h.pidGone(pid));
  assert.equal(fs.readFileSync(c.pidFile, 'utf8').trim(), String(pid), 'kill -9 leaves the pid file behind');
  const again = await h.runSrsAsync(['-c', c.file], { cwd: c.dir });
  assert.equal(again.code, 0, again.output);
  const pid2 = daemonPid(c.pidFile);
  try {
    assert.notEqual(pid2, pid);
    assert.match(fs.readFileSync(c.log, 'utf8'), new RegExp(`took over a stale pid file: its process is gone.*stale_pid=${pid}`));
  } finally {
    await stopDaemon(pid2);
  }
});

test('a bad config is reported by the starter with exit 3; an unwritable log with exit 1', async () => {
  const c = await daemonConfig();
  const bad = path.join(c.dir, 'bad.conf');
  fs.writeFileSync(bad, 'listen 1935;\ndaemon on;\nsrs_log_level loud;\n');
  const r = await h.runSrsAsync(['-c', bad], { cwd: c.dir });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /^srs: SRS_ERR_CONFIG_VALUE .*bad\.conf:3:\d+: srs_log_level/m);

  fs.mkdirSync(c.log);
  const l = await h.runSrsAsync(['-c', c.file], { cwd: c.dir });
  assert.equal(l.code, 1);
  assert.match(l.stderr, /srs_log_file .*cannot open for append/);
});

test('inside a container (fake /proc/1/cgroup in a private mount namespace), daemon on runs in the foreground', async (t) => {
  const c = await daemonConfig({ extra: '' }); // disable_daemon_for_docker stays on (the default)
  const root = h.tmpdir('srs-root-');
  const fakeCgroup = path.join(c.dir, 'cgroup');
  fs.writeFileSync(fakeCgroup, '12:pids:/docker/0123456789abcdef\n0::/system.slice/docker-0123456789abcdef.scope\n');
  // A root without /.dockerenv (this machine has one), where /proc/1/cgroup is the only sign.
  // It sees the system dirs and the top-level dirs that hold the checkout and the temp dir,
  // wherever CI put them (a clone may live under /check, /builds, ...).
  const top = (p) => path.resolve(p).split(path.sep)[1];
  const bound = [...new Set(['usr', 'etc', 'dev', 'proc', 'tmp', top(h.ROOT), top(c.dir), top(process.execPath)])]
    .filter((d) => d && fs.existsSync(`/${d}`))
    .join(' ');
  const script = (fake) => `
set -e
for d in ${bound}; do mkdir -p ${root}/$d; mount --rbind /$d ${root}/$d; done
for l in bin lib lib64 sbin; do [ -e ${root}/$l ] || ln -s usr/$l ${root}/$l; done
${fake ? `mount --bind ${fakeCgroup} ${root}/proc/1/cgroup` : ''}
exec chroot ${root} ${h.SRS} -c ${c.file}`;
  const env = { ...process.env, NOTIFY_SOCKET: '', KUBERNETES_SERVICE_HOST: '', container: '' };
  delete env.NOTIFY_SOCKET;
  const inContainer = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script(true)], { cwd: c.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  h.track(inContainer.pid);
  t.after(() => h.killPid(inContainer.pid));
  let out = '';
  inContainer.stdout.on('data', (d) => (out += d));
  inContainer.stderr.on('data', (d) => (out += d));
  let exited = null;
  inContainer.on('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
  await h.waitFor(() => `srs to listen in the fake container (${exited ?? 'still running'}; output: ${out})`,
    () => exited !== null || h.canConnect(c.rtmp), 15000);
  assert.equal(exited, null, `the server in the fake container ${exited}; output: ${out}`);
  // the first line is written once the sockets are bound, so it may follow the first accept
  const readLog = () => (fs.existsSync(c.log) ? fs.readFileSync(c.log, 'utf8') : '');
  await h.waitFor(() => `the start line in ${c.log} (log: ${readLog()})`, () => /ready, pid/.test(readLog()));
  assert.match(readLog(), /foreground: in a container \(cgroup: \/proc\/1\/cgroup names docker/);
  await h.waitFor(() => `the terminal to say why daemon on was ignored (output: ${out})`, () => out.includes('srs: daemon on ignored: running in a container (cgroup); staying in the foreground, logs go to '));
  assert.equal(h.pidGone(inContainer.pid), false, 'the command that started it is the server: it did not return');
  const pid = daemonPid(c.pidFile);
  assert.equal(pid, inContainer.pid, 'the server is the process we started (exec), not a daemon');
  await stopDaemon(pid);

  // Control: the same root without the fake cgroup daemonizes.
  fs.rmSync(c.log);
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script(false)], { cwd: c.dir, env, encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const daemon = daemonPid(c.pidFile);
  assert.match(fs.readFileSync(c.log, 'utf8'), /daemon: daemon on, not in a container/);
  await stopDaemon(daemon);
});

test('asprocess on: quits when the parent goes away; refused together with daemon on', async (t) => {
  const dir = h.tmpdir('srs-asprocess-');
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, extra: 'asprocess on;' });
  // a parent that starts srs and then is killed
  const parent = spawn(process.execPath, ['-e', `
    const c = require('child_process').spawn(${JSON.stringify(h.SRS)}, ['-c', ${JSON.stringify(file)}], { stdio: ['ignore', 'inherit', 'inherit'] });
    console.log('CHILD ' + c.pid);
    setInterval(() => {}, 1000);
  `], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  h.track(parent.pid);
  t.after(() => h.killPid(parent.pid));
  let out = '';
  parent.stdout.on('data', (d) => (out += d));
  const child = Number((await h.waitFor('the child pid', () => /CHILD (\d+)/.exec(out)))[1]);
  h.track(child);
  await h.waitFor('srs ready under its parent', () => /ready, pid/.test(out));
  h.killPid(parent.pid, 'SIGKILL');
  await h.waitFor(`srs pid ${child} to quit after its parent died`, () => h.pidGone(child), 5000);
  assert.match(out, /asprocess: parent process is gone/);

  const both = path.join(dir, 'both.conf');
  fs.writeFileSync(both, `listen ${rtmp};\ndaemon on;\nasprocess on;\n`);
  const r = h.runSrs(['-t', '-c', both], { cwd: dir });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /asprocess/);
});

test('daemon on with work_dir: the daemon finds its config relative to where it was started', async () => {
  const c = await daemonConfig();
  const wd = path.join(c.dir, 'wd');
  fs.mkdirSync(wd);
  fs.mkdirSync(path.join(c.dir, 'conf'));
  const rel = 'conf/wd.conf';
  fs.writeFileSync(path.join(c.dir, rel), fs.readFileSync(c.file, 'utf8') + `\nwork_dir ${wd};\n`);
  const r = await h.runSrsAsync(['-c', rel], { cwd: c.dir });
  assert.equal(r.code, 0, r.output);
  const pid = daemonPid(c.pidFile);
  try {
    assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), wd, 'the daemon runs in work_dir');
  } finally {
    await stopDaemon(pid);
  }
});

test('a daemon that dies before it is ready is reported as such by the starter', async () => {
  const c = await daemonConfig();
  // loaded into every node of this run through NODE_OPTIONS, it kills only the daemon (the
  // process that has the readiness fd), before srs's code runs
  const crash = path.join(c.dir, 'crash.js');
  fs.writeFileSync(crash, "if (process.env.SRS_DAEMON_READY_FD) process.kill(process.pid, 'SIGKILL');\n");
  const r = await h.runSrsAsync(['-c', c.file], { cwd: c.dir, env: { NODE_OPTIONS: `--require ${crash}` } });
  assert.equal(r.code, 1, r.output);
  assert.match(r.stderr, new RegExp(`daemon \\(pid \\d+\\) exited before it was ready; see ${c.log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.equal(fs.existsSync(c.pidFile), false);
});

test('a daemon that never reports ready is killed at the deadline, and the starter says so', async () => {
  const { startDaemon } = require('../../dist/lifecycle/daemon.js');
  const dir = h.tmpdir('srs-daemon-');
  const r = await startDaemon({ argv: ['-e', 'setInterval(() => {}, 1000)'], env: process.env, cwd: dir, stdout: null, timeoutMs: 300 });
  h.track(r.pid);
  assert.equal(r.exitCode, 1);
  assert.match(r.message, new RegExp(`daemon \\(pid ${r.pid}\\) did not report ready within 0.3s: killed it`));
  await h.waitFor(`the hung daemon ${r.pid} to be gone`, () => h.pidGone(r.pid), 5000);
});
