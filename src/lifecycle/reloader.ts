// Reload orchestration: read the config again, plan what a running process may change, then apply
// it to every service, all or nothing. Serialised through the process state: a reload asked for
// while one runs (or while an upgrade has no outcome) makes exactly one more run afterwards, and
// every caller is answered with the outcome of the run that covered its request.
import fs from 'node:fs';
import type pino from 'pino';
import type { SrsConfig } from '../config/schema';
import { loadConfig, warningsToShow, type LoadedConfig, type LoadOptions } from '../config/load';
import type { ListenerSet } from '../server/listeners';
import { endpoint } from '../server/service';
import type { ServiceSet } from '../server/service';
import type { ReloadStatus } from '../server/metrics';
import { planReload, reloadStatusPath } from './reload';
import { writeRecord } from './pidfile';
import type { ProcessState } from './state';

export interface RunningConfig {
  config: SrsConfig;
  loaded: LoadedConfig;
}

export interface ReloaderDeps {
  state: ProcessState;
  running: RunningConfig;
  loadOptions: LoadOptions;
  log: () => pino.Logger;
  listeners: ListenerSet;
  services: ServiceSet;
  /** after a successful apply: what follows a new config outside the services (log level, limits, watch) */
  applied(before: SrsConfig, after: SrsConfig): void;
  notifier: { reloading(): unknown; ready(status: string): unknown };
  /** every outcome: the metric, then the status file next to the pid file */
  recorded(status: ReloadStatus): void;
  pidPath(): string;
  /** the reload ended with an upgrade waiting for it: start it */
  startUpgrade(): void;
}

type Waiter = (status: ReloadStatus) => void;

export class Reloader {
  private readonly d: ReloaderDeps;
  /** answered by the run under way */
  private current: Waiter[] = [];
  /** answered by the run after it */
  private next: Waiter[] = [];
  lastReload: ReloadStatus | null = null;
  /** 1 for the config read at start, +1 per successful reload (the console's generation) */
  generation = 1;

  constructor(d: ReloaderDeps) {
    this.d = d;
  }

  /** Reload from SIGHUP, inotify or the API; resolves with the outcome of the run that covers it. */
  request(trigger: string): Promise<ReloadStatus> {
    const decision = this.d.state.requestReload(trigger);
    if (decision === 'refused') return Promise.resolve(this.refuse(trigger, 'quitting: reload ignored'));
    return new Promise<ReloadStatus>((resolve) => {
      if (decision === 'run') {
        this.current.push(resolve);
        this.loop(trigger);
        return;
      }
      this.next.push(resolve);
      if (this.d.state.upgradeUnderWay) this.d.log().info({ trigger }, 'reload deferred until the upgrade under way has an outcome');
    });
  }

  /** The upgrade has an outcome: a reload queued during it runs now, or is answered (handed over). */
  afterUpgrade(outcome: { next: 'reload'; trigger: string } | { next: 'none'; dropped: string | null }, handedOverTo: number | null): void {
    if (outcome.next === 'reload') {
      this.runQueued(outcome.trigger);
      return;
    }
    if (outcome.dropped !== null) {
      const why =
        handedOverTo !== null
          ? `the upgrade handed over to pid ${handedOverTo}, which serves with the config it read when it started; this process is quitting: reload ignored`
          : 'quitting: reload ignored';
      this.answerNext(this.refuse(outcome.dropped, why));
    }
  }

  /** The state said a queued reload runs now (after an upgrade failed, or at the end of the start). */
  runQueued(trigger: string): void {
    this.promote();
    this.loop(trigger);
  }

  private promote(): void {
    this.current = this.next;
    this.next = [];
  }

  private answerNext(status: ReloadStatus): void {
    for (const w of this.next.splice(0)) w(status);
  }

  private loop(trigger: string): void {
    void (async () => {
      let t = trigger;
      for (;;) {
        // a throw outside what once() expects is a failed reload, never a stuck state
        const status = await this.once(t).catch((e: unknown) => this.failed(t, e, Date.now()));
        for (const w of this.current.splice(0)) w(status);
        const after = this.d.state.reloadFinished();
        if (after.next === 'reload') {
          this.promote();
          t = after.trigger;
          continue;
        }
        if (after.next === 'upgrade') {
          this.d.startUpgrade();
        } else if (after.dropped !== null) {
          this.answerNext(this.refuse(after.dropped, 'quitting: reload ignored'));
        }
        return;
      }
    })();
  }

