'use strict';
// The shipped supervisor files, run for real from an installed prefix: supervisord, daemontools'
// svscan and runit's runsvdir as plain processes over a temp dir. Each starts srs in the
// foreground, restarts it after kill -9, passes SIGHUP through as a reload, and stops it
// gracefully. Ports, pid file and grace waits come from SRS_* environment overrides, which every
// supervisor hands down to its service.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { tmpdir, freePorts, waitFor, pidGone, request, track, killPid } = require('../helpers/harness');
const { run, makeInstall, readPid, killAndWait, descendants } = require('./support');

const state = { dir: null, prefix: null };

test.before(async () => {
  state.dir = tmpdir('srs-supervisors-');
  state.prefix = path.join(state.dir, 'srs');
  await makeInstall({ prefix: state.prefix });
});

test.after(() => {
  if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true });
});

/** A per-test environment: free ports, its own pid file, short grace waits, no inotify reload. */
async function serviceEnv(name) {
  const [rtmp, api] = await freePorts(2);
  const pidFile = path.join(state.dir, `${name}.pid`);
  return {
    rtmp,
    api,
    pidFile,
    env: {
      SRS_LISTEN: String(rtmp),
      SRS_HTTP_API_LISTEN: String(api),
      SRS_HTTP_SERVER_ENABLED: 'off',
      SRS_PID: pidFile,
      SRS_GRACE_START_WAIT: '100',
      SRS_GRACE_FINAL_WAIT: '100',
      SRS_AUTO_RELOAD_FOR_DOCKER: 'off',
    },
  };
}

/** Spawn a supervisor as a plain process in its own process group, output collected. */
function spawnSupervisor(cmd, args, env, cwd) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(child.pid);
  const out = { text: '' };
  child.stdout.on('data', (c) => (out.text += c));
  child.stderr.on('data', (c) => (out.text += c));
  return { child, out };
}

/** The running srs: the pid in the pid file once the API answers. */
async function waitServing(svc, notPid = null) {
  return waitFor(`srs serving on ${svc.api}${notPid ? ` with a pid other than ${notPid}` : ''}`, async () => {
    const pid = readPid(svc.pidFile);
    if (!pid || pid === notPid || pidGone(pid)) return null;
    try {
      const r = await request(svc.api, '/healthz');
      return r.status === 200 ? track(pid) : null;
    } catch {
      return null;
    }
  }, 20000);
}

/** SIGHUP reached srs when the reload status next to its pid file is newer than `since`. */
async function waitReloaded(svc, pid, since) {
  return waitFor('a reload record newer than the signal', () => {
    try {
      const r = JSON.parse(fs.readFileSync(`${svc.pidFile}.reload`, 'utf8'));
      return r.pid === pid && r.started_at >= since && r.ok ? r : null;
    } catch {
      return null;
    }
  });
}

async function cleanup(sup, pids) {
  for (const p of [...descendants(sup.child.pid), ...pids]) killPid(p, 'SIGKILL');
  try {
    process.kill(-sup.child.pid, 'SIGKILL');
  } catch {
    // group gone
  }
  for (const p of pids) await killAndWait(p);
  await killAndWait(sup.child.pid);
}

/** kill -9, then the supervisor starts a new srs. */
async function checkRestartAfterKill9(svc, pid) {
  killPid(pid, 'SIGKILL');
  const next = await waitServing(svc, pid);
  assert.notEqual(next, pid);
  return next;
}

