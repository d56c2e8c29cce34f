'use strict';
// A manual clock for the lifecycle's state machines (GracefulQuit, Quit, ProcessState): timers fire
// in order when the test advances time, so timelines are asserted without waiting.
class FakeClock {
  constructor() {
    this.t = 0;
    this.timers = [];
  }
  now() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const h = { at: this.t + ms, fn, every: 0 };
    this.timers.push(h);
    return h;
  }
  setInterval(fn, ms) {
    const h = { at: this.t + ms, fn, every: ms };
    this.timers.push(h);
    return h;
  }
  clearTimeout(h) {
    this.timers = this.timers.filter((x) => x !== h);
  }
  clearInterval(h) {
    this.clearTimeout(h);
  }
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.t = end;
  }
}

module.exports = { FakeClock };
