'use strict';
// daemonize: real daemons, checked through /proc. Every started pid is killed in after().
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { native, daemonRecordError } = require('../../dist/native.js');

const n = native();
const DEADLINE_MS = 10000;
const started = new Set();
const dirs = [];

after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-native-daemon-'));
  dirs.push(d);
  return d;
}

function start(opts) {
  const r = n.daemonize(opts);
  started.add(r.pid);
  return r;
}

// Everything the daemon writes on the readiness pipe until EOF (every write end closed).
function readPipe(fd, what) {
  return new Promise((resolve, reject) => {
    const sock = new net.Socket({ fd, readable: true, writable: false });
    let text = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${what}: the readiness pipe did not reach EOF within ${DEADLINE_MS} ms (got ${JSON.stringify(text)})`));
    }, DEADLINE_MS);
    sock.setEncoding('utf8');
    sock.on('data', (c) => (text += c));
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(text);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// /proc/<pid>/stat fields after the command name, or null if the process is gone.
function stat(pid) {
  let s;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), ttyNr: Number(f[4]) };
}

function statusField(pid, name) {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line.split(/\s+/)[1];
}

function fds(pid) {
  const out = new Map();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(fd), fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

// PID 1 here reaps orphans late: a zombie counts as dead.
async function waitDead(pid, what) {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const s = stat(pid);
    if (s === null || s.state === 'Z') return;
    if (Date.now() > end) throw new Error(`${what}: pid ${pid} still running (state ${s.state}) after ${DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const DAEMON_JS = `'use strict';
const fs = require('fs');
console.log('stdout line');
console.error('stderr line');
fs.writeSync(3, 'READY ' + process.pid + ' ' + process.cwd() + ' ' + process.env.SRS_MARK + ' ' + process.argv[2] + '\\n');
fs.closeSync(3);
setInterval(() => {}, 1 << 30);
`;

test('daemonize: a detached daemon reports ready on fd 3 with the pid daemonize returned', async () => {
  const dir = tmpdir();
  const script = path.join(dir, 'daemon.js');
  const log = path.join(dir, 'daemon.log');
  fs.writeFileSync(script, DAEMON_JS);
  // a marker the daemon must not inherit: a fd of this process without O_CLOEXEC
  const marker = path.join(dir, 'marker');
  const opened = fs.openSync(marker, 'w');
  let markerFd = 200;
  while (fs.existsSync(`/proc/self/fd/${markerFd}`)) markerFd++;
  n.dup2(opened, markerFd); // dup2 clears FD_CLOEXEC on the copy
  let r;
  try {
    r = start({ file: process.execPath, argv: [process.execPath, script, 'arg2'], env: ['SRS_MARK=yes'], cwd: dir, stdout: log });
  } finally {
    fs.closeSync(markerFd);
    fs.closeSync(opened);
  }
  assert.ok(Number.isInteger(r.pid) && r.pid > 0);
  const text = await readPipe(r.readFd, 'node daemon');
  assert.equal(text, `READY ${r.pid} ${dir} yes arg2\n`);

  const st = stat(r.pid);
  assert.ok(st !== null && st.state !== 'Z', 'the daemon is alive after reporting ready');
  assert.notEqual(st.ppid, process.pid, 'the daemon is not a child of the starter');
  assert.notEqual(st.session, r.pid, 'the daemon is not a session leader (it could acquire a tty)');
  assert.notEqual(st.session, stat(process.pid).session, 'the daemon left the starter session');
  assert.equal(st.ttyNr, 0, 'no controlling tty');
  assert.equal(statusField(r.pid, 'SigBlk'), '0000000000000000', 'empty signal mask');

  const theirs = fds(r.pid);
  assert.equal(theirs.get(0), '/dev/null');
  assert.equal(theirs.get(1), log);
  assert.equal(theirs.get(2), log);
  const leaked = [...theirs.values()].filter((t) => t === marker);
  assert.deepEqual(leaked, [], 'the marker fd (no O_CLOEXEC in the starter) leaked into the daemon');
  // nothing the daemon holds is shared with this process, but /dev/null (anon inodes print alike)
  const mine = new Set([...fds(process.pid).values()].filter((t) => !t.startsWith('anon_inode:')));
  const shared = [...theirs.entries()].filter(([, t]) => mine.has(t) && t !== '/dev/null');
  assert.deepEqual(shared, [], 'fds shared with the starter');

  assert.equal(fs.readFileSync(log, 'utf8'), 'stdout line\nstderr line\n');
});

test('daemonize: default signal dispositions, empty mask, only 0/1/2/readyFd open (sh, readyFd 5)', async () => {
  // Node ignores SIGPIPE itself: the daemon must not inherit that
  assert.notEqual(statusField(process.pid, 'SigIgn'), '0000000000000000', 'precondition: the starter ignores signals');
  const dir = tmpdir();
  const sh = 'for f in 3 4 6 7; do [ -e /proc/$$/fd/$f ] && echo OPEN $f $(readlink /proc/$$/fd/$f) >&5; done; ' +
    'echo READY $$ $(grep -E "^Sig(Blk|Ign)" /proc/$$/status | tr -s "\\t\\n" "  ") >&5; exec 5>&-; exec sleep 1000';
  const r = start({ file: '/bin/sh', argv: ['sh', '-c', sh], env: ['PATH=/usr/bin:/bin'], cwd: dir, stdout: null, readyFd: 5 });
  const text = await readPipe(r.readFd, 'sh daemon');
  assert.equal(text, `READY ${r.pid} SigBlk: 0000000000000000 SigIgn: 0000000000000000\n`);
  const theirs = fds(r.pid);
  assert.equal(theirs.get(0), '/dev/null');
  assert.equal(theirs.get(1), '/dev/null');
  assert.equal(theirs.get(2), '/dev/null');
});

test('daemonize: an execve failure comes back as an E record, then EOF', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'no-such-program');
  const r = start({ file, argv: [file], env: [], cwd: dir, stdout: null });
  const text = await readPipe(r.readFd, 'failed execve');
  assert.equal(text, 'Eexecve 2\n');
  const err = daemonRecordError(text, file);
  assert.equal(err.message, `execve(${file}): ENOENT`);
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.errno, 2);
  assert.equal(err.syscall, 'execve');
  assert.equal(daemonRecordError('READY 1'), null);
  await waitDead(r.pid, 'failed execve');
});

test('daemonize: a chdir failure comes back as an E record', async () => {
  const dir = tmpdir();
  const r = start({ file: '/bin/sh', argv: ['sh', '-c', 'exit 0'], env: [], cwd: path.join(dir, 'missing'), stdout: null });
  assert.equal(await readPipe(r.readFd, 'failed chdir'), 'Echdir 2\n');
  await waitDead(r.pid, 'failed chdir');
});

test('daemonize: a log that cannot be opened throws before forking and leaks no fd', () => {
  const dir = tmpdir();
  const log = path.join(dir, 'missing', 'srs.log');
  const before = fs.readdirSync('/proc/self/fd').length;
  assert.throws(
    () => start({ file: '/bin/true', argv: ['true'], env: [], cwd: dir, stdout: log }),
    (e) => e.message === `open(${log}): ENOENT` && e.code === 'ENOENT' && e.errno === 2 && e.syscall === 'open',
  );
  assert.equal(fs.readdirSync('/proc/self/fd').length, before);
});

test('daemonize: bad options are TypeErrors', () => {
  const base = { file: '/bin/true', argv: ['true'], env: [], cwd: '/', stdout: null };
  assert.throws(() => n.daemonize({ ...base, argv: [] }), TypeError);
  assert.throws(() => n.daemonize({ ...base, readyFd: 2 }), TypeError);
  assert.throws(() => n.daemonize({ ...base, env: ['A=\0'] }), TypeError);
  assert.throws(() => n.daemonize({ ...base, stdout: undefined }), TypeError);
});

test('the loader: importing never fails; native() says to run npm install when the addon is missing', () => {
  const dir = tmpdir();
  fs.mkdirSync(path.join(dir, 'dist'));
  fs.copyFileSync(path.join(__dirname, '../../dist/native.js'), path.join(dir, 'dist', 'native.js'));
  const copy = require(path.join(dir, 'dist', 'native.js'));
  assert.throws(() => copy.native(), /build\/Release\/srs_native\.node.*run `npm install`/);
});
