'use strict';
// inotify on Node's loop: events from real file operations in a temp dir, and a watcher that
// must not keep a process alive after close() or unref().
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { native } = require('../../dist/native.js');

const n = native();
const DEADLINE_MS = 10000;
const NATIVE_JS = path.join(__dirname, '../../dist/native.js');
const dirs = [];
const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-native-inotify-'));
  dirs.push(d);
  return d;
}

const MASK = n.IN_CREATE | n.IN_CLOSE_WRITE | n.IN_MOVED_TO | n.IN_MOVED_FROM | n.IN_DELETE;

// A watcher that records every batch; expect(...) waits until each wanted event was seen.
function watcher(dir, mask = MASK) {
  const batches = [];
  let wake = () => {};
  const w = new n.Inotify((events) => {
    batches.push(events);
    wake();
  });
  const wd = w.addWatch(dir, mask);
  const events = () => batches.flat();
  // wanted: [{ name, mask }] where mask bits must all be set
  function expect(wanted) {
    const missing = () => wanted.filter((x) => !events().some((e) => e.name === x.name && (e.mask & x.mask) === x.mask));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        wake = () => {};
        reject(new Error(`inotify events not seen within ${DEADLINE_MS} ms: ${JSON.stringify(missing())}; seen ${JSON.stringify(events())}`));
      }, DEADLINE_MS);
      wake = () => {
        if (missing().length > 0) return;
        clearTimeout(timer);
        wake = () => {};
        resolve(events());
      };
      wake();
    });
  }
  return { w, wd, batches, events, expect };
}

test('inotify: create and close-write, delivered in one batch with the watch descriptor', async () => {
  const dir = tmpdir();
  const { w, wd, batches, expect } = watcher(dir);
  try {
    fs.writeFileSync(path.join(dir, 'a.conf'), 'a');
    fs.writeFileSync(path.join(dir, 'b.conf'), 'b');
    const seen = await expect([
      { name: 'a.conf', mask: n.IN_CREATE },
      { name: 'a.conf', mask: n.IN_CLOSE_WRITE },
      { name: 'b.conf', mask: n.IN_CREATE },
      { name: 'b.conf', mask: n.IN_CLOSE_WRITE },
    ]);
    assert.equal(batches.length, 1, 'events queued before the loop ran arrive in one batch');
    for (const e of seen) assert.equal(e.wd, wd);
  } finally {
    w.close();
  }
});

test('inotify: a rename into the directory is IN_MOVED_TO; inside it a MOVED_FROM/MOVED_TO pair shares a cookie', async () => {
  const dir = tmpdir();
  const outside = tmpdir();
  const { w, expect } = watcher(dir);
  try {
    fs.writeFileSync(path.join(outside, 'new.conf'), 'x');
    fs.renameSync(path.join(outside, 'new.conf'), path.join(dir, 'srs.conf'));
    fs.renameSync(path.join(dir, 'srs.conf'), path.join(dir, 'srs.conf.bak'));
    const seen = await expect([
      { name: 'srs.conf', mask: n.IN_MOVED_TO },
      { name: 'srs.conf', mask: n.IN_MOVED_FROM },
      { name: 'srs.conf.bak', mask: n.IN_MOVED_TO },
    ]);
    const from = seen.find((e) => e.name === 'srs.conf' && e.mask & n.IN_MOVED_FROM);
    const to = seen.find((e) => e.name === 'srs.conf.bak');
    assert.notEqual(from.cookie, 0);
    assert.equal(from.cookie, to.cookie);
    assert.equal(seen.filter((e) => e.mask & n.IN_CREATE).length, 0, 'a rename into the directory is not a create');
  } finally {
    w.close();
  }
});

