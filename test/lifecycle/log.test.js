'use strict';
// The log's edges: a full disk under it (tmpfs in a private mount namespace), the json start line,
// the log directory under daemon on, and daemon on refused in a container said on the terminal.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');

const LOG_JS = path.join(h.ROOT, 'dist', 'server', 'log.js');

test('a full disk: failures and dropped lines counted, the backlog bounded, one line when writing resumes', async (t) => {
  const dir = h.tmpdir('srs-log-full-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  // runs inside `unshare -m` on a 64 KiB tmpfs; prints its observations as one JSON line
  const script = `
const fs = require('fs');
const { SrsLog } = require(${JSON.stringify(LOG_JS)});
const file = ${JSON.stringify(path.join(mnt, 'srs.log'))};
const filler = ${JSON.stringify(path.join(mnt, 'filler'))};
const log = new SrsLog({ tank: 'file', file, level: 'trace', format: 'text', backlogBytes: 4096 });
log.logger.info('before the disk filled');
try { fs.writeFileSync(filler, Buffer.alloc(1 << 20)); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
for (let i = 0; i < 500; i++) log.logger.info({ i }, 'a line while the disk is full ' + 'x'.repeat(60));
const full = log.stats();
fs.rmSync(filler);
log.logger.info('after the disk was freed');
setImmediate(() => setImmediate(() => {
  log.flush();
  process.stdout.write(JSON.stringify({ full, after: log.stats(), text: fs.readFileSync(file, 'utf8'), rss: process.memoryUsage().rss }) + '\\n');
}));`;
  const r = await h.run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs "$0" && exec "$1" -e "$2"`, mnt, process.execPath, script], { timeoutMs: 20000 });
  assert.equal(r.code, 0, r.output);
  const o = JSON.parse(r.stdout);
  assert.ok(o.full.writeFailures > 0, `write failures counted: ${JSON.stringify(o.full)}`);
  assert.ok(o.full.droppedLines > 0, `the 4 KiB backlog dropped lines: ${JSON.stringify(o.full)}`);
  // what was neither written nor dropped waited in the backlog: at most 4 KiB of ~100-byte lines
  const written = (o.text.match(/a line while the disk is full/g) ?? []).length;
  assert.ok(500 - written - o.full.droppedLines <= 4096 / 90, `backlog bounded: ${written} written, ${o.full.droppedLines} dropped of 500`);
  assert.match(o.text, /after the disk was freed/);
  const resumed = o.text.match(/log: (\d+) lines dropped, (\d+) write failures since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \(ENOSPC\)/g) ?? [];
  assert.equal(resumed.length, 1, `one resume line: ${o.text.slice(-1500)}`);
  const [, dropped, failures] = /log: (\d+) lines dropped, (\d+) write failures/.exec(resumed[0]);
  assert.equal(Number(dropped), o.after.droppedLines);
  assert.equal(Number(failures), o.after.writeFailures);
});

test('srs_log_format json: the start line carries "pid" once', async (t) => {
  const dir = h.tmpdir('srs-log-json-');
  const [rtmp] = await h.freePorts(1);
  const file = h.writeConfig(dir, { rtmp, extra: 'srs_log_format json;' });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/starting, pid/);
  const first = srs.out.stdout.split('\n').find((l) => l.includes('starting, pid'));
  assert.equal(first.match(/"pid":/g).length, 1, first);
  assert.equal(JSON.parse(first).pid, srs.pid);
});

test('daemon on creates a missing log directory, as daemon off does', async () => {
  const dir = h.tmpdir('srs-log-mkdir-');
  const [rtmp] = await h.freePorts(1);
  const log = path.join(dir, 'logs', 'deeper', 'srs.log');
  for (const daemon of [true, false]) {
    fs.rmSync(path.join(dir, 'logs'), { recursive: true, force: true });
    const file = path.join(dir, 'srs.conf');
    fs.writeFileSync(file, `listen ${rtmp};\ndaemon ${daemon ? 'on' : 'off'};\npid ${path.join(dir, 'srs.pid')};\nsrs_log_tank file;\nsrs_log_file ${log};\ndisable_daemon_for_docker off;\n`);
    h.trackPidFile(path.join(dir, 'srs.pid'));
    if (daemon) {
      const r = await h.runSrsAsync(['-c', file], { cwd: dir });
      assert.equal(r.code, 0, r.output);
    } else {
      const srs = h.startSrs(['-c', file], { cwd: dir });
      await h.waitFor(() => `srs (daemon off) to listen: ${srs.output}`, () => h.canConnect(rtmp));
    }
    await h.waitFor(`the ready line in ${log} (daemon ${daemon})`, () => fs.existsSync(log) && /ready, pid/.test(fs.readFileSync(log, 'utf8')));
    const pid = Number(fs.readFileSync(path.join(dir, 'srs.pid'), 'utf8'));
    h.track(pid);
    h.killPid(pid, 'SIGTERM');
    await h.waitFor(`pid ${pid} to exit`, () => h.pidGone(pid));
  }
});

test('daemon on in a container: one line on stderr says why it stays in the foreground, and where the log goes', async (t) => {
  const dir = h.tmpdir('srs-log-container-');
  const [rtmp] = await h.freePorts(1);
  // in_docker on: the container sign, whatever machine runs the test
  const file = h.writeConfig(dir, { rtmp, daemon: true, tank: 'file', extra: 'in_docker on;' });
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await h.waitFor(() => `srs to listen: ${srs.output}`, () => h.canConnect(rtmp));
  const lines = srs.out.stderr.split('\n').filter((l) => l !== '');
  assert.deepEqual(lines, [`srs: daemon on ignored: running in a container (in_docker); staying in the foreground, logs go to ${path.join(dir, 'srs.log')}`]);
  assert.equal(srs.out.stdout, '');
});

test('the real server on a full disk keeps serving, and says what it lost once the disk has room', async (t) => {
  const dir = h.tmpdir('srs-log-full-');
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const [rtmp, api] = await h.freePorts(2);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, `listen ${rtmp};\ndaemon off;\npid ${path.join(dir, 'srs.pid')};\nsrs_log_tank file;\nsrs_log_file ${path.join(logs, 'srs.log')};\nauto_reload_for_docker off;\nhttp_api { enabled on; listen ${api}; }\n`);
  const srs = h.startSrs(['-c', file], {
    cwd: dir,
    command: 'unshare',
    prefix: ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"', logs],
  });
  t.after(() => srs.kill());
  await h.waitFor(() => `srs to answer on the API: ${srs.output}`, () => h.canConnect(api), 20000);
  // the tmpfs as srs sees it, through its mount namespace
  const seen = path.join(`/proc/${srs.pid}/root`, logs);
  const log = path.join(seen, 'srs.log');
  const read = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
  await h.waitFor(() => `the ready line in ${log}: ${read()}`, () => /ready, pid/.test(read()));
  try {
    fs.writeFileSync(path.join(seen, 'filler'), Buffer.alloc(1 << 20));
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  // ~100 bytes a line: more than the room left in the log's last page
  for (let i = 0; i < 100; i++) assert.equal((await h.request(api, `/api/v1/versions?full=${i}`)).status, 200, 'serving on a full disk');
  fs.rmSync(path.join(seen, 'filler'));
  await h.request(api, '/api/v1/versions?after=1');
  await h.waitFor(() => `the resume line in the log: ${read().slice(-800)}`, () => /log: \d+ lines dropped, [1-9]\d* write failures since .* \(ENOSPC\)/.test(read()));
  // the request's line is written after its response is sent: wait for it, do not race it
  await h.waitFor(() => `the line of the request made once the disk had room: ${read().slice(-800)}`, () => /after=1/.test(read()));
});
