'use strict';
// The drain's bound on a fake clock (src/lifecycle/quit.ts): at grace_max_wait the services end
// what can end cleanly (services.cut), the connections get CUT_LINGER_MS to close, and only what
// is left then is destroyed; a second quit signal asks for speed and destroys at once.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { Quit, CUT_LINGER_MS } = require('../../dist/lifecycle/quit.js');
const { ProcessState } = require('../../dist/lifecycle/state.js');
const { FakeClock } = require('../helpers/fake-clock');


function setup({ open = 3 } = {}) {
  const clock = new FakeClock();
  const state = new ProcessState(clock);
  state.started();
  const events = [];
  const registry = Object.assign(new EventEmitter(), {
    size: open,
    startDraining: () => {},
    destroyAll: () => {
      const n = registry.size;
      registry.size = 0;
      events.push(`destroy ${n}`);
      return n;
    },
  });
  let finished = null;
  const quit = new Quit({
    clock,
    state,
    log: () => ({ info() {}, warn() {} }),
    config: () => ({ forceGraceQuit: false, graceStartWait: 100, graceFinalWait: 0, graceMaxWait: 1000 }),
    registry,
    services: { drain: () => events.push('drain'), cut: () => events.push('clean ends') },
    closeListeners: () => {},
    leaving: () => {},
    abortUpgrade: () => {},
    finish: (code, msg, outcome) => (finished = { code, msg, outcome, at: clock.now() }),
  });
  const close = () => {
    registry.size--;
    registry.emit('closed');
  };
  return { clock, events, quit, close, finished: () => finished };
}

test('at grace_max_wait: clean ends first, then the quit waits for them to close, and nothing is destroyed when all did', () => {
  const s = setup();
  s.quit.signal('graceful', 'SIGQUIT');
  s.clock.advance(1100);
  assert.deepEqual(s.events, ['drain', 'clean ends']);
  assert.equal(s.finished(), null, 'not over while the ended connections close');
  s.close();
  s.close();
  s.clock.advance(10);
  assert.equal(s.finished(), null);
  s.close();
  assert.deepEqual(s.events, ['drain', 'clean ends', 'destroy 0']);
  assert.equal(s.finished().outcome, 'deadline');
  assert.equal(s.finished().at, 1110);
});

test('at grace_max_wait: what has not closed after CUT_LINGER_MS is destroyed', () => {
  const s = setup();
  s.quit.signal('graceful', 'SIGQUIT');
  s.clock.advance(1100);
  s.close();
  s.clock.advance(CUT_LINGER_MS - 1);
  assert.equal(s.finished(), null);
  s.clock.advance(1);
  assert.deepEqual(s.events, ['drain', 'clean ends', 'destroy 2']);
  assert.deepEqual({ outcome: s.finished().outcome, at: s.finished().at }, { outcome: 'deadline', at: 1100 + CUT_LINGER_MS });
});

test('a second quit signal: clean ends, then everything left is destroyed at once', () => {
  const s = setup();
  s.quit.signal('graceful', 'SIGQUIT');
  s.clock.advance(200);
  s.quit.signal('graceful', 'SIGQUIT');
  assert.deepEqual(s.events, ['drain', 'clean ends', 'destroy 3']);
  assert.equal(s.finished().outcome, 'fast');
  assert.equal(s.finished().at, 200);
});
