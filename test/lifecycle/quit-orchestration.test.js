'use strict';
// Quit orchestration on a fake clock and fake services: what each signal does to the services,
// with the process state deciding (no process, no sockets).
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { Quit } = require('../../dist/lifecycle/quit.js');
const { ProcessState } = require('../../dist/lifecycle/state.js');
const { FakeClock } = require('../helpers/fake-clock');


function setup({ force = false, open = 2 } = {}) {
  const clock = new FakeClock();
  const state = new ProcessState(clock);
  state.started();
  const events = [];
  const registry = Object.assign(new EventEmitter(), {
    size: open,
    startDraining: () => events.push('not-ready'),
    destroyAll: () => {
      const n = registry.size;
      registry.size = 0;
      events.push(`cut ${n}`);
      return n;
    },
  });
  const lines = [];
  const log = () => ({ info: (_f, m) => lines.push(m), warn: (_f, m) => lines.push(m) });
  let finished = null;
  const quit = new Quit({
    clock,
    state,
    log,
    config: () => ({ forceGraceQuit: force, graceStartWait: 1000, graceFinalWait: 500, graceMaxWait: 0 }),
    registry,
    services: { drain: (reason) => events.push(`drain ${reason}`), cut: (reason) => events.push(`service-cut ${reason}`) },
    closeListeners: () => events.push('close-listeners'),
    leaving: (how) => events.push(`leaving ${how}`),
    abortUpgrade: () => events.push('abort-upgrade'),
    finish: (code, msg, outcome) => (finished = { code, msg, outcome, at: clock.now() }),
  });
  const close = () => {
    registry.size--;
    registry.emit('closed');
  };
  return { clock, state, events, lines, quit, close, finished: () => finished };
}

test('graceful quit: not ready, listeners closed after grace_start_wait, every service drained, exit after the last close and grace_final_wait', () => {
  const s = setup();
  s.quit.signal('graceful', 'SIGQUIT');
  assert.deepEqual(s.events, ['leaving graceful quit', 'not-ready']);
  assert.equal(s.state.ready, false);
  s.clock.advance(1000);
  assert.deepEqual(s.events.slice(2), ['close-listeners', 'drain graceful quit']);
  s.close();
  s.close();
  s.clock.advance(499);
  assert.equal(s.finished(), null);
  s.clock.advance(1);
  assert.deepEqual(s.finished(), { code: 0, msg: 'graceful quit done (drained)', outcome: 'drained', at: 1500 });
});

test('force_grace_quit on: SIGTERM drains, a second SIGTERM is logged and changes nothing, SIGINT cuts', () => {
  const s = setup({ force: true });
  s.quit.signal('terminate', 'SIGTERM');
  assert.match(s.lines.join('\n'), /SIGTERM with force_grace_quit on: user: start gracefully quit/);
  s.clock.advance(1000);
  s.quit.signal('terminate', 'SIGTERM');
  assert.ok(s.lines.includes('SIGTERM during graceful quit: continuing the drain (force_grace_quit on)'));
  assert.ok(!s.events.some((e) => e.startsWith('cut')), 'nothing cut');
  assert.equal(s.finished(), null);
  s.quit.signal('fast', 'SIGINT');
  // what can end cleanly does (a player told its stream ended), then every socket goes
  assert.ok(s.events.indexOf('service-cut the graceful quit is over') < s.events.indexOf('cut 2'), s.events.join(', '));
  assert.ok(s.events.includes('cut 2'));
  assert.equal(s.finished().outcome, 'fast');
});

test('SIGTERM without force_grace_quit: a fast quit; later signals are ignored', () => {
  const s = setup();
  s.quit.signal('terminate', 'SIGTERM');
  assert.deepEqual(s.events, ['leaving fast quit', 'close-listeners', 'cut 2']);
  assert.deepEqual(s.finished(), { code: 0, msg: 'fast quit done, 2 connections closed', outcome: 'fast', at: 0 });
  s.quit.signal('fast', 'SIGINT');
  assert.equal(s.events.length, 3);
});

test('a quit during an upgrade aborts the new process first; the handover drain skips grace_start_wait', () => {
  const s = setup();
  s.state.requestUpgrade();
  s.quit.signal('graceful', 'SIGQUIT');
  assert.equal(s.events[0], 'abort-upgrade');

  const u = setup({ open: 0 });
  u.state.requestUpgrade();
  u.state.upgradeFinished(true);
  u.quit.handedOver(4242);
  assert.deepEqual(u.events, ['leaving upgrade', 'not-ready', 'close-listeners', 'drain graceful quit']);
  assert.match(u.lines.join('\n'), /upgrade handed over to pid 4242: start gracefully quit/);
  u.clock.advance(500);
  assert.equal(u.finished().outcome, 'drained');
});
