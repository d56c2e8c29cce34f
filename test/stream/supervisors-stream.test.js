'use strict';
// A stream through the real supervisors' reload and stop (issue 12): an ffmpeg publisher, ten lean
// RTMP players (every video timestamp, the status events, how the connection ended) and an ffmpeg
// recording over RTMP, on the installed srs run by
//   - supervisord (the shipped etc/supervisor/srs.conf: stopsignal=QUIT), as a plain process;
//   - systemd in systemd-nspawn (the shipped unit: ExecReload `srs -s reload`, KillSignal=SIGQUIT),
//     set up as test/ship/systemd.test.js does.
// The reload (`supervisorctl signal HUP`, `systemctl reload`) is seen by no player (no timestamp
// gap above two frames); the stop is graceful with a live publisher, bounded by grace_max_wait:
// the players go on receiving, then each gets NetStream.Play.UnpublishNotify and a clean close,
// ffprobe reads the recording whole, and srs exits 0.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const { run, makeInstall, readPid, killAndWait, descendants, childrenOf } = require('../ship/support');
const m = require('./support');
const P = require('./players');

const FRAME_MS = 1000 / m.FPS;
const MAX_WAIT = 3000;
const ROOTFS = process.env.SRS_TEST_ROOTFS || '/var/cache/srs-test-rootfs';
const isRoot = process.getuid?.() === 0;

const state = { dir: null, source: null };
test.before(async () => {
  state.dir = h.tmpdir('srs-sup-stream-');
  state.source = await m.makeSource(state.dir);
});
test.after(() => {
  if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true });
});

/**
 * Publish, play, reload, stop, with the assertions on the players. `reload()` resolves once the
 * reload is confirmed; `stop()` resolves with the supervisor's answer once it is done.
 */
async function streamThrough(t, { rtmp, api, reload, stop, log }) {
  const url = `rtmp://127.0.0.1:${rtmp}/live/test`;
  const pub = m.publish(state.source, url);
  t.after(() => pub.kill());
  await h.waitFor(
    () => `the stream live (ffmpeg: ${pub.output.slice(-500)})`,
    async () => ((await h.request(api, '/api/v1/streams').catch(() => null))?.json?.streams ?? []).some((s) => s.name === 'test' && s.publish?.active && s.video),
    30000,
    100,
  );
  const players = [];
  t.after(() => players.forEach((p) => p.close()));
  for (let i = 0; i < 10; i++) players.push(await P.rtmp(rtmp, 'live', 'test'));
  const recFile = path.join(state.dir, `rec-${rtmp}.flv`);
  const rec = m.record(url, recFile, 600);
  t.after(() => rec.kill());
  const progress = async (what, frames = 25, timeoutMs = 15000) => {
    const base = players.map((p) => p.frames());
    await h.waitFor(() => `${what}: every player +${frames} frames (gained ${players.map((p, i) => p.frames() - base[i]).join(',')})`, () => players.every((p, i) => p.frames() >= base[i] + frames), timeoutMs, 20);
  };
  await progress('before the reload');
  await h.waitFor('the recording grows', () => fs.existsSync(recFile) && fs.statSync(recFile).size > 50000, 15000, 50);

  await reload();
  await progress('after the reload');
  assert.ok(players.every((p) => !p.end.closed), 'no player closed by the reload');

  const stopping = stop();
  stopping.catch(() => {});
  await h.waitFor(() => `the graceful quit under way (log: ${log().slice(-800)})`, () => /listeners closed, draining/.test(log()), 15000, 20);
  await progress('during the drain, the publisher still live', 12, MAX_WAIT);
  await h.waitFor(() => `every player closed at the bound (${players.map((p) => JSON.stringify(p.end)).join(' ')})`, () => players.every((p) => p.end.closed), MAX_WAIT + 10000, 20);
  const answer = await stopping;
  await rec.waitExit(15000, 'the ffmpeg recording');
  await pub.waitExit(15000, 'the ffmpeg publisher, closed at the bound');

  const text = log();
  assert.match(text, /drain: __defaultVhost__\/live\/test, 1 publisher, 1\d players/);
  assert.match(text, /graceful quit done \(deadline\)/);
  assert.doesNotMatch(text, /cut \d+ connections/, 'nothing destroyed at the bound');
  for (const [i, p] of players.entries()) {
    assert.equal(p.statuses.at(-1), 'NetStream.Play.UnpublishNotify', `player ${i}: told the stream ended (${p.statuses.join(',')})`);
    assert.ok(p.cleanEnd, `player ${i}: clean close ${JSON.stringify(p.end)}`);
    const gap = P.largestGap(p.timestamps().slice(1));
    assert.ok(gap.gap <= 2 * FRAME_MS + 1, `player ${i}: no timestamp gap above two frames through the reload and the stop: ${JSON.stringify(gap)}`);
  }
  const e = await m.probeErrors(recFile);
  assert.equal(e.code, 0, e.errors);
  assert.equal(e.errors, '', 'ffprobe reads the recording whole');
  return answer;
}

