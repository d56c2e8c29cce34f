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
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
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
