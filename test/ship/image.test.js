'use strict';
// The Dockerfile's image for real, without a Docker engine: scripts/build-image-rootfs.js builds
// it as a directory tree (Debian bookworm + the host's node 20 as node:20-bookworm-slim, then the
// runtime stage step by step), and systemd-nspawn runs its CMD as the container's PID 1, as the
// image's USER, in its WORKDIR, on the host's network (traffic stays on 127.0.0.1), with a
// throwaway writable layer (--volatile=overlay) like a container's. What Docker and Kubernetes do
// to a container is done here the same way: a ConfigMap-style config directory bind-mounted over
// the config's directory and updated by a `..data` symlink swap, and signals sent from outside
// to the container's PID 1 (`docker kill`, the kubelet's stop). The config is the image's own
// conf/docker.conf with free ports and `daemon on`. Needs root and systemd-nspawn
// (scripts/ci-systemd-setup.sh installs it and builds the base rootfs).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { ROOT, tmpdir, freePorts, waitFor, request, canConnect, track, childPidsOf, pidGone } = require('../helpers/harness');
const { run, killAndWait } = require('./support');
const { parseDockerfile, imageConfig, buildImage, BuildError } = require('../../scripts/build-image-rootfs');
const { loadConfig } = require(path.join(ROOT, 'dist', 'config', 'load'));

const BASE = process.env.SRS_TEST_ROOTFS || '/var/cache/srs-test-rootfs';
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = process.getuid?.() !== 0
  ? 'needs root (systemd-nspawn, chroot)'
  : !has('systemd-nspawn') && !has('apt-get')
    ? 'systemd-nspawn is missing and cannot be installed here (scripts/ci-systemd-setup.sh)'
    : false;

/** The Dockerfile's runtime config (CMD, USER, WORKDIR, EXPOSE): the test reads, never repeats, them. */
const image = imageConfig(parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')));

/** The status-file fields of a process: NSpid, Uid, ... */
function status(pid) {
  try {
    return Object.fromEntries(fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').filter(Boolean).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim().split(/\s+/)];
    }));
  } catch {
    return null;
  }
}

/** The container's PID 1 seen from the host: nspawn's child whose pid in its namespace is 1,
 * once it has exec'd the image's CMD (before that it is nspawn's own fork). */