test('inotify: a Kubernetes ConfigMap update (..data symlink swap) is seen as ..data moved in', async () => {
  const dir = tmpdir();
  fs.mkdirSync(path.join(dir, '..2024_01'));
  fs.writeFileSync(path.join(dir, '..2024_01', 'srs.conf'), 'v1');
  fs.symlinkSync('..2024_01', path.join(dir, '..data'));
  fs.symlinkSync('..data/srs.conf', path.join(dir, 'srs.conf'));
  const { w, expect } = watcher(dir);
  try {
    fs.mkdirSync(path.join(dir, '..2024_02'));
    fs.writeFileSync(path.join(dir, '..2024_02', 'srs.conf'), 'v2');
    fs.symlinkSync('..2024_02', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    fs.rmSync(path.join(dir, '..2024_01'), { recursive: true });
    const seen = await expect([
      { name: '..2024_02', mask: n.IN_CREATE | n.IN_ISDIR },
      { name: '..data_tmp', mask: n.IN_CREATE },
      { name: '..data_tmp', mask: n.IN_MOVED_FROM },
      { name: '..data', mask: n.IN_MOVED_TO },
      { name: '..2024_01', mask: n.IN_DELETE | n.IN_ISDIR },
    ]);
    assert.equal(seen.some((e) => e.name === 'srs.conf'), false, 'the file name itself never appears');
    assert.equal(fs.readFileSync(path.join(dir, 'srs.conf'), 'utf8'), 'v2');
  } finally {
    w.close();
  }
});

test('inotify: rmWatch gives IN_IGNORED; errors name the call; close() is idempotent', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  const { w, wd, expect } = watcher(dir);
  try {
    w.rmWatch(wd);
    await expect([{ name: '', mask: n.IN_IGNORED }]);
    assert.throws(() => w.rmWatch(wd), (e) => e.message === `inotify_rm_watch(${wd}): EINVAL` && e.code === 'EINVAL');
    const missing = path.join(dir, 'missing');
    assert.throws(() => w.addWatch(missing, MASK), (e) => e.message === `inotify_add_watch(${missing}): ENOENT` && e.syscall === 'inotify_add_watch');
  } finally {
    w.close();
  }
  w.close();
  assert.throws(() => w.addWatch(dir, MASK), (e) => e.code === 'EBADF');
});

// Runs `body` in a child node; resolves with { code, signal, stdout, stderr } or rejects at the deadline.
function child(body, what, onStdout) {
  const script = `const { native } = require(${JSON.stringify(NATIVE_JS)}); const n = native();\n${body}`;
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => {
    stdout += d;
    if (onStdout) onStdout(stdout);
  });
  c.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`${what}: the child did not exit by itself within ${DEADLINE_MS} ms (stdout ${JSON.stringify(stdout)})`));
    }, DEADLINE_MS);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(c);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('inotify: after close() the process exits by itself', async () => {
  const dir = tmpdir();
  const r = await child(
    `const w = new n.Inotify(() => {}); w.addWatch(${JSON.stringify(dir)}, n.IN_CREATE); w.close(); console.log('closed');`,
    'closed watcher',
  );
  assert.deepEqual([r.code, r.stdout], [0, 'closed\n']);
});

test('inotify: an unref()ed watcher does not hold the process', async () => {
  const dir = tmpdir();
  const r = await child(
    `const w = new n.Inotify(() => {}); w.addWatch(${JSON.stringify(dir)}, n.IN_CREATE); w.unref(); console.log('unrefed');`,
    'unref()ed watcher',
  );
  assert.deepEqual([r.code, r.stdout], [0, 'unrefed\n']);
});

test('inotify: an open watcher keeps the process alive until its callback closes it', async () => {
  const dir = tmpdir();
  const r = await child(
    `const w = new n.Inotify((events) => {
       for (const e of events) if (e.name === 'go') { console.log('got go'); w.close(); }
     });
     w.addWatch(${JSON.stringify(dir)}, n.IN_CREATE);
     console.log('watching');`,
    'watcher waiting for an event',
    (out) => {
      if (out === 'watching\n') fs.writeFileSync(path.join(dir, 'go'), '');
    },
  );
  assert.deepEqual([r.code, r.stdout], [0, 'watching\ngot go\n']);
});

test('inotify: an exception thrown by the callback is an uncaught exception', async () => {
  const dir = tmpdir();
  const r = await child(
    `process.on('uncaughtException', (e) => { console.log('uncaught: ' + e.message); process.exit(3); });
     const w = new n.Inotify(() => { throw new Error('boom'); });
     w.addWatch(${JSON.stringify(dir)}, n.IN_CREATE);
     console.log('watching');`,
    'watcher whose callback throws',
    (out) => {
      if (out === 'watching\n') fs.writeFileSync(path.join(dir, 'x'), '');
    },
  );
  assert.deepEqual([r.code, r.stdout], [3, 'watching\nuncaught: boom\n']);
});
