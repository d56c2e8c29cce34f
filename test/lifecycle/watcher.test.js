'use strict';
// ConfigWatcher in-process, on real inotify, with an injected clock: the coalescing and the
// content check are driven step by step, never by sleeping.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ConfigWatcher, WATCH_DEBOUNCE_MS, WATCH_MAX_DELAY_MS } = require('../../dist/lifecycle/watch.js');
const { filesHash } = require('../../dist/config/load.js');
const { planReload } = require('../../dist/lifecycle/reload.js');
const { DEFAULTS } = require('../../dist/config/schema.js');

/** A clock whose timers run only when the test says so; `armed` resolves when one is set. */
class ManualClock {
  constructor() {
    this.t = 1000;
    this.timers = new Map();
    this.seq = 0;
    this.waiters = [];
  }
  now() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const id = ++this.seq;
    this.timers.set(id, { fn, at: this.t + ms });
    for (const w of this.waiters.splice(0)) w(ms);
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  setInterval() {
    throw new Error('not used');
  }
  clearInterval() {}
  /** the next timer being set (an inotify event was seen), with its delay */
  armed(what) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no inotify event reached the watcher: ${what}`)), 5000);
      this.waiters.push((ms) => {
        clearTimeout(t);
        resolve(ms);
      });
    });
  }
  advance(ms) {
    this.t += ms;
    for (const [id, timer] of [...this.timers]) {
      if (timer.at <= this.t) {
        this.timers.delete(id);
        timer.fn();
      }
    }
  }
}

function setup(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-watcher-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, 'listen 1935;\n');
  const clock = new ManualClock();
  const changes = [];
  const w = new ConfigWatcher((why) => changes.push(why), clock);
  t.after(() => w.stop());
  w.watch([file], filesHash([file]));
  return { dir, file, clock, changes, w };
}

test('a write with the same content is not a change; a different one is, once', async (t) => {
  const { file, clock, changes } = setup(t);
  // watch() compares once with the baseline at once
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, []);

  let armed = clock.armed('same-content write');
  fs.writeFileSync(file, 'listen 1935;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, [], 'same content: no reload');

  armed = clock.armed('changed write');
  fs.writeFileSync(file, 'listen 1936;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify']);
});

test('events are coalesced, not dropped: a second edit inside the debounce is applied', async (t) => {
  const { file, clock, changes } = setup(t);
  clock.advance(WATCH_DEBOUNCE_MS);
  let armed = clock.armed('first edit');
  fs.writeFileSync(file, 'listen 1;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS - 10);
  armed = clock.armed('second edit, 20 ms later');
  fs.writeFileSync(file, 'listen 2;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS - 1);
  assert.deepEqual(changes, [], 'the debounce restarted with the second event');
  clock.advance(1);
  assert.deepEqual(changes, ['inotify'], 'one reload for both edits, reading the last content');
});

test('a writer that never stops still gets a reload every WATCH_MAX_DELAY_MS', async (t) => {
  const { file, clock, changes } = setup(t);
  clock.advance(WATCH_DEBOUNCE_MS);
  for (let i = 0; i * (WATCH_DEBOUNCE_MS - 1) < WATCH_MAX_DELAY_MS + WATCH_DEBOUNCE_MS && changes.length === 0; i++) {
    const armed = clock.armed(`edit ${i}`);
    fs.writeFileSync(file, `listen ${2000 + i};\n`);
    await armed;
    clock.advance(WATCH_DEBOUNCE_MS - 1);
  }
  assert.deepEqual(changes, ['inotify']);
});

test('events for other names in the directory are ignored; the config name and ..data are not', (t) => {
  const { clock, changes, w } = setup(t);
  clock.advance(WATCH_DEBOUNCE_MS);
  const before = clock.seq;
  // the batch inotify would deliver for unrelated files (driven directly: a real one could share a
  // batch with the config's own event, and prove nothing)
  w.onEvents([{ wd: 1, mask: 8, cookie: 0, name: 'other.conf' }, { wd: 1, mask: 256, cookie: 0, name: 'srs.conf.swp' }]);
  assert.equal(clock.seq, before, 'no timer armed for other names');
  w.onEvents([{ wd: 1, mask: 128, cookie: 0, name: '..data' }]);
  assert.equal(clock.seq, before + 1, 'a ConfigMap ..data swap arms the check');
  w.onEvents([{ wd: 1, mask: 8, cookie: 0, name: 'srs.conf' }]);
  assert.equal(clock.seq, before + 2, 'so does the config itself');
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, [], 'and nothing changed in the content');
});

test('planReload: reloadable changes apply, the others keep their running value', () => {
  const running = { ...DEFAULTS, pid: './objs/a.pid', logLevel: 'trace', maxConnections: 10 };
  const next = { ...DEFAULTS, pid: './objs/b.pid', logLevel: 'warn', maxConnections: 20, daemon: !DEFAULTS.daemon };
  const plan = planReload(running, next);
  assert.equal(plan.effective.pid, './objs/a.pid');
  assert.equal(plan.effective.daemon, running.daemon);
  assert.equal(plan.effective.logLevel, 'warn');
  assert.equal(plan.effective.maxConnections, 20);
  assert.deepEqual(plan.ignored.map((c) => c.path).sort(), ['daemon', 'pid']);
  assert.deepEqual(plan.applied.map((c) => c.path).sort(), ['max_connections', 'srs_log_level']);
});

/** setup() with a config inside a subdirectory, and the watcher's notices collected. */
function setupInSubdir(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-watcher-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'conf');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, 'listen 1935;\n');
  const clock = new ManualClock();
  const changes = [];
  const notices = [];
  const w = new ConfigWatcher((why) => changes.push(why), clock, (level, fields, msg) => notices.push(`${level}: ${msg}`));
  t.after(() => w.stop());
  w.watch([file], filesHash([file]));
  clock.advance(WATCH_DEBOUNCE_MS);
  return { root, dir, file, clock, changes, notices, w };
}

test('IN_Q_OVERFLOW: events were lost, so every file is re-read (a change is applied, no change is not)', (t) => {
  const { n } = { n: require('../../dist/native.js').native() };
  const { file, clock, changes, notices, w } = setupInSubdir(t);
  const overflow = [{ wd: -1, mask: n.IN_Q_OVERFLOW, cookie: 0, name: '' }];
  let before = clock.seq;
  w.onEvents(overflow);
  assert.equal(clock.seq, before + 1, 'an overflow arms the check');
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, [], 'same content after an overflow: no reload');
  assert.match(notices.join('\n'), /inotify queue overflowed/);
  // the content changes, and (as in a real overflow) the event saying so is the one lost: the
  // change is delivered synchronously, before the real inotify event can reach the loop
  fs.writeFileSync(file, 'listen 1936;\n');
  before = clock.seq;
  w.onEvents(overflow);
  assert.equal(clock.seq, before + 1);
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify'], 'the change is found by re-reading');
});

test('the config directory deleted and created again: the watch is re-armed, logged once, and a later edit is seen', async (t) => {
  const { dir, file, clock, changes, notices } = setupInSubdir(t);
  let armed = clock.armed('the directory deleted');
  fs.rmSync(dir, { recursive: true });
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify'], 'the config went away: the owner is told (its reload reports the missing file)');
  assert.equal(notices.filter((l) => /config watch lost: .*conf deleted; watching .* until it exists again/.test(l)).length, 1, notices.join('\n'));

  armed = clock.armed('the directory created again');
  fs.mkdirSync(dir);
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.match(notices.join('\n'), /config watch re-armed on .*conf/);

  armed = clock.armed('the config written in the new directory');
  fs.writeFileSync(file, 'listen 1937;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify', 'inotify']);
  armed = clock.armed('a later in-place edit');
  fs.writeFileSync(file, 'listen 1938;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify', 'inotify', 'inotify']);
  assert.equal(notices.filter((l) => /lost/.test(l)).length, 1, `logged once: ${notices.join('\n')}`);
});

test('a new directory renamed over the config directory: the watch follows the path, not the old inode', async (t) => {
  const { root, dir, file, clock, changes } = setupInSubdir(t);
  const next = path.join(root, 'conf.new');
  fs.mkdirSync(next);
  fs.writeFileSync(path.join(next, 'srs.conf'), 'listen 2000;\n');
  let armed = clock.armed('the old directory moved away');
  fs.renameSync(dir, path.join(root, 'conf.old'));
  fs.renameSync(next, dir);
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify']);
  // an edit in the old directory is no longer the config; one in the new is
  fs.writeFileSync(path.join(root, 'conf.old', 'srs.conf'), 'listen 3000;\n');
  armed = clock.armed('an edit in the new directory');
  fs.writeFileSync(file, 'listen 2001;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify', 'inotify']);
});

test('an in-place write through another path to the same inode (a hard link, as a bind mount) is seen', async (t) => {
  const { root, file, clock, changes } = setupInSubdir(t);
  // the directory of the other name is not watched: only the file's own inode can tell
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-watcher-other-'));
  t.after(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
  const other = path.join(elsewhere, 'host.conf');
  fs.linkSync(file, other);
  assert.ok(!other.startsWith(root));
  const armed = clock.armed('a write through the other name');
  fs.writeFileSync(other, 'listen 4000;\n');
  await armed;
  clock.advance(WATCH_DEBOUNCE_MS);
  assert.deepEqual(changes, ['inotify']);
});
