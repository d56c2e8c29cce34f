// Graceful quit as a state machine over an injected clock, so the whole timeline is unit-tested
// without sleeping (design.md 7):
//   start_wait: readiness already 503, still accepting (Kubernetes removes the endpoint meanwhile)
//   draining:   listeners closed, idle keep-alive HTTP closed, in-flight requests and media
//               sessions finish; `wait for N conns to quit` every second; reacts the moment the
//               count reaches zero (SRS polls 1, 2, 4 ... 32 s apart)
//   final_wait: grace_final_wait after the last connection, then done.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface GraceSettings {
  startWaitMs: number;
  finalWaitMs: number;
  /** 0: drain without bound (SRS's behaviour); otherwise remaining connections are cut then */
  maxWaitMs: number;
}

export interface GraceEffects {
  /** readiness to 503, responses get `Connection: close` */
  stopBeingReady(): void;
  /** stop accepting on every listener, close idle keep-alive sockets */
  closeListeners(): void;
  openConnections(): number;
  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
  /** cut what is left (deadline, or a second quit signal) */
  cutConnections(): void;
  /** flush logs, remove the pid file, exit 0 */
  finish(outcome: GraceOutcome): void;
}

export type GraceState = 'idle' | 'start_wait' | 'draining' | 'final_wait' | 'done';
export type GraceOutcome = 'drained' | 'deadline' | 'fast';

export class GracefulQuit {
  state: GraceState = 'idle';
  private readonly clock: Clock;
  private readonly effects: GraceEffects;
  private settings: GraceSettings = { startWaitMs: 0, finalWaitMs: 0, maxWaitMs: 0 };
  /** why the quit runs (the signal, the upgrade), null while idle: for the console */
  reason: string | null = null;
  private timer: unknown = null;
  private ticker: unknown = null;
  private deadline: unknown = null;
  /** when each phase began, for the logs and the tests */
  readonly marks: Partial<Record<GraceState, number>> = {};

  constructor(clock: Clock, effects: GraceEffects) {
    this.clock = clock;
    this.effects = effects;
  }

  get active(): boolean {
    return this.state !== 'idle' && this.state !== 'done';
  }

  start(settings: GraceSettings, reason: string): void {
    if (this.state !== 'idle') return;
    this.settings = settings;
    this.reason = reason;
    this.enter('start_wait');
    this.effects.stopBeingReady();
    this.effects.log('info', `${reason}: start gracefully quit`, {
      grace_start_wait: settings.startWaitMs,
      grace_final_wait: settings.finalWaitMs,
      grace_max_wait: settings.maxWaitMs,
    });
    if (settings.maxWaitMs > 0) {
      this.deadline = this.clock.setTimeout(() => this.expire(), settings.startWaitMs + settings.maxWaitMs);
    }
    if (settings.startWaitMs > 0) {
      this.effects.log('info', `wait ${settings.startWaitMs}ms before closing listeners`);
      this.timer = this.clock.setTimeout(() => this.drain(), settings.startWaitMs);
    } else {
      this.drain();
    }
  }

  /** the waits in force (ms) */
  get waits(): GraceSettings {
    return { ...this.settings };
  }

  /** A reload may change grace settings while a quit is under way: the new waits apply from now. */
  update(settings: GraceSettings): void {
    this.settings = settings;
  }

  /** The registry reports every close; the drain ends the moment the count is zero. */
  connectionClosed(): void {
    if (this.state === 'draining' && this.effects.openConnections() === 0) this.finalWait();
  }

  /** A second quit signal during a graceful quit: turn it into a fast quit. */
  escalate(): void {
    if (!this.active) return;
    this.effects.log('warn', 'second quit signal: fast quit now', { open: this.effects.openConnections() });
    this.clear();
    this.effects.cutConnections();
    this.done('fast');
  }

  private enter(state: GraceState): void {
    this.state = state;
    this.marks[state] = this.clock.now();
  }

  private drain(): void {
    this.timer = null;
    this.enter('draining');
    this.effects.closeListeners();
    this.effects.log('info', 'listeners closed, draining connections', { open: this.effects.openConnections() });
    if (this.effects.openConnections() === 0) return this.finalWait();
    this.ticker = this.clock.setInterval(() => {
      const n = this.effects.openConnections();
      if (n > 0) this.effects.log('info', `wait for ${n} conns to quit`);
    }, 1000);
  }

  private finalWait(): void {
    if (this.ticker !== null) this.clock.clearInterval(this.ticker);
    this.ticker = null;
    if (this.deadline !== null) this.clock.clearTimeout(this.deadline);
    this.deadline = null;
    this.enter('final_wait');
    this.effects.log('info', `all connections closed, final wait ${this.settings.finalWaitMs}ms`);
    this.timer = this.clock.setTimeout(() => this.done('drained'), this.settings.finalWaitMs);
  }

  private expire(): void {
    this.deadline = null;
    if (this.state !== 'start_wait' && this.state !== 'draining') return;
    this.effects.log('warn', `grace_max_wait reached: cutting ${this.effects.openConnections()} conns`);
    this.clear();
    if (this.state === 'start_wait') this.effects.closeListeners();
    this.effects.cutConnections();
    this.done('deadline');
  }

  private clear(): void {
    for (const t of [this.timer, this.deadline]) if (t !== null) this.clock.clearTimeout(t);
    if (this.ticker !== null) this.clock.clearInterval(this.ticker);
    this.timer = this.deadline = this.ticker = null;
  }

  private done(outcome: GraceOutcome): void {
    this.enter('done');
    this.effects.finish(outcome);
  }
}
