'use strict';
// The installed unit under a real systemd: systemd-nspawn --boot on a cached Debian rootfs
// (scripts/ci-systemd-setup.sh builds it; this test runs it when the rootfs is missing), the
// install tree bind-mounted at /usr/local/srs, the host's node bind-mounted read-only, the host's
// network shared. `systemctl start`, `reload` (good and broken config), `status`, and a graceful
// `stop` while a connection is open. Needs root; skipped otherwise.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { ROOT, tmpdir, freePorts, waitFor, request, track } = require('../helpers/harness');
const { run, makeInstall, childrenOf, killAndWait } = require('./support');

const ROOTFS = process.env.SRS_TEST_ROOTFS || '/var/cache/srs-test-rootfs';
const canRun = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v systemd-nspawn || command -v apt-get']).status === 0;

/** The container's systemd (the nspawn process's child), once nspawn has started it. */
function containerInit(nspawnPid) {
  for (const kid of childrenOf(nspawnPid)) {
    try {
      // nspawn forks an intermediate child first: wait for the one that became systemd
      if (fs.readFileSync(`/proc/${kid}/comm`, 'utf8').trim() === 'systemd') return kid;
    } catch {
      // gone
    }
  }
  return null;
}

test('systemd (nspawn): start, status, reload good and broken, graceful stop with an open connection', { skip: canRun ? false : 'needs root and systemd-nspawn (scripts/ci-systemd-setup.sh)', timeout: 600000 }, async (t) => {
  if (!fs.existsSync(path.join(ROOTFS, '.srs-rootfs-complete'))) {
    const setup = await run(path.join(ROOT, 'scripts/ci-systemd-setup.sh'), [ROOTFS], { timeoutMs: 540000 });
    assert.equal(setup.code, 0, `scripts/ci-systemd-setup.sh failed:\n${setup.output.slice(-3000)}`);
  }
  const dir = tmpdir('srs-nspawn-');
  const tree = path.join(dir, 'dest', 'usr', 'local', 'srs');
  const name = `srs-test-${process.pid}`;
  const cgroups = ['systemd', 'unified'].map((h) => `/sys/fs/cgroup/${h}/${name}`);
  let nspawn = null;
  let conn = null;
  try {
    await makeInstall({ prefix: '/usr/local/srs', destdir: path.join(dir, 'dest') });
    const [rtmp, api] = await freePorts(2);
    const conf = path.join(tree, 'conf', 'srs.conf');
    // The shipped config on free ports (the host's network is shared), short grace waits, and
    // reloads only on `systemctl reload` (in a container auto_reload_for_docker would watch it).
    const base = fs.readFileSync(conf, 'utf8')
      .replace(/^listen\s+1935;/m, `listen ${rtmp};`)
      .replace(/(http_api \{[^}]*listen\s+)1985;/, `$1${api};`)
      .replace(/(http_server \{[^}]*enabled\s+)on;/, '$1off;')
      .replace(/^grace_start_wait\s+\d+;/m, 'grace_start_wait 300;')
      .replace(/^grace_final_wait\s+\d+;/m, 'grace_final_wait 300;')
      .concat('\nauto_reload_for_docker off;\n');
    fs.writeFileSync(conf, base);
    const unit = path.join(tree, 'usr/lib/systemd/system/srs.service');

    // nspawn from its own sub-cgroups, so it leaves nothing in the host's cgroup roots.
    const script = [
      ...cgroups.map((c) => `mkdir -p ${c} && echo $$ > ${c}/cgroup.procs`),
      ['exec systemd-nspawn', `-D ${ROOTFS}`, '--boot', '--register=no', '--keep-unit', '--console=pipe', `-M ${name}`, '--volatile=overlay',
        `--bind-ro=${process.execPath}:/usr/local/bin/node`, `--bind=${tree}:/usr/local/srs`, `--bind-ro=${unit}:/etc/systemd/system/srs.service`].join(' '),
    ].join('\n');
    nspawn = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(nspawn.pid);
    let console = '';
    nspawn.stdout.on('data', (c) => (console += c));
    nspawn.stderr.on('data', (c) => (console += c));
    const init = await waitFor('the container systemd', () => containerInit(nspawn.pid), 30000);
    const sc = (...args) => run('nsenter', ['-t', String(init), '-a', 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', 'systemctl', ...args], { timeoutMs: 60000 });
    await waitFor(`systemd running in the container (console: ${console.slice(-500)})`, async () => {
      const r = await sc('is-system-running');
      return /^(running|degraded)$/m.test(r.stdout);
    }, 60000, 100);

    await t.test('systemctl start: returns once srs notified READY=1', async () => {
      const r = await sc('start', 'srs');
      assert.equal(r.code, 0, `${r.output}\n${(await sc('status', 'srs')).output}`);
      assert.equal((await request(api, '/healthz')).status, 200, 'serving when start returns');
      assert.equal((await sc('is-active', 'srs')).stdout.trim(), 'active');
    });

    const mainPid = async () => Number(/MainPID=(\d+)/.exec((await sc('show', '-p', 'MainPID', 'srs')).stdout)[1]);
    const pid = await mainPid();

    await t.test('systemctl status: 0, active (running), the notified status', async () => {
      const r = await sc('status', '--no-pager', 'srs');
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, /Active: active \(running\)/);
      assert.match(r.stdout, /Status: "serving: rtmp/);
      assert.equal(Number(fs.readFileSync(path.join(tree, 'objs/srs.pid'), 'utf8').trim()), pid, 'MainPID is the pid file\'s pid');
    });

    await t.test('systemctl reload: 0 when applied; non-zero when refused, srs keeps running', async () => {
      fs.writeFileSync(conf, base.replace(/^max_connections\s+\d+;/m, 'max_connections 500;'));
      const ok = await sc('reload', 'srs');
      assert.equal(ok.code, 0, ok.output);
      const record = JSON.parse(fs.readFileSync(path.join(tree, 'objs/srs.pid.reload'), 'utf8'));
      assert.equal(record.ok, true);
      assert.deepEqual(record.applied, ['max_connections']);

      fs.writeFileSync(conf, `${base}\nvhost broken {\n`);
      const bad = await sc('reload', 'srs');
      assert.notEqual(bad.code, 0, bad.output);
      assert.match(bad.stderr, /Job for srs\.service failed/);
      assert.equal((await sc('is-active', 'srs')).stdout.trim(), 'active');
      assert.equal(await mainPid(), pid, 'same process');
      assert.equal((await request(api, '/healthz')).status, 200);
      fs.writeFileSync(conf, base);
    });

    await t.test('systemctl stop with an open connection: graceful (SIGQUIT), waits for the drain', async () => {
      conn = net.connect({ port: rtmp, host: '127.0.0.1' });
      await new Promise((resolve, reject) => conn.once('connect', resolve).once('error', reject));
      conn.on('error', () => {});
      const stop = sc('stop', 'srs');
      const log = path.join(tree, 'objs/srs.log');
      await waitFor('the drain waiting for our connection', () => /wait for 1 conns to quit/.test(fs.readFileSync(log, 'utf8')), 20000);
      assert.equal((await sc('is-active', 'srs')).stdout.trim(), 'deactivating');
      conn.destroy();
      const r = await stop;
      assert.equal(r.code, 0, r.output);
      const text = fs.readFileSync(log, 'utf8');
      assert.match(text, /SIGQUIT: user: start gracefully quit/);
      assert.match(text, /graceful quit done \(drained\)/);
      assert.equal((await sc('is-active', 'srs')).stdout.trim(), 'inactive');
      const result = await sc('show', '-p', 'Result', '-p', 'ExecMainStatus', 'srs');
      assert.match(result.stdout, /Result=success/);
      assert.match(result.stdout, /ExecMainStatus=0/);
    });

    await t.test('zero-downtime upgrade under systemd: MainPID follows the new process (NotifyAccess=all)', async () => {
      const started = await sc('start', 'srs');
      assert.equal(started.code, 0, started.output);
      const pid = await mainPid();
      const kill = await sc('kill', '-s', 'USR2', '--kill-whom=main', 'srs');
      assert.equal(kill.code, 0, kill.output);
      const next = await waitFor('systemd to follow the new main process', async () => {
        const p = await mainPid();
        return p !== pid && p > 0 ? p : null;
      }, 20000);
      assert.equal(Number(fs.readFileSync(path.join(tree, 'objs/srs.pid'), 'utf8').trim()), next, 'the pid file names the new main process');
      const record = JSON.parse(fs.readFileSync(path.join(tree, 'objs/srs.pid.upgrade'), 'utf8'));
      assert.equal(record.ok, true);
      await waitFor('the old process to drain and exit', () => new RegExp(`\\]\\[${pid}\\]\\[\\] graceful quit done \\(drained\\)`).test(fs.readFileSync(path.join(tree, 'objs/srs.log'), 'utf8')), 20000);
      assert.equal((await sc('is-active', 'srs')).stdout.trim(), 'active');
      assert.equal((await request(api, '/healthz')).status, 200);
      const status = await sc('status', '--no-pager', 'srs');
      assert.match(status.stdout, new RegExp(`Main PID: ${next}`));
    });

  } finally {
    conn?.destroy();
    if (nspawn) {
      const exited = new Promise((resolve) => (nspawn.exitCode !== null ? resolve() : nspawn.once('exit', resolve)));
      nspawn.kill('SIGTERM'); // nspawn halts the container cleanly
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15000).unref())]);
      await killAndWait(nspawn.pid);
    }
    for (const c of cgroups) {
      spawnSync('sh', ['-c', `find ${c} -depth -type d -exec rmdir {} \\; 2>/dev/null`]);
    }
    fs.rmSync(`/run/systemd/nspawn/propagate/${name}`, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