test('supervisord: start, restart after kill -9, HUP reload, graceful stop (stopsignal=QUIT)', { timeout: 180000 }, async () => {
  const svc = await serviceEnv('supervisord');
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
files = ${state.prefix}/etc/supervisor/srs.conf
`);
  const ctl = (...args) => run('supervisorctl', ['-c', conf, ...args], { cwd: dir, env: svc.env });
  const sup = spawnSupervisor('supervisord', ['-n', '-c', conf], svc.env, dir);
  const pids = [];
  try {
    let pid = await waitServing(svc);
    pids.push(pid);
    pid = await checkRestartAfterKill9(svc, pid);
    pids.push(pid);
    const since = Date.now();
    const hup = await ctl('signal', 'HUP', 'srs');
    assert.equal(hup.code, 0, hup.output);
    await waitReloaded(svc, pid, since);

    const stop = await ctl('stop', 'srs');
    assert.equal(stop.code, 0, stop.output);
    assert.match(stop.stdout, /srs: stopped/);
    assert.ok(pidGone(pid));
    const log = fs.readFileSync(path.join(state.prefix, 'objs', 'srs.supervisor.log'), 'utf8');
    assert.match(log, /SIGQUIT: user: start gracefully quit/);
    assert.match(log, /graceful quit done \(drained\)/);
    const status = await ctl('status', 'srs');
    assert.match(status.stdout, /STOPPED/);
  } finally {
    await cleanup(sup, pids);
  }
});

test('daemontools: svscan starts run, restarts after kill -9, svc -h reloads, svc -d stops gracefully', { timeout: 180000 }, async () => {
  const svc = await serviceEnv('daemontools');
  const services = fs.mkdtempSync(path.join(state.dir, 'svscan-'));
  const service = path.join(services, 'srs');
  fs.cpSync(path.join(state.prefix, 'etc/daemontools/srs'), service, { recursive: true });
  const sup = spawnSupervisor('svscan', [services], svc.env, services);
  const pids = [];
  try {
    let pid = await waitServing(svc);
    pids.push(pid);
    pid = await checkRestartAfterKill9(svc, pid);
    pids.push(pid);
    const since = Date.now();
    const hup = await run('svc', ['-h', service]);
    assert.equal(hup.code, 0, hup.output);
    await waitReloaded(svc, pid, since);

    // svc -d sends TERM (+CONT); the run script turns force_grace_quit on, so it is graceful.
    const down = await run('svc', ['-d', service]);
    assert.equal(down.code, 0, down.output);
    await waitFor('srs gone after svc -d', () => pidGone(pid));
    assert.match(sup.out.text, /SIGTERM with force_grace_quit on: user: start gracefully quit/);
    assert.match(sup.out.text, /graceful quit done \(drained\)/);
    const st = await waitFor('svstat down', async () => {
      const r = await run('svstat', [service]);
      return /: down /.test(r.stdout) ? r : null;
    });
    assert.match(st.stdout, /normally up/);
    await run('svc', ['-dx', service]);
  } finally {
    await cleanup(sup, pids);
  }
});

test('runit: runsvdir starts run, restarts after kill -9, sv hup reloads, sv down stops gracefully (control/t)', { timeout: 180000 }, async () => {
  const svc = await serviceEnv('runit');
  const services = fs.mkdtempSync(path.join(state.dir, 'runsvdir-'));
  const service = path.join(services, 'srs');
  fs.cpSync(path.join(state.prefix, 'etc/runit/srs'), service, { recursive: true });
  const sup = spawnSupervisor('runsvdir', [services], svc.env, services);
  const pids = [];
  try {
    let pid = await waitServing(svc);
    pids.push(pid);
    pid = await checkRestartAfterKill9(svc, pid);
    pids.push(pid);
    const since = Date.now();
    const hup = await run('sv', ['hup', service]);
    assert.equal(hup.code, 0, hup.output);
    await waitReloaded(svc, pid, since);

    // sv down: runsv runs control/t, which sends SIGQUIT, and sends no TERM itself.
    const down = await run('sv', ['-w', '30', 'down', service]);
    assert.equal(down.code, 0, down.output);
    assert.match(down.stdout, /^ok: down: /m);
    assert.ok(pidGone(pid));
    assert.match(sup.out.text, /SIGQUIT: user: start gracefully quit/);
    assert.match(sup.out.text, /graceful quit done \(drained\)/);
    await run('sv', ['exit', service]);
  } finally {
    await cleanup(sup, pids);
  }
});

test('upstart (not packaged in Debian 12): the job file has the stanzas a foreground job needs', { timeout: 180000 }, () => {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'etc/upstart/srs.conf'), 'utf8');
  const stanzas = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [name, ...rest] = line.split(/\s+/);
    // two-word stanzas: respawn limit, kill signal/timeout, normal exit
    const two = (name === 'respawn' && rest[0] === 'limit') || name === 'kill' || name === 'normal';
    stanzas.set(two ? `${name} ${rest.shift()}` : name, rest.join(' '));
  }
  assert.equal(stanzas.get('chdir'), '/usr/local/srs');
  assert.equal(stanzas.get('exec'), '/usr/local/srs/objs/srs -c conf/console.conf');
  assert.ok(!stanzas.has('expect'), 'foreground: no expect fork/daemon');
  assert.ok(stanzas.has('respawn'));
  assert.match(stanzas.get('respawn limit'), /^\d+ \d+$/);
  assert.equal(stanzas.get('kill signal'), 'QUIT');
  assert.ok(Number(stanzas.get('kill timeout')) > (2300 + 3200) / 1000 + 30, 'kill timeout above the grace waits plus a drain');
  assert.equal(stanzas.get('reload'), 'signal HUP');
  assert.match(stanzas.get('start'), /^on runlevel/);
  assert.match(stanzas.get('stop'), /^on runlevel/);
  // the config it runs stays in the foreground
  const conf = fs.readFileSync(path.join(__dirname, '..', '..', 'conf/console.conf'), 'utf8');
  assert.match(conf, /^daemon\s+off;/m);
});