function containerPid1(nspawnPid) {
  for (const kid of childPidsOf(nspawnPid)) {
    const st = status(kid);
    if (!st || st.NSpid?.at(-1) !== '1') continue;
    try {
      if (fs.readFileSync(`/proc/${kid}/cmdline`, 'utf8').includes(image.cmd[0].replace(/^\.\//, ''))) return kid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/**
 * A ConfigMap volume as the kubelet writes it: the files in a timestamped `..<ts>` directory,
 * `..data` pointing at it, and each key a symlink through `..data`. An update writes a new
 * directory, then renames a new `..data_tmp` symlink over `..data` (atomic), then removes the old.
 */
function configMapVolume(dir) {
  let version = 0;
  let current = null;
  const write = (files) => {
    const next = `..2026_11_30_12_00_00.${++version}`;
    fs.mkdirSync(path.join(dir, next));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, next, name), text);
    fs.symlinkSync(next, path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    for (const name of Object.keys(files)) {
      if (!fs.existsSync(path.join(dir, name))) fs.symlinkSync(path.join('..data', name), path.join(dir, name));
    }
    if (current) fs.rmSync(path.join(dir, current), { recursive: true, force: true });
    current = next;
  };
  fs.mkdirSync(dir, { recursive: true });
  return { write };
}

test('build-image-rootfs reads a Dockerfile as docker does, and refuses what it cannot follow', () => {
  const stages = parseDockerfile([
    '# comment', 'FROM node:20-bookworm AS build', 'RUN npm ci && \\', '    make install DESTDIR=/out PREFIX=/opt/srs',
    'FROM node:20-bookworm-slim', 'COPY --from=build /out/opt/srs /opt/srs', 'WORKDIR /opt', 'WORKDIR srs', 'ENV A=1',
    'USER node', 'EXPOSE 1935 1985', 'CMD ["./objs/srs", "-c", "conf/x.conf"]', '',
  ].join('\n'));
  assert.deepEqual(stages.map((s) => [s.from, s.name]), [['node:20-bookworm', 'build'], ['node:20-bookworm-slim', null]]);
  assert.equal(stages[0].instructions[0].args, 'npm ci &&  make install DESTDIR=/out PREFIX=/opt/srs');
  assert.deepEqual(imageConfig(stages), { from: 'node:20-bookworm-slim', user: 'node', workdir: '/opt/srs', cmd: ['./objs/srs', '-c', 'conf/x.conf'], env: { A: '1' }, expose: [1935, 1985], labels: {} });

  // refused before anything is built (the base does not even exist here), exit code 3
  const dir = tmpdir('srs-dockerfile-');
  try {
    const attempt = (text) => {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), text);
      return () => buildImage({ out: path.join(dir, 'out'), base: path.join(dir, 'no-base'), dockerfile: path.join(dir, 'Dockerfile') });
    };
    const refused = (re) => (e) => e instanceof BuildError && e.exitCode === 3 && re.test(e.message);
    assert.throws(attempt('FROM node:20-bookworm-slim\nHEALTHCHECK CMD true\nCMD ["x"]\n'), refused(/Dockerfile:2: .* does not know HEALTHCHECK/));
    const other = Number(process.versions.node.split('.')[0]) + 1;
    assert.throws(attempt(`FROM node:${other}-bookworm-slim\nCMD ["x"]\n`), refused(new RegExp(`wants node ${other}; this host's node is ${process.versions.node}`)));
    assert.throws(attempt('FROM debian:bookworm\nCMD ["x"]\n'), refused(/only node:<major>-<debian>\[-slim\] bases/));
    assert.equal(fs.existsSync(path.join(dir, 'out')), false, 'nothing built');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the image under systemd-nspawn: srs as PID 1, daemon on, serves, ConfigMap reload, SIGQUIT drain, SIGTERM', { skip, timeout: 600000 }, async (t) => {
  if (!fs.existsSync(path.join(BASE, '.srs-rootfs-complete')) || !has('systemd-nspawn')) {
    const setup = await run(path.join(ROOT, 'scripts/ci-systemd-setup.sh'), [BASE], { timeoutMs: 540000 });
    assert.equal(setup.code, 0, `scripts/ci-systemd-setup.sh failed:\n${setup.output.slice(-3000)}`);
  }
  const dir = tmpdir('srs-image-');
  const containers = [];
  try {
    const { rootfs, config: built } = buildImage({ out: path.join(dir, 'image'), base: BASE });
    const inImage = (p) => path.join(rootfs, path.posix.resolve(image.workdir, p));
    // CMD is `./objs/srs -c <config>`: the volume goes over the config's directory
    const confArg = image.cmd[image.cmd.indexOf('-c') + 1];
    assert.ok(confArg, `the Dockerfile's CMD names a config with -c: ${JSON.stringify(image.cmd)}`);
    const confMount = path.posix.dirname(path.posix.resolve(image.workdir, confArg));
    const confName = path.posix.basename(confArg);
    const shipped = fs.readFileSync(inImage(confArg), 'utf8');

    await t.test('the tree is the Dockerfile\'s image: node 20, the USER, WORKDIR, CMD, EXPOSE', async () => {
      assert.deepEqual(built, image, 'the builder followed the same Dockerfile');
      const major = /^node:(\d+)-/.exec(image.from)[1];
      const v = spawnSync('chroot', [rootfs, '/usr/local/bin/node', '-v'], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.match(v.stdout, new RegExp(`^v${major}\\.`));
      const passwd = fs.readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8');
      const user = new RegExp(`^${image.user}:x:(\\d+):(\\d+):`, 'm').exec(passwd);
      assert.ok(user, `user ${image.user} in the image's /etc/passwd`);
      assert.ok(fs.statSync(path.join(rootfs, image.workdir)).isDirectory());
      fs.accessSync(inImage(image.cmd[0]), fs.constants.X_OK);
      assert.equal(fs.statSync(inImage('objs')).uid, Number(user[1]), 'objs/ belongs to the USER (pid file, reload status)');
      // the ports the image's config listens on are the ones it EXPOSEs
      const c = loadConfig({ file: inImage(confArg), envOnly: false, env: {}, cwd: rootfs }).config;
      assert.deepEqual([c.listen[0].port, c.httpApi.listen.port, c.httpServer.listen.port].sort(), [...image.expose].sort());
    });

    /** The image's config with free ports (the host network is shared) and `daemon on`. */
    const configText = ({ rtmp, api, http }, extra = '') => {
      const text = shipped
        .replace(/^listen\s+\d+;/m, `listen ${rtmp};`)
        .replace(/(http_api \{[^}]*listen\s+)\d+;/, `$1${api};`)
        .replace(/(http_server \{[^}]*listen\s+)\d+;/, `$1${http};`)
        .replace(/^daemon\s+off;/m, 'daemon on;');
      assert.match(text, /^daemon on;/m, 'the image\'s config has a daemon directive to turn on');
      return `${text}\n${extra}`;
    };

    /** `docker run` of the image: CMD as PID 1, USER, WORKDIR, ENV, the config volume. */
    const runContainer = async (volume) => {
      const name = `srs-img-${process.pid}-${containers.length}`;
      const cgroups = ['systemd', 'unified'].map((h) => `/sys/fs/cgroup/${h}/${name}`).filter((c) => fs.existsSync(path.dirname(c)));
      const args = [`-D ${rootfs}`, '--register=no', '--keep-unit', '--console=pipe', `-M ${name}`, '--volatile=overlay',
        // docker sets no NOTIFY_SOCKET; nspawn does (an empty value is none for sd_notify)
        '--setenv=NOTIFY_SOCKET=',
        ...Object.entries(image.env).map(([k, v]) => `'--setenv=${k}=${v}'`),
        `--user=${image.user}`, `--chdir=${image.workdir}`, `--bind=${volume}:${confMount}`, '--', ...image.cmd.map((a) => `'${a}'`)];
      // nspawn from its own sub-cgroups, so it leaves nothing in the host's cgroup roots
      const script = [...cgroups.map((c) => `mkdir -p ${c} && echo $$ > ${c}/cgroup.procs`), `exec systemd-nspawn ${args.join(' ')}`].join('\n');
      const nspawn = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      track(nspawn.pid);
      const c = { name, cgroups, nspawn, output: '', pid1: null };
      containers.push(c);
      nspawn.stdout.on('data', (d) => (c.output += d));
      nspawn.stderr.on('data', (d) => (c.output += d));
      c.exited = new Promise((resolve) => nspawn.once('exit', (code, signal) => resolve({ code, signal })));
      c.waitForLine = (re, ms = 20000) => waitFor(() => `container output matching ${re} (got: ${c.output.slice(-1500)})`, () => re.test(c.output), ms);
      c.pid1 = await waitFor(() => `the container's PID 1 running ${image.cmd.join(' ')} (output: ${c.output.slice(-1500)})`, () => containerPid1(nspawn.pid), 30000);
      return c;
    };
    const exitOf = async (c, ms = 30000) => {
      let timer;
      const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`container ${c.name} did not exit within ${ms} ms; output: ${c.output.slice(-2000)}`)), ms)));
      try {
        return await Promise.race([c.exited, late]);
      } finally {
        clearTimeout(timer);
      }
    };

    const [rtmp, api, http] = await freePorts(3);
    const volumeDir = path.join(dir, 'configmap');
    const volume = configMapVolume(volumeDir);
    volume.write({ [confName]: configText({ rtmp, api, http }) });
    const first = await runContainer(volumeDir);

    await t.test('docker run: srs is PID 1, stays in the foreground with daemon on, serves the API and RTMP', async () => {
      await first.waitForLine(/ready, pid 1\b/);
      assert.deepEqual(status(first.pid1).NSpid.slice(-1), ['1'], 'PID 1 in its namespace');
      const user = new RegExp(`^${image.user}:x:(\\d+):`, 'm').exec(fs.readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8'));
      assert.equal(status(first.pid1).Uid[0], user[1], `runs as ${image.user}`);
      const summary = (await request(api, '/api/v1/summaries')).json.data;
      assert.equal(summary.self.pid, 1);
      assert.equal(summary.self.daemon.daemon, false);
      assert.match(summary.self.daemon.reason, /PID 1/);
      assert.equal((await request(api, '/healthz')).status, 200);
      assert.equal((await request(api, '/readyz')).status, 200);
      assert.equal(first.nspawn.exitCode, null, 'the container still runs: PID 1 did not fork away');
      assert.ok(!pidGone(first.pid1));

      // RTMP: the handshake (C0+C1 -> S0+S1+S2, C2), then the session is held and counted.
      // (Chunk streams and media come with the media-origin issue: test/stream covers them.)
      const rtmpConn = net.connect({ port: rtmp, host: '127.0.0.1' });
      try {
        await new Promise((resolve, reject) => rtmpConn.once('connect', resolve).once('error', reject));
        let got = Buffer.alloc(0);
        rtmpConn.on('data', (d) => (got = Buffer.concat([got, d])));
        const c1 = Buffer.alloc(1536, 7);
        rtmpConn.write(Buffer.concat([Buffer.from([3]), c1]));
        await waitFor(() => `S0+S1+S2 (3073 bytes) from RTMP (got ${got.length})`, () => got.length >= 3073, 10000);
        assert.equal(got[0], 3, 'S0: RTMP version 3');
        assert.deepEqual(got.subarray(1537, 3073), c1, 'S2 echoes C1');
        rtmpConn.write(got.subarray(1, 1537));
        let clients = null;
        const ours = (c) => c.listener === 'rtmp' && String(c.remote).endsWith(`:${rtmpConn.localPort}`);
        await waitFor(() => `our RTMP session in /api/v1/clients (got ${JSON.stringify(clients)})`, async () => (clients = (await request(api, '/api/v1/clients')).json.data.clients).some(ours), 10000, 50);
        assert.equal(rtmpConn.destroyed, false);
      } finally {
        rtmpConn.destroy();
      }
    });

    await t.test('a ConfigMap update (..data swap) reloads: the change shows in /api/v1/summaries', async () => {
      const max = async () => (await request(api, '/api/v1/summaries')).json.data.connections.max;
      assert.notEqual(await max(), 321);
      volume.write({ [confName]: configText({ rtmp, api, http }).replace(/^max_connections\s+\d+;/m, 'max_connections 321;') });
      let seen = null;
      await waitFor(() => `max_connections 321 in /api/v1/summaries (got ${seen}; output: ${first.output.slice(-1000)})`, async () => (seen = await max()) === 321, 20000, 50);
      await first.waitForLine(/reload ok: applied max_connections/);
      assert.equal(status(first.pid1)?.NSpid.at(-1), '1', 'the same PID 1');
    });

    await t.test('SIGQUIT to PID 1 (docker kill -s QUIT): readiness 503 at once, a held connection kept, then exit 0', async () => {
      const held = net.connect({ port: rtmp, host: '127.0.0.1' });
      await new Promise((resolve, reject) => held.once('connect', resolve).once('error', reject));
      let heldClosed = false;
      held.on('error', () => {});
      held.on('close', () => (heldClosed = true));
      process.kill(first.pid1, 'SIGQUIT');
      await waitFor('readiness 503 after SIGQUIT', async () => (await request(api, '/readyz')).status === 503, 2000, 20);
      await first.waitForLine(/listeners closed, draining connections/);
      // the listener accepts what the kernel had queued, then closes (it resets nobody): within 1 s
      await waitFor('the listeners to close', async () => !(await canConnect(rtmp)), 3000, 20);
      await first.waitForLine(/wait for 1 conns to quit/);
      assert.equal(heldClosed, false, 'the held connection stays open during the drain');
      assert.equal(first.nspawn.exitCode, null, 'still draining');
      held.destroy();
      const { code } = await exitOf(first);
      assert.equal(code, 0, first.output.slice(-2000));
      assert.match(first.output, /SIGQUIT: user: start gracefully quit/);
      assert.match(first.output, /graceful quit done \(drained\)/);
    });

    await t.test('SIGTERM to PID 1 (docker stop, the kubelet): exits 0, gracefully (force_grace_quit on)', async () => {
      const second = await runContainer(volumeDir);
      await second.waitForLine(/ready, pid 1\b/);
      assert.equal((await request(api, '/readyz')).status, 200);
      process.kill(second.pid1, 'SIGTERM');
      const { code } = await exitOf(second);
      assert.equal(code, 0, second.output.slice(-2000));
      assert.match(second.output, /SIGTERM with force_grace_quit on: user: start gracefully quit/);
      assert.match(second.output, /graceful quit done/);
      assert.equal(await canConnect(api), false, 'nothing listens once the container is gone');
    });
  } finally {
    for (const c of containers) {
      if (c.nspawn.exitCode === null && c.nspawn.signalCode === null) {
        // the kernel ends a pid namespace with its init: SIGKILL to PID 1 stops the container
        if (c.pid1) await killAndWait(c.pid1);
        await Promise.race([c.exited, new Promise((r) => setTimeout(r, 10000).unref())]);
        await killAndWait(c.nspawn.pid);
      }
      for (const cg of c.cgroups) spawnSync('sh', ['-c', `find ${cg} -depth -type d -exec rmdir {} \\; 2>/dev/null`]);
      fs.rmSync(`/run/systemd/nspawn/propagate/${c.name}`, { recursive: true, force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
