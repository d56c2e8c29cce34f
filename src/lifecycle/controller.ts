// The one lifecycle controller: it owns the running config, the listeners, the pid file and the
// log, and acts on intents (reload, reopen, graceful or fast quit) that signals, inotify and the
// API hand it. Nothing else in the process decides when to reload or exit.
import fs from 'node:fs';
import path from 'node:path';
import type { SrsConfig } from '../config/schema';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load';
import { SrsError, ExitCode } from '../errors';
import { ConnectionRegistry } from '../server/registry';
import { ListenerSet, endpoint } from '../server/listeners';
import { Metrics, type ReloadStatus } from '../server/metrics';
import type { ApiContext } from '../server/http';
import type { SrsLog } from '../server/log';
import { acquirePidFile, type PidFileLock } from './pidfile';
import { GracefulQuit, realClock, type GraceOutcome } from './grace';
import type { Intent } from './signals';
import type { DaemonDecision, ReadinessReporter } from './daemon';
import type { ContainerVerdict } from './container';
import { SystemdNotifier } from './notify';
import { planReload, reloadStatusPath } from './reload';
import { ConfigWatcher } from './watch';
import { handOverSockets, writeUpgradeRecord, type InheritedSockets, type UpgradeLaunch } from './upgrade';

/**
 * A keep-alive socket idle this long is closed by the drain. Not zero: a client that has just
 * received a response may have its next request on the wire, and closing under it is a reset.
 */
export const IDLE_HTTP_GRACE_MS = 200;
export const IDLE_HTTP_SWEEP_MS = 100;

export interface ControllerOptions {
  version: string;
  loaded: LoadedConfig;
  /** how to read the config again on reload */
  loadOptions: LoadOptions;
  cwd: string;
  decision: DaemonDecision;
  container: ContainerVerdict;
  log: SrsLog;
  readiness: ReadinessReporter;
  notifier: SystemdNotifier;
  startedAt: number;
  /** the working directory srs was started in (before work_dir): the upgrade re-runs argv there */
  launchCwd: string;
  /** what a previous process handed over (zero-downtime upgrade) */
  inherited: InheritedSockets;
  /** how the process ends: main flushes the log in order, then exits */
  exit: (code: number) => void;
}

interface UpgradeState {
  launch: UpgradeLaunch | null;
  /** settles when the upgrade has succeeded or failed */
  done: Promise<void>;
}