  private async once(trigger: string): Promise<ReloadStatus> {
    const startedAt = Date.now();
    const log = this.d.log();
    this.d.notifier.reloading();
    let next: LoadedConfig;
    try {
      next = loadConfig(this.d.loadOptions);
    } catch (e) {
      return this.failed(trigger, e, startedAt);
    }
    // the environment has not changed since the start: its warnings were said then
    const warned = warningsToShow(next.warnings, (w) => w.code !== 'SRS_WARN_CONFIG_UNSUPPORTED' && w.code !== 'SRS_WARN_ENV_UNKNOWN');
    for (const w of warned.shown) log.warn({ code: w.code }, w.message);
    if (warned.more > 0) log.warn({ more: warned.more }, `reload: ${warned.more} more config warnings (srs -t lists them all)`);
    if (next.envOverrides.length > 0) {
      // SRS #3488: the environment wins over the file, on every reload too; say so rather than
      // leave an operator wondering why an edit did nothing
      log.warn({ code: 'SRS_WARN_RELOAD_KEPT', overrides: next.envOverrides.map((o) => o.variable) }, `reload: directives set by the environment keep their environment value: ${next.envOverrides.map((o) => `${o.path} (${o.variable})`).join(', ')}`);
    }
    const running = this.d.running;
    const plan = planReload(running.config, next.config);
    for (const c of plan.ignored) {
      log.warn({ code: 'SRS_WARN_RELOAD_KEPT', directive: c.path, running: c.from, wanted: c.to }, `reload: ${c.path} cannot change in a running process; keeping ${JSON.stringify(c.from)} (restart to apply)`);
    }
    try {
      // all or nothing: every socket bound and every service prepared before anything switches
      const sockets = await this.d.listeners.prepare(plan.effective);
      let services;
      try {
        services = await this.d.services.apply(plan.effective);
      } catch (e) {
        sockets.abort();
        throw e;
      }
      const { opened, closed, moved } = sockets.commit();
      services.commit();
      for (const m of moved) log.info({ listener: m.to.role, from: m.from.role }, `reload: ${endpoint(m.to.address)} moves from ${m.from.role} to ${m.to.role}; its open connections stay with ${m.from.role}`);
      for (const s of opened) log.info({ listener: s.role }, `reload: listen at ${endpoint(s.address)} (${s.role})`);
      for (const s of closed) log.info({ listener: s.role }, `reload: stopped listening at ${endpoint(s.address)} (${s.role}); its open connections stay`);
    } catch (e) {
      return this.failed(trigger, e, startedAt);
    }
    const before = running.config;
    running.config = plan.effective;
    running.loaded = next;
    const applied = plan.applied.map((c) => c.path);
    // logged before a new level applies, so a reload to `warn` still says that it happened
    log.info({ trigger, applied, ignored: plan.ignored.map((c) => c.path) }, applied.length ? `reload ok: applied ${applied.join(', ')}` : 'reload ok: nothing changed');
    this.d.applied(before, running.config);
    if (!this.d.state.quitting) this.d.notifier.ready('serving (reloaded)');
    this.generation++;
    return this.record({ at: Date.now(), ok: true, trigger, error: null, applied, ignored: plan.ignored.map((c) => c.path) }, startedAt);
  }

  /** Nothing of the new config was applied: say why, and tell systemd we are serving as before. */
  private failed(trigger: string, e: unknown, startedAt: number): ReloadStatus {
    const error = e instanceof Error ? e.message : String(e);
    this.d.log().error({ code: 'SRS_ERR_RELOAD_FAILED', trigger, error }, `reload failed, keeping the running config: ${error}`);
    if (!this.d.state.quitting) this.d.notifier.ready('serving (reload failed, running config kept)');
    return this.record({ at: Date.now(), ok: false, trigger, error, applied: [], ignored: [] }, startedAt);
  }

  /** A reload that did not run: recorded like one, so every caller and `srs -s reload` get an answer. */
  refuse(trigger: string, error: string): ReloadStatus {
    return this.record({ at: Date.now(), ok: false, trigger, error, applied: [], ignored: [] }, Date.now());
  }

  private record(status: ReloadStatus, startedAt: number): ReloadStatus {
    this.lastReload = status;
    this.d.recorded(status);
    // the outcome for `srs -s reload` and init.d: written atomically next to the pid file, or in
    // the temp dir when the pid file's directory is not writable
    try {
      writeRecord(this.d.pidPath(), 'reload', { ...status, started_at: startedAt, pid: process.pid });
    } catch (e) {
      this.d.log().warn({ code: 'SRS_WARN_RECORD', file: reloadStatusPath(this.d.pidPath()), err: e }, 'could not write the reload status file, nor its fallback in the temp dir: srs -s reload cannot learn this outcome');
    }
    return status;
  }
}
