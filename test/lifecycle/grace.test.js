'use strict';
// The graceful-quit state machine on a fake clock: the whole timeline, no sleeping.
const test = require('node:test');
const assert = require('node:assert/strict');
const { GracefulQuit } = require('../../dist/lifecycle/grace.js');

class FakeClock {
  constructor() {
    this.t = 0;
    this.timers = [];
    this.seq = 0;
  }
  now() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const h = { id: ++this.seq, at: this.t + ms, fn, every: 0 };
    this.timers.push(h);
    return h;
  }
  setInterval(fn, ms) {
    const h = { id: ++this.seq, at: this.t + ms, fn, every: ms };
    this.timers.push(h);
    return h;
  }
  clearTimeout(h) {
    this.timers = this.timers.filter((x) => x !== h);
  }
  clearInterval(h) {
    this.clearTimeout(h);
  }
  /** advance to `to`, firing timers in order */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.t = end;
  }
}

function setup(conns) {
  const clock = new FakeClock();
  const events = [];
  const state = { open: conns, ready: true, listening: true, cut: false, finished: null };
  const g = new GracefulQuit(clock, {
    stopBeingReady: () => {
      state.ready = false;
      events.push([clock.now(), 'not-ready']);
    },
    closeListeners: () => {
      state.listening = false;
      events.push([clock.now(), 'closed-listeners']);
    },
    openConnections: () => state.open,
    log: (level, msg) => events.push([clock.now(), `${level}: ${msg}`]),
    cutConnections: () => {
      state.cut = true;
      state.open = 0;
    },
    finish: (outcome) => {
      state.finished = { outcome, at: clock.now() };
    },
  });
  const close = () => {
    state.open--;
    g.connectionClosed();
  };
  return { clock, events, state, g, close };
}

test('timeline: not ready at once, accept during start wait, close listeners, drain, final wait', () => {
  const { clock, events, state, g, close } = setup(2);
  g.start({ startWaitMs: 2300, finalWaitMs: 3200, maxWaitMs: 0 }, 'SIGQUIT');
  assert.equal(state.ready, false);
  assert.equal(g.state, 'start_wait');
  clock.advance(2299);
  assert.equal(state.listening, true, 'listeners still accept during grace_start_wait');
  clock.advance(1);
  assert.equal(state.listening, false);
  assert.equal(g.state, 'draining');
  clock.advance(3000);
  assert.equal(events.filter(([, e]) => e === 'info: wait for 2 conns to quit').length, 3, 'one wait line a second');
  close();
  assert.equal(g.state, 'draining');
  clock.advance(500);
  close();
  assert.equal(g.state, 'final_wait', 'reacts the moment the count reaches zero');
  assert.equal(g.marks.final_wait, 2300 + 3500);
  clock.advance(3199);
  assert.equal(state.finished, null);
  clock.advance(1);
  assert.deepEqual(state.finished, { outcome: 'drained', at: 2300 + 3500 + 3200 });
  assert.equal(state.cut, false, 'nothing was cut');
});

test('no connections: straight through both waits', () => {
  const { clock, state, g } = setup(0);
  g.start({ startWaitMs: 100, finalWaitMs: 50, maxWaitMs: 0 }, 'SIGQUIT');
  clock.advance(100);
  assert.equal(g.state, 'final_wait');
  clock.advance(50);
  assert.deepEqual(state.finished, { outcome: 'drained', at: 150 });
});

test('zero start wait closes listeners immediately (upgrade handover)', () => {
  const { state, g } = setup(1);
  g.start({ startWaitMs: 0, finalWaitMs: 0, maxWaitMs: 0 }, 'upgrade');
  assert.equal(state.listening, false);
  assert.equal(g.state, 'draining');
});

test('grace_max_wait cuts what is left', () => {
  const { clock, state, g } = setup(3);
  g.start({ startWaitMs: 1000, finalWaitMs: 500, maxWaitMs: 4000 }, 'SIGQUIT');
  clock.advance(4999);
  assert.equal(state.finished, null);
  clock.advance(1);
  assert.equal(state.cut, true);
  assert.deepEqual(state.finished, { outcome: 'deadline', at: 5000 });
});

test('max wait is disarmed once drained', () => {
  const { clock, state, g, close } = setup(1);
  g.start({ startWaitMs: 0, finalWaitMs: 1000, maxWaitMs: 500 }, 'SIGQUIT');
  close();
  clock.advance(1000);
  assert.deepEqual(state.finished, { outcome: 'drained', at: 1000 });
  assert.equal(state.cut, false);
});

test('a second quit signal escalates to a fast quit', () => {
  const { clock, state, g } = setup(5);
  g.start({ startWaitMs: 2300, finalWaitMs: 3200, maxWaitMs: 0 }, 'SIGQUIT');
  clock.advance(3000);
  g.escalate();
  assert.equal(state.cut, true);
  assert.deepEqual(state.finished, { outcome: 'fast', at: 3000 });
  clock.advance(100000);
  assert.deepEqual(state.finished, { outcome: 'fast', at: 3000 }, 'no timer fires after finishing');
});

test('start twice is one quit', () => {
  const { clock, events, g } = setup(0);
  g.start({ startWaitMs: 10, finalWaitMs: 10, maxWaitMs: 0 }, 'a');
  g.start({ startWaitMs: 10, finalWaitMs: 10, maxWaitMs: 0 }, 'b');
  clock.advance(100);
  assert.equal(events.filter(([, e]) => e === 'not-ready').length, 1);
});