export class LifecycleController {
  private config: SrsConfig;
  private loaded: LoadedConfig;
  private readonly opts: ControllerOptions;
  readonly registry: ConnectionRegistry;
  readonly metrics: Metrics;
  private readonly listeners: ListenerSet;
  private readonly grace: GracefulQuit;
  private readonly watcher: ConfigWatcher;
  private pidFile: PidFileLock | null = null;
  private ready = false;
  private quitting = false;
  private lastReload: ReloadStatus | null = null;
  private reloading: Promise<ReloadStatus> | null = null;
  private reloadAgain: string | null = null;
  private asprocessTimer: NodeJS.Timeout | null = null;
  /** the upgrade under way, if any: a quit aborts its launch */
  private upgrade_: UpgradeState | null = null;
  private idleSweeper: NodeJS.Timeout | null = null;
  private readonly refusals: { timer: NodeJS.Timeout | null; count: number } = { timer: null, count: 0 };

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.loaded = opts.loaded;
    this.config = opts.loaded.config;
    this.registry = new ConnectionRegistry(this.config.maxConnections);
    this.metrics = new Metrics(this.registry, opts.startedAt);
    this.registry.on('refused', (r: { listener: string; remote: string; reason: string }) => this.refused(r));
    this.registry.on('closed', () => this.grace.connectionClosed());
    this.listeners = new ListenerSet({
      registry: this.registry,
      metrics: this.metrics,
      log: () => this.log,
      api: this.apiContext(),
      inheritedFds: opts.inherited.fds,
    });
    this.grace = new GracefulQuit(realClock, {
      stopBeingReady: () => {
        this.ready = false;
        this.registry.startDraining();
      },
      closeListeners: () => {
        this.listeners.closeAll();
        this.registry.closeIdleHttp(IDLE_HTTP_GRACE_MS);
        // keep sweeping: a keep-alive socket that goes idle later leaves too
        this.idleSweeper = setInterval(() => this.registry.closeIdleHttp(IDLE_HTTP_GRACE_MS), IDLE_HTTP_SWEEP_MS);
        this.idleSweeper.unref();
      },
      openConnections: () => this.registry.size,
      log: (level, msg, fields) => this.log[level](fields ?? {}, msg),
      cutConnections: () => {
        const n = this.registry.destroyAll();
        if (n > 0) this.log.warn({ cut: n }, `cut ${n} connections`);
      },
      finish: (outcome) => this.finish(ExitCode.OK, `graceful quit done (${outcome})`, outcome),
    });
    this.watcher = new ConfigWatcher((reason) => void this.reload(reason));
  }

  /**
   * The first refusal is logged at once, then one line a second with the count: a flood of
   * clients over max_connections must not become a flood of log lines that fills the disk.
   */
  private refused(r: { listener: string; remote: string; reason: string }): void {
    if (this.refusals.timer) {
      this.refusals.count++;
      return;
    }
    this.log.warn({ listener: r.listener, remote: r.remote, max_connections: this.registry.maxConnections }, `connection refused: ${r.reason}`);
    this.refusals.timer = setTimeout(() => {
      this.refusals.timer = null;
      if (this.refusals.count > 0) {
        this.log.warn({ max_connections: this.registry.maxConnections }, `connection refused: ${this.refusals.count} more in the last second (max_connections)`);
        this.refusals.count = 0;
      }
    }, 1000);
    this.refusals.timer.unref();
  }

  private get log(): import('pino').Logger {
    return this.opts.log.logger;
  }

  private pidPath(): string {
    return path.resolve(this.opts.cwd, this.config.pid);
  }

  /**
   * Lock the pid file, bind every listener, then say ready (starter pipe, systemd, log).
   * `writeStartLines` writes the first log lines: once every socket is bound, before the HTTP
   * applications are built, so that nothing slows the bind; or, when the start fails, before
   * the error is thrown, so that the log says what was starting.
   */
  async start(writeStartLines: () => void = () => {}): Promise<void> {
    let stalePid: number | null = null;
    let written = false;
    const startLines = (): void => {
      if (written) return;
      written = true;
      writeStartLines();
      if (stalePid !== null) this.log.warn({ pid_file: this.config.pid, stale_pid: stalePid }, 'took over a stale pid file: its process is gone');
    };
    let opened: Awaited<ReturnType<ListenerSet['apply']>>['opened'];
    try {
      // the new process of an upgrade renames its own locked file over the one its parent holds
      this.pidFile = acquirePidFile(this.pidPath(), process.pid, { replace: this.opts.inherited.parentPid !== null });
      stalePid = this.pidFile.stalePid;
      ({ opened } = await this.listeners.apply(this.config, startLines));
    } catch (e) {
      startLines();
      throw e;
    }
    const parent = this.opts.inherited.parentPid;
    for (const spec of opened) {
      const how = spec.inherited ? `, inherited from pid ${parent ?? '?'}` : '';
      this.log.info({ listener: spec.role, address: endpoint(spec.address), inherited: spec.inherited || undefined }, `listen at ${endpoint(spec.address)} (${spec.role}${how})`);
    }
    // sockets handed over that this config no longer wants
    for (const [key, fd] of this.opts.inherited.fds) {
      this.log.info({ key }, `closing inherited socket ${key}: the config no longer listens there`);
      try {
        fs.closeSync(fd);
      } catch {
        // not open: nothing to close
      }
    }
    this.opts.inherited.fds.clear();
    if (parent) this.log.info({ parent, generation: this.opts.inherited.generation }, `upgrade: generation ${this.opts.inherited.generation}, took over from pid ${parent}`);
    this.applyWatcher();
    this.watchParent();
    this.ready = true;
    const serving = opened.map((s) => `${s.role} ${endpoint(s.address)}`).join(', ');
    const summary = `srs ${this.opts.version} ready, pid ${process.pid}, ${serving}`;
    this.log.info({ pid: process.pid }, summary);
    this.opts.readiness.ready(summary);
    const err = this.opts.notifier.ready(`serving: ${serving}`);
    if (err) this.log.warn({ err }, 'sd_notify READY=1 failed');
  }

  /** start() threw: give back what it took, so the failure leaves nothing behind. */
  releaseAfterFailedStart(): void {
    this.listeners.closeAll();
    this.watcher.stop();
    this.pidFile?.release();
    this.pidFile = null;
  }

  handle(intent: Intent, signal: string): void {
    switch (intent) {
      case 'reload':
        this.log.info({ signal }, 'reload requested');
        void this.reload(signal);
        return;
      case 'reopen':
        this.reopen(signal);
        return;
      case 'gracefulQuit':
        this.gracefulQuit(`${signal}`);
        return;
      case 'terminate':
        if (this.config.forceGraceQuit) this.gracefulQuit(`${signal} with force_grace_quit on`);
        else this.fastQuit(signal);
        return;
      case 'fastQuit':
        this.fastQuit(signal);
        return;
      case 'upgrade':
        void this.upgrade(signal);
        return;
    }
  }

  /**
   * SIGUSR2: start the installed srs with our listening sockets; once it is ready, it owns the pid
   * file and we drain and leave. If it fails, we keep serving and take the pid file back.
   * Serialised with reloads: an upgrade waits for a running reload (the new process must not try
   * to bind what we are binding), and reloads wait for the upgrade's outcome.
   */
  async upgrade(trigger: string): Promise<void> {
    const refuse = this.quitting
      ? 'quitting'
      : this.upgrade_ !== null
        ? 'an upgrade is already under way'
        : !this.pidFile
          ? 'not started'
          : this.config.asprocess
            ? 'asprocess on: the parent that supervises this process restarts it instead'
            : process.pid === 1
              ? "running as PID 1 (a container's init): the container would end with this process; replace the container instead (a rolling update)"
              : null;
    if (refuse) {
      this.log.warn({ trigger }, `upgrade ignored: ${refuse}`);
      // `srs -s upgrade` waits for an answer: give it one, in the record file that goes with the
      // pid file. Not for a second SIGUSR2 during an upgrade (its record would answer the first
      // one's waiter too), nor once a handover has moved our pid file aside: the record file is
      // the new process's then.
      if (this.pidFile && this.upgrade_ === null && path.resolve(this.pidFile.path) === this.pidPath()) {
        writeUpgradeRecord(this.pidPath(), { ok: false, refused: true, message: refuse, new_pid: null, started_at: Date.now() }, this.log);
      }
      return;
    }
    let settled!: () => void;
    const state: UpgradeState = { launch: null, done: new Promise<void>((r) => (settled = r)) };
    this.upgrade_ = state;
    try {
      await this.reloading;
      if (this.quitting) return;
      await this.handOver(trigger, state);
    } catch (e) {
      this.log.error({ err: e }, `upgrade failed, this process keeps serving: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.upgrade_ = null;
      settled();
      if (!this.quitting && this.reloadAgain !== null) {
        const again = this.reloadAgain;
        this.reloadAgain = null;
        void this.reload(again);
      }
    }
  }

  private async handOver(trigger: string, state: UpgradeState): Promise<void> {
    const outcome = await handOverSockets({
      log: this.log,
      pidFile: this.pidFile!,
      pidPath: this.pidPath(),
      sockets: this.listeners.listeningSockets(),
      generation: this.opts.inherited.generation + 1,
      argv: process.argv.slice(1),
      env: process.env,
      cwd: this.opts.launchCwd,
      trigger,
      onLaunch: (launch) => (state.launch = launch),
    });
    if (!outcome.ok) return;
    // systemd follows the new main process (the unit needs NotifyAccess=all)
    this.opts.notifier.notify([`MAINPID=${outcome.pid}`]);
    this.quitting = true;
    this.watcher.stop();
    // nobody needs to find us gone: the new process already answers, so no grace_start_wait
    this.grace.start({ startWaitMs: 0, finalWaitMs: this.config.graceFinalWait, maxWaitMs: this.config.graceMaxWait }, `upgrade handed over to pid ${outcome.pid}`);
  }

  reopen(trigger: string): void {
    if (this.config.logTank !== 'file') {
      this.log.info({ trigger }, 'log reopen requested: the log goes to the console, nothing to reopen');
      return;
    }
    this.opts.log.reopen();
    this.log.info({ trigger }, 'log file reopened');
  }

  /** A quit signal: false when it only escalates (or repeats) a quit already under way. */
  private beginQuit(): boolean {
    if (this.grace.active) {
      this.grace.escalate();
      return false;
    }
    if (this.quitting) return false;
    this.quitting = true;
    // a new process still starting would be left serving with our sockets: it goes too, and the
    // pid file is ours again before we release it
    if (this.upgrade_?.launch) {
      this.upgrade_.launch.abort('a quit signal arrived during the upgrade');
      try {
        this.pidFile?.restore(this.pidPath());
      } catch (e) {
        this.log.warn({ err: e }, 'could not take the pid file back from the aborted upgrade');
      }
    }
    return true;
  }

  gracefulQuit(reason: string): void {
    if (!this.beginQuit()) return;
    this.watcher.stop();
    this.opts.notifier.stopping('graceful quit');
    this.grace.start(
      { startWaitMs: this.config.graceStartWait, finalWaitMs: this.config.graceFinalWait, maxWaitMs: this.config.graceMaxWait },
      `${reason}: user`,
    );
  }

  fastQuit(reason: string): void {
    if (!this.beginQuit()) return;
    this.ready = false;
    this.log.info({ reason, open: this.registry.size }, `${reason}: fast quit`);
    this.opts.notifier.stopping('fast quit');
    this.listeners.closeAll();
    const cut = this.registry.destroyAll();
    this.finish(ExitCode.OK, `fast quit done, ${cut} connections closed`, 'fast');
  }

  private finish(code: number, msg: string, outcome: GraceOutcome): void {
    this.watcher.stop();
    if (this.asprocessTimer) clearInterval(this.asprocessTimer);
    if (this.idleSweeper) clearInterval(this.idleSweeper);
    this.log.info({ outcome, uptime_ms: Date.now() - this.opts.startedAt }, `${msg}, bye`);
    this.pidFile?.release();
    this.opts.exit(code);
  }

  /**
   * Reload from SIGHUP, inotify or the API. Serialised: a reload asked for while one runs makes
   * exactly one more run afterwards, so a burst of 100 SIGHUPs ends with the last config applied.
   */
  reload(trigger: string): Promise<ReloadStatus> {
    if (this.quitting) {
      const status = this.recordReload({ at: Date.now(), ok: false, trigger, error: 'quitting: reload ignored', applied: [], ignored: [] }, Date.now());
      return Promise.resolve(status);
    }
    if (this.upgrade_) {
      // after the upgrade's outcome: if it failed we reload then; if it succeeded the new
      // process has read the config already and we are on our way out
      this.reloadAgain = trigger;
      this.log.info({ trigger }, 'reload deferred until the upgrade under way has an outcome');
      return this.upgrade_.done.then(() => this.reloading ?? Promise.resolve(this.lastReload!));
    }
    if (this.reloading) {
      this.reloadAgain = trigger;
      return this.reloading.then(() => this.reloading ?? Promise.resolve(this.lastReload!));
    }
    const run = async (t: string): Promise<ReloadStatus> => {
      let status = await this.reloadOnce(t);
      while (this.reloadAgain !== null && !this.quitting) {
        const again = this.reloadAgain;
        this.reloadAgain = null;
        status = await this.reloadOnce(again);
      }
      return status;
    };
    this.reloading = run(trigger).finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async reloadOnce(trigger: string): Promise<ReloadStatus> {
    const startedAt = Date.now();
    this.opts.notifier.reloading();
    let next: LoadedConfig;
    try {
      next = loadConfig(this.opts.loadOptions);
    } catch (e) {
      return this.reloadFailed(trigger, e, startedAt);
    }
    for (const w of next.warnings) if (w.code !== 'unsupported') this.log.warn({ code: w.code }, w.message);
    if (next.envOverrides.length > 0) {
      // SRS #3488: the environment wins over the file, on every reload too; say so rather than
      // leave an operator wondering why an edit did nothing
      this.log.warn({ overrides: next.envOverrides.map((o) => o.variable) }, `reload: directives set by the environment keep their environment value: ${next.envOverrides.map((o) => `${o.path} (${o.variable})`).join(', ')}`);
    }
    const plan = planReload(this.config, next.config);
    for (const c of plan.ignored) {
      this.log.warn({ directive: c.path, running: c.from, wanted: c.to }, `reload: ${c.path} cannot change in a running process; keeping ${JSON.stringify(c.from)} (restart to apply)`);
    }
    try {
      const { opened, closed } = await this.listeners.apply(plan.effective);
      for (const s of opened) this.log.info({ listener: s.role }, `reload: listen at ${endpoint(s.address)} (${s.role})`);
      for (const s of closed) this.log.info({ listener: s.role }, `reload: stopped listening at ${endpoint(s.address)} (${s.role}); its open connections stay`);
    } catch (e) {
      return this.reloadFailed(trigger, e, startedAt);
    }
    const before = this.config;
    this.config = plan.effective;
    this.loaded = next;
    const applied = plan.applied.map((c) => c.path);
    // logged before a new level applies, so a reload to `warn` still says that it happened
    this.log.info({ trigger, applied, ignored: plan.ignored.map((c) => c.path) }, applied.length ? `reload ok: applied ${applied.join(', ')}` : 'reload ok: nothing changed');
    if (before.logLevel !== this.config.logLevel) this.opts.log.setLevel(this.config.logLevel);
    this.registry.setMaxConnections(this.config.maxConnections);
    if (!this.quitting) {
      this.applyWatcher();
      this.opts.notifier.ready('serving (reloaded)');
    }
    return this.recordReload({ at: Date.now(), ok: true, trigger, error: null, applied, ignored: plan.ignored.map((c) => c.path) }, startedAt);
  }

  /** Nothing of the new config was applied: say why, and tell systemd we are serving as before. */
  private reloadFailed(trigger: string, e: unknown, startedAt: number): ReloadStatus {
    const error = e instanceof Error ? e.message : String(e);
    this.log.error({ trigger, error }, `reload failed, keeping the running config: ${error}`);
    if (!this.quitting) this.opts.notifier.ready('serving (reload failed, running config kept)');
    return this.recordReload({ at: Date.now(), ok: false, trigger, error, applied: [], ignored: [] }, startedAt);
  }

  private recordReload(status: ReloadStatus, startedAt: number): ReloadStatus {
    this.lastReload = status;
    this.metrics.reloaded(status);
    // the outcome for `srs -s reload` and init.d: written atomically next to the pid file
    const file = reloadStatusPath(this.pidPath());
    try {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify({ ...status, started_at: startedAt, pid: process.pid }) + '\n');
      fs.renameSync(`${file}.tmp`, file);
    } catch (e) {
      this.log.warn({ file, err: e }, 'could not write the reload status file');
    }
    return status;
  }

  private applyWatcher(): void {
    const on = this.config.inotifyAutoReload || (this.config.autoReloadForDocker && this.opts.container.inContainer);
    if (!on || this.loaded.files.length === 0) {
      if (this.watcher.watching) this.log.info('config watch off');
      this.watcher.stop();
      return;
    }
    const wasWatching = this.watcher.watching;
    try {
      this.watcher.update(this.loaded.files, this.loaded.filesHash);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot watch the config for changes');
      return;
    }
    if (!wasWatching) {
      const why = this.config.inotifyAutoReload ? 'inotify_auto_reload on' : 'auto_reload_for_docker on, in a container';
      this.log.info({ files: this.loaded.files }, `watching the config for changes (${why})`);
    }
  }

  /** asprocess on: quit when the parent that supervises us goes away (SRS checks every second). */
  private watchParent(): void {
    if (!this.config.asprocess) return;
    const parent = process.ppid;
    this.asprocessTimer = setInterval(() => {
      if (process.ppid !== parent) {
        this.log.warn({ parent, now: process.ppid }, 'asprocess: parent process is gone');
        this.fastQuit('asprocess');
      }
    }, 1000);
    this.asprocessTimer.unref();
  }

  private apiContext(): ApiContext {
    return {
      version: this.opts.version,
      startedAt: this.opts.startedAt,
      configFile: this.opts.loaded.source,
      cwd: this.opts.cwd,
      registry: this.registry,
      metrics: this.metrics,
      daemonDecision: () => ({ daemon: this.opts.decision.daemon, reason: this.opts.decision.reason, container: this.opts.container.inContainer ? `${this.opts.container.sign}: ${this.opts.container.detail}` : this.opts.container.detail }),
      lastReload: () => this.lastReload,
      isReady: () => this.ready,
      upgrade: () => ({
        generation: this.opts.inherited.generation,
        parentPid: this.opts.inherited.parentPid,
        inherited: this.listeners.list().filter((l) => l.inherited).map((l) => `${l.spec.role} ${endpoint(l.spec.address)}`),
      }),
      rawApi: () => this.config.httpApi.rawApi,
      auth: () => this.config.httpApi.auth,
      reload: (trigger) => this.reload(trigger),
      log: () => this.log,
    };
  }
}

/** One line for the terminal: the message, never a stack (that goes to the log). */
export function describeStartError(e: unknown): { code: number; message: string } {
  if (e instanceof SrsError) return { code: e.exitCode, message: e.message };
  return { code: ExitCode.FAILURE, message: e instanceof Error ? e.message : String(e) };
}
