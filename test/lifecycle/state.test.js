'use strict';
// The process state machine on a fake clock: every decision, no process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ProcessState } = require('../../dist/lifecycle/state.js');

function make() {
  const clock = { t: 1000, now() { return this.t; } };
  return { clock, s: new ProcessState(clock) };
}

test('starting -> ready; readiness only once started', () => {
  const { clock, s } = make();
  assert.equal(s.phase, 'starting');
  assert.equal(s.ready, false);
  clock.t = 1500;
  assert.equal(s.started(), null);
  assert.equal(s.phase, 'ready');
  assert.equal(s.since, 1500);
  assert.equal(s.ready, true);
  assert.deepEqual(s.history.map((h) => h.phase), ['starting', 'ready']);
});

test('a reload asked for before start runs once started', () => {
  const { s } = make();
  assert.equal(s.requestReload('SIGHUP'), 'queued');
  assert.equal(s.started(), 'SIGHUP');
  assert.equal(s.phase, 'reloading');
});

test('reloads are serialised: a burst during a run makes exactly one more run, with the last trigger', () => {
  const { s } = make();
  s.started();
  assert.equal(s.requestReload('a'), 'run');
  assert.equal(s.ready, true, 'still ready while reloading');
  for (let i = 0; i < 100; i++) assert.equal(s.requestReload(`b${i}`), 'queued');
  assert.deepEqual(s.reloadFinished(), { next: 'reload', trigger: 'b99' });
  assert.equal(s.phase, 'reloading');
  assert.deepEqual(s.reloadFinished(), { next: 'none', dropped: null });
  assert.equal(s.phase, 'ready');
});

test('an upgrade during a reload starts when the reload ends; a reload queued meanwhile waits for its outcome', () => {
  const { s } = make();
  s.started();
  s.requestReload('a');
  assert.deepEqual(s.requestUpgrade(), { ok: true, afterReload: true });
  assert.deepEqual(s.requestUpgrade(), { ok: false, reason: 'an upgrade is already under way' });
  assert.equal(s.requestReload('b'), 'queued');
  assert.deepEqual(s.reloadFinished(), { next: 'upgrade' });
  assert.equal(s.phase, 'upgrading');
  // failed: serving as before, and the queued reload runs now
  assert.deepEqual(s.upgradeFinished(false), { next: 'reload', trigger: 'b' });
  assert.equal(s.phase, 'reloading');
});

test('a successful upgrade drops a queued reload and says so (its caller gets an answer)', () => {
  const { s } = make();
  s.started();
  assert.deepEqual(s.requestUpgrade(), { ok: true, afterReload: false });
  assert.equal(s.requestReload('api'), 'queued');
  assert.deepEqual(s.upgradeFinished(true), { next: 'none', dropped: 'api' });
  assert.equal(s.phase, 'quitting');
  assert.equal(s.quitMode, 'handover');
  assert.equal(s.ready, false);
  assert.equal(s.requestReload('late'), 'refused');
});

test('upgrade refusals: not started, quitting', () => {
  const { s } = make();
  assert.deepEqual(s.requestUpgrade(), { ok: false, reason: 'not started' });
  s.started();
  s.quitSignal('graceful', false, 'SIGQUIT');
  assert.deepEqual(s.requestUpgrade(), { ok: false, reason: 'quitting' });
});

test('quit signals without force_grace_quit: SIGTERM fast; a second signal during a graceful quit escalates', () => {
  const { s } = make();
  s.started();
  assert.deepEqual(s.quitSignal('terminate', false, 'SIGTERM'), { action: 'fast', abortUpgrade: false });
  assert.deepEqual(s.quitSignal('graceful', false, 'SIGQUIT'), { action: 'ignore' }, 'a fast quit is finishing');
  const b = make().s;
  b.started();
  assert.deepEqual(b.quitSignal('graceful', false, 'SIGQUIT'), { action: 'graceful', abortUpgrade: false });
  assert.deepEqual(b.quitSignal('graceful', false, 'SIGQUIT'), { action: 'escalate' });
  assert.deepEqual(b.quitSignal('fast', false, 'SIGINT'), { action: 'ignore' }, 'once escalated, nothing more');
});

test('a quit during an upgrade aborts it; a finished quit ignores everything', () => {
  const { s } = make();
  s.started();
  s.requestUpgrade();
  assert.deepEqual(s.quitSignal('graceful', false, 'SIGQUIT'), { action: 'graceful', abortUpgrade: true });
  assert.deepEqual(s.upgradeFinished(false), { next: 'none', dropped: null });
  assert.equal(s.phase, 'quitting');
  s.finish();
  assert.deepEqual(s.quitSignal('fast', false, 'SIGINT'), { action: 'ignore' });
});

test('force_grace_quit on: SIGTERM and SIGQUIT during a graceful quit continue the drain; SIGINT escalates (SRS semantics)', () => {
  const { s } = make();
  s.started();
  assert.deepEqual(s.quitSignal('terminate', true, 'SIGTERM'), { action: 'graceful', abortUpgrade: false });
  assert.deepEqual(s.quitSignal('terminate', true, 'SIGTERM'), { action: 'continue', message: 'SIGTERM during graceful quit: continuing the drain (force_grace_quit on)' });
  assert.deepEqual(s.quitSignal('graceful', true, 'SIGQUIT'), { action: 'continue', message: 'SIGQUIT during graceful quit: continuing the drain (force_grace_quit on)' });
  assert.equal(s.quitMode, 'graceful');
  assert.deepEqual(s.quitSignal('fast', true, 'SIGINT'), { action: 'escalate' });
  assert.deepEqual(s.quitSignal('terminate', true, 'SIGTERM'), { action: 'ignore' });
});

test('force_grace_quit on: the drain after an upgrade is continued by SIGTERM too (docker stop of the old process)', () => {
  const { s } = make();
  s.started();
  s.requestUpgrade();
  s.upgradeFinished(true);
  assert.equal(s.quitSignal('terminate', true, 'SIGTERM').action, 'continue');
  assert.equal(s.quitSignal('terminate', false, 'SIGTERM').action, 'escalate', 'without it, today\'s escalation');
});
