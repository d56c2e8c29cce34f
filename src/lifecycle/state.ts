// The process state as one pure state machine: starting, ready, reloading, upgrading, quitting.
// Signals, inotify and the API ask it what to do (run a reload now or after the one running, start
// an upgrade or refuse it, begin, continue or escalate a quit); the controller carries out the
// answer. No timers and no I/O here: the clock is injected, and every decision is unit-tested.

export type Phase = 'starting' | 'ready' | 'reloading' | 'upgrading' | 'quitting';
/** how the process is leaving: a graceful drain, a fast quit, or the drain after an upgrade's handover */
export type QuitMode = 'graceful' | 'fast' | 'handover';
/** what a quit signal asks for: SIGQUIT graceful, SIGINT fast, SIGTERM `terminate` (fast, or graceful with force_grace_quit) */
export type QuitRequest = 'graceful' | 'fast' | 'terminate';

export type ReloadDecision = 'run' | 'queued' | 'refused';
export type UpgradeDecision = { ok: true; afterReload: boolean } | { ok: false; reason: string };
export type AfterReload = { next: 'reload'; trigger: string } | { next: 'upgrade' } | { next: 'none'; dropped: string | null };
export type AfterUpgrade = { next: 'reload'; trigger: string } | { next: 'none'; dropped: string | null };

export type QuitDecision =
  /** start a graceful quit (abortUpgrade: a new process is being started: stop it first) */
  | { action: 'graceful'; abortUpgrade: boolean }
  | { action: 'fast'; abortUpgrade: boolean }
  /** a graceful quit (or an upgrade's drain) is under way: cut what is left now */
  | { action: 'escalate' }
  /** a graceful quit is under way and this signal asks for no more than that (force_grace_quit on) */
  | { action: 'continue'; message: string }
  /** a fast quit is finishing, or the process is done */
  | { action: 'ignore' };

export interface StateClock {
  now(): number;
}

export class ProcessState {
  phase: Phase = 'starting';
  /** epoch ms the phase began */
  since: number;
  quitMode: QuitMode | null = null;
  /** the quit has finished (exit under way): nothing more to do */
  finished = false;
  /** a reload asked for while another, or an upgrade, runs: exactly one more run, with the last trigger */
  private reloadQueued: string | null = null;
  /** an upgrade accepted while a reload runs: it starts when the reload ends */
  private upgradeWaiting = false;
  private readonly clock: StateClock;
  /** every phase entered, for the logs and the tests */
  readonly history: Array<{ phase: Phase; at: number }> = [];

  constructor(clock: StateClock) {
    this.clock = clock;
    this.since = clock.now();
    this.history.push({ phase: 'starting', at: this.since });
  }

  private enter(phase: Phase): void {
    this.phase = phase;
    this.since = this.clock.now();
    this.history.push({ phase, at: this.since });
  }

  /** readiness: serving and not leaving (reloads and upgrades keep serving) */
  get ready(): boolean {
    return this.phase === 'ready' || this.phase === 'reloading' || this.phase === 'upgrading';
  }

  get quitting(): boolean {
    return this.phase === 'quitting';
  }

  /** an upgrade is accepted and has no outcome yet (it may still wait for a reload) */
  get upgradeUnderWay(): boolean {
    return this.phase === 'upgrading' || this.upgradeWaiting;
  }

  /** Every listener is bound and the process said ready. Returns a reload queued meanwhile. */
  started(): string | null {
    if (this.phase !== 'starting') return null;
    const queued = this.reloadQueued;
    this.reloadQueued = null;
    if (queued !== null) {
      this.enter('reloading');
      return queued;
    }
    this.enter('ready');
    return null;
  }

  /**
   * A reload from SIGHUP, inotify or the API. `run`: start it now (phase reloading). `queued`:
   * one runs, or an upgrade has no outcome yet; it runs after (a burst of 100 asks runs once more,
   * with the last trigger). `refused`: quitting.
   */
  requestReload(trigger: string): ReloadDecision {
    if (this.phase === 'quitting') return 'refused';
    if (this.phase === 'ready') {
      this.enter('reloading');
      return 'run';
    }
    this.reloadQueued = trigger;
    return 'queued';
  }