test('supervisord: supervisorctl signal HUP and stop with a stream playing', { skip: !m.exists('supervisord') && 'supervisord not installed', timeout: 240000 }, async (t) => {
  const prefix = path.join(state.dir, 'srs');
  await makeInstall({ prefix });
  const [rtmp, api] = await h.freePorts(2);
  const pidFile = path.join(state.dir, 'supervisord-srs.pid');
  const env = {
    SRS_LISTEN: String(rtmp),
    SRS_HTTP_API_LISTEN: String(api),
    SRS_HTTP_SERVER_ENABLED: 'off',
    SRS_PID: pidFile,
    SRS_GRACE_START_WAIT: '100',
    SRS_GRACE_FINAL_WAIT: '100',
    SRS_GRACE_MAX_WAIT: String(MAX_WAIT),
    SRS_AUTO_RELOAD_FOR_DOCKER: 'off',
  };
  const dir = fs.mkdtempSync(path.join(state.dir, 'supervisord-'));
  const conf = path.join(dir, 'supervisord.conf');
  fs.writeFileSync(conf, `
[unix_http_server]
file=${dir}/supervisor.sock
[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
nodaemon=true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://${dir}/supervisor.sock
[include]
files = ${prefix}/etc/supervisor/srs.conf
`);
  const sup = spawn('supervisord', ['-n', '-c', conf], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  h.track(sup.pid);
  sup.stdout.resume();
  sup.stderr.resume();
  const pids = [];
  t.after(async () => {
    for (const p of [...descendants(sup.pid), ...pids]) h.killPid(p, 'SIGKILL');
    try {
      process.kill(-sup.pid, 'SIGKILL');
    } catch {
      // group gone
    }
    for (const p of pids) await killAndWait(p);
    await killAndWait(sup.pid);
  });
  const ctl = (...args) => run('supervisorctl', ['-c', conf, ...args], { cwd: dir, env });
  const pid = await h.waitFor('srs serving under supervisord', async () => {
    const p = readPid(pidFile);
    if (!p || h.pidGone(p)) return null;
    const r = await h.request(api, '/healthz').catch(() => null);
    return r?.status === 200 ? h.track(p) : null;
  }, 20000);
  pids.push(pid);
  const logFile = path.join(prefix, 'objs', 'srs.supervisor.log');
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');

  const answer = await streamThrough(t, {
    rtmp,
    api,
    log,
    reload: async () => {
      const since = Date.now();
      const hup = await ctl('signal', 'HUP', 'srs');
      assert.equal(hup.code, 0, hup.output);
      await h.waitFor('the reload record of the HUP', () => {
        try {
          const r = JSON.parse(fs.readFileSync(`${pidFile}.reload`, 'utf8'));
          return r.pid === pid && r.started_at >= since && r.ok;
        } catch {
          return false;
        }
      }, 10000);
    },
    stop: () => ctl('stop', 'srs'),
  });
  assert.equal(answer.code, 0, answer.output);
  assert.match(answer.stdout, /srs: stopped/);
  assert.ok(h.pidGone(pid), 'srs exited');
  assert.match((await ctl('status', 'srs')).stdout, /STOPPED/, 'exit 0 is a requested stop, not restarted');
});

/** The container's systemd (the nspawn process's child), once nspawn has started it. */
function containerInit(nspawnPid) {
  for (const kid of childrenOf(nspawnPid)) {
    try {
      if (fs.readFileSync(`/proc/${kid}/comm`, 'utf8').trim() === 'systemd') return kid;
    } catch {
      // gone
    }
  }
  return null;
}

const canNspawn = isRoot && spawnSync('sh', ['-c', 'command -v systemd-nspawn']).status === 0 && fs.existsSync(path.join(ROOTFS, '.srs-rootfs-complete'));

test('systemd (nspawn): systemctl reload and stop with a stream playing', { skip: canNspawn ? false : `needs root, systemd-nspawn and the rootfs ${ROOTFS} (scripts/ci-systemd-setup.sh; test/ship/systemd.test.js builds it)`, timeout: 400000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(state.dir, 'nspawn-'));
  const tree = path.join(dir, 'dest', 'usr', 'local', 'srs');
  const name = `srs-stream-${process.pid}`;
  const cgroups = ['systemd', 'unified'].map((c) => `/sys/fs/cgroup/${c}/${name}`);
  let nspawn = null;
  t.after(async () => {
    if (nspawn) {
      const exited = new Promise((resolve) => (nspawn.exitCode !== null ? resolve() : nspawn.once('exit', resolve)));
      nspawn.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15000).unref())]);
      await killAndWait(nspawn.pid);
    }
    for (const c of cgroups) spawnSync('sh', ['-c', `find ${c} -depth -type d -exec rmdir {} \\; 2>/dev/null`]);
    fs.rmSync(`/run/systemd/nspawn/propagate/${name}`, { recursive: true, force: true });
  });
  await makeInstall({ prefix: '/usr/local/srs', destdir: path.join(dir, 'dest') });
  const [rtmp, api] = await h.freePorts(2);
  const conf = path.join(tree, 'conf', 'srs.conf');
  const base = fs.readFileSync(conf, 'utf8')
    .replace(/^listen\s+1935;/m, `listen ${rtmp};`)
    .replace(/(http_api \{[^}]*listen\s+)1985;/, `$1${api};`)
    .replace(/(http_server \{[^}]*enabled\s+)on;/, '$1off;')
    .replace(/^grace_start_wait\s+\d+;/m, 'grace_start_wait 100;')
    .replace(/^grace_final_wait\s+\d+;/m, 'grace_final_wait 100;')
    .replace(/^grace_max_wait\s+\d+;/m, `grace_max_wait ${MAX_WAIT};`)
    .concat('\nauto_reload_for_docker off;\n');
  assert.match(base, new RegExp(`grace_max_wait ${MAX_WAIT};`), 'the shipped srs.conf has grace_max_wait');
  fs.writeFileSync(conf, base);
  const unit = path.join(tree, 'usr/lib/systemd/system/srs.service');
  const script = [
    ...cgroups.map((c) => `mkdir -p ${c} && echo $$ > ${c}/cgroup.procs`),
    ['exec systemd-nspawn', `-D ${ROOTFS}`, '--boot', '--register=no', '--keep-unit', '--console=pipe', `-M ${name}`, '--volatile=overlay',
      `--bind-ro=${process.execPath}:/usr/local/bin/node`, `--bind=${tree}:/usr/local/srs`, `--bind-ro=${unit}:/etc/systemd/system/srs.service`].join(' '),
  ].join('\n');
  nspawn = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  h.track(nspawn.pid);
  let consoleText = '';
  nspawn.stdout.on('data', (c) => (consoleText += c));
  nspawn.stderr.on('data', (c) => (consoleText += c));
  const init = await h.waitFor('the container systemd', () => containerInit(nspawn.pid), 30000);
  const sc = (...args) => run('nsenter', ['-t', String(init), '-a', 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', 'systemctl', ...args], { timeoutMs: 60000 });
  await h.waitFor(() => `systemd running in the container (console: ${consoleText.slice(-500)})`, async () => /^(running|degraded)$/m.test((await sc('is-system-running')).stdout), 60000, 100);
  const started = await sc('start', 'srs');
  assert.equal(started.code, 0, `${started.output}\n${(await sc('status', 'srs')).output}`);
  const logFile = path.join(tree, 'objs/srs.log');
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');

  await streamThrough(t, {
    rtmp,
    api,
    log,
    reload: async () => {
      // a change that concerns no live session
      fs.writeFileSync(conf, base.replace(/^max_connections\s+\d+;/m, 'max_connections 500;'));
      const r = await sc('reload', 'srs');
      assert.equal(r.code, 0, r.output);
      const record = JSON.parse(fs.readFileSync(path.join(tree, 'objs/srs.pid.reload'), 'utf8'));
      assert.equal(record.ok, true);
      assert.deepEqual(record.applied, ['max_connections']);
    },
    stop: async () => {
      const r = await sc('stop', 'srs');
      assert.equal(r.code, 0, r.output);
      return r;
    },
  });
  assert.equal((await sc('is-active', 'srs')).stdout.trim(), 'inactive');
  const result = await sc('show', '-p', 'Result', '-p', 'ExecMainStatus', 'srs');
  assert.match(result.stdout, /Result=success/);
  assert.match(result.stdout, /ExecMainStatus=0/);
});
