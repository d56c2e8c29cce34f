'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { native } = require('../../dist/native.js');

const n = native();
const DEADLINE_MS = 10000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-native-flock-'));
const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const EX_NB = { exclusive: true, nonBlocking: true };
const SH_NB = { exclusive: false, nonBlocking: true };

function isWouldBlock(label) {
  return (e) => e.message === `flock(${label}): EWOULDBLOCK` && e.code === 'EWOULDBLOCK' && e.errno === 11 && e.syscall === 'flock';
}

test('flock: a second open file description cannot take the lock until the first is closed', () => {
  const file = path.join(dir, 'srs.pid');
  const a = fs.openSync(file, 'w');
  const b = fs.openSync(file, 'r');
  try {
    n.flock(a, 'objs/srs.pid', EX_NB);
    assert.throws(() => n.flock(b, 'objs/srs.pid', EX_NB), isWouldBlock('objs/srs.pid'));
    assert.throws(() => n.flock(b, 'objs/srs.pid', SH_NB), isWouldBlock('objs/srs.pid'));
    fs.closeSync(a);
    n.flock(b, 'objs/srs.pid', EX_NB);
  } finally {
    try {
      fs.closeSync(a);
    } catch {
      // closed above
    }
    fs.closeSync(b);
  }
});

test('flock: shared locks coexist and block an exclusive one; closing them releases', () => {
  const file = path.join(dir, 'shared');
  fs.writeFileSync(file, '');
  const a = fs.openSync(file, 'r');
  const b = fs.openSync(file, 'r');
  const c = fs.openSync(file, 'r');
  try {
    n.flock(a, 'shared', SH_NB);
    n.flock(b, 'shared', SH_NB);
    assert.throws(() => n.flock(c, 'shared', EX_NB), isWouldBlock('shared'));
    fs.closeSync(a);
    fs.closeSync(b);
    n.flock(c, 'shared', EX_NB);
  } finally {
    for (const fd of [a, b, c]) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed above
      }
    }
  }
});

test('flock: a bad fd is EBADF naming the label', () => {
  assert.throws(
    () => n.flock(99999, 'x.pid', EX_NB),
    (e) => e.message === 'flock(x.pid): EBADF' && e.code === 'EBADF' && e.errno === 9,
  );
});

test('flock: a lock held by another process, then released by its exit', async () => {
  const file = path.join(dir, 'cross.pid');
  fs.writeFileSync(file, '');
  const holder = `
    const fs = require('fs');
    const { native } = require(${JSON.stringify(path.join(__dirname, '../../dist/native.js'))});
    const fd = fs.openSync(${JSON.stringify(file)}, 'r');
    native().flock(fd, 'cross.pid', { exclusive: true, nonBlocking: false });
    process.stdout.write('LOCKED\\n');
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['-e', holder], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the child did not report LOCKED within ${DEADLINE_MS} ms (stdout ${JSON.stringify(out)})`)), DEADLINE_MS);
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('LOCKED\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before locking`)));
  });
  const fd = fs.openSync(file, 'r');
  try {
    assert.throws(() => n.flock(fd, 'cross.pid', EX_NB), isWouldBlock('cross.pid'));
    child.stdin.end();
    let timer;
    const code = await Promise.race([
      exited,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the lock holder did not exit within ${DEADLINE_MS} ms`)), DEADLINE_MS);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(code, 0);
    n.flock(fd, 'cross.pid', EX_NB);
  } finally {
    fs.closeSync(fd);
  }
});