  /** A reload run ended (applied or failed): what comes next. */
  reloadFinished(): AfterReload {
    if (this.phase !== 'reloading') return { next: 'none', dropped: this.takeQueued() };
    if (this.upgradeWaiting) {
      // the upgrade was asked for first; a reload queued meanwhile waits for its outcome
      this.upgradeWaiting = false;
      this.enter('upgrading');
      return { next: 'upgrade' };
    }
    const queued = this.takeQueued();
    if (queued !== null) return { next: 'reload', trigger: queued };
    this.enter('ready');
    return { next: 'none', dropped: null };
  }

  private takeQueued(): string | null {
    const q = this.reloadQueued;
    this.reloadQueued = null;
    return q;
  }

  /**
   * SIGUSR2. Refused when quitting, when an upgrade is under way, or before start. An upgrade
   * asked for during a reload waits for it: the new process must not bind what we are binding.
   */
  requestUpgrade(): UpgradeDecision {
    if (this.phase === 'quitting') return { ok: false, reason: 'quitting' };
    if (this.upgradeUnderWay) return { ok: false, reason: 'an upgrade is already under way' };
    if (this.phase === 'starting') return { ok: false, reason: 'not started' };
    if (this.phase === 'reloading') {
      this.upgradeWaiting = true;
      return { ok: true, afterReload: true };
    }
    this.enter('upgrading');
    return { ok: true, afterReload: false };
  }

  /**
   * The upgrade's outcome. Handed over: this process drains and leaves (a reload queued meanwhile
   * is dropped, and returned so that its caller gets an answer: the new process read the config).
   * Failed: serving as before, and a reload queued meanwhile runs now.
   */
  upgradeFinished(handedOver: boolean): AfterUpgrade {
    if (this.phase !== 'upgrading') return { next: 'none', dropped: this.takeQueued() };
    if (handedOver) {
      this.enter('quitting');
      this.quitMode = 'handover';
      return { next: 'none', dropped: this.takeQueued() };
    }
    const queued = this.takeQueued();
    if (queued !== null) {
      this.enter('reloading');
      return { next: 'reload', trigger: queued };
    }
    this.enter('ready');
    return { next: 'none', dropped: null };
  }

  /**
   * A quit signal. Not quitting yet: begin (SIGTERM is fast, or graceful with force_grace_quit;
   * an upgrade under way is aborted first). During a graceful quit or an upgrade's drain: with
   * force_grace_quit on, a graceful request (SIGTERM, SIGQUIT) continues the drain, as SRS ignores
   * a second graceful quit, and only SIGINT cuts; without it, any second signal cuts (nginx's
   * habit, and srs's before force_grace_quit). During a fast quit, or once done: nothing.
   */
  quitSignal(request: QuitRequest, forceGraceQuit: boolean, signal: string): QuitDecision {
    const wants: 'graceful' | 'fast' = request === 'terminate' ? (forceGraceQuit ? 'graceful' : 'fast') : request;
    if (this.phase !== 'quitting') {
      const abortUpgrade = this.upgradeUnderWay;
      this.upgradeWaiting = false;
      this.reloadQueued = null;
      this.enter('quitting');
      this.quitMode = wants;
      return { action: wants, abortUpgrade };
    }
    if (this.finished || this.quitMode === 'fast') return { action: 'ignore' };
    if (forceGraceQuit && wants === 'graceful') {
      return { action: 'continue', message: `${signal} during graceful quit: continuing the drain (force_grace_quit on)` };
    }
    this.quitMode = 'fast';
    return { action: 'escalate' };
  }

  /** The quit is done: the process exits. */
  finish(): void {
    if (this.phase !== 'quitting') this.enter('quitting');
    this.finished = true;
  }
}
