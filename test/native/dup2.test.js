'use strict';
// dup2: the call a log reopen uses to point a daemon's fds 1 and 2 at the new file.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { native } = require('../../dist/native.js');

const n = native();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-native-dup2-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('dup2: the target fd now refers to the source file; writes land there', () => {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const fa = fs.openSync(a, 'a');
  const fb = fs.openSync(b, 'a');
  try {
    n.dup2(fb, fa);
    assert.equal(fs.readlinkSync(`/proc/self/fd/${fa}`), b);
    fs.writeSync(fa, 'via fa\n');
    assert.equal(fs.readFileSync(b, 'utf8'), 'via fa\n');
    assert.equal(fs.readFileSync(a, 'utf8'), '');
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
});

test('dup2: onto fds 1 and 2 of a process, as a daemon reopening its log does', () => {
  const log = path.join(dir, 'log');
  const script = `const fs = require('fs'); const n = require(${JSON.stringify(path.join(__dirname, '../../dist/native.js'))}).native();
const fd = fs.openSync(${JSON.stringify(log)}, 'a'); n.dup2(fd, 1); n.dup2(fd, 2); fs.closeSync(fd);
fs.writeSync(1, 'out\\n'); fs.writeSync(2, 'err\\n');`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, '', 'nothing reached the old stdout/stderr');
  assert.equal(fs.readFileSync(log, 'utf8'), 'out\nerr\n');
});

test('dup2: errors name the call and both fds', () => {
  const fd = fs.openSync('/dev/null', 'r');
  fs.closeSync(fd);
  assert.throws(() => n.dup2(fd, 200), (e) => e.message === `dup2(${fd}, 200): EBADF` && e.code === 'EBADF' && e.syscall === 'dup2' && e.errno === 9);
  assert.throws(() => n.dup2('1', 2), TypeError);
});
