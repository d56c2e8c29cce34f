// The one lifecycle controller: it owns the running config, the services and their listeners, the
// pid file and the log, and turns intents (reload, reopen, graceful or fast quit, upgrade) that
// signals, inotify and the API hand it into the orchestrations of reloader.ts, quit.ts and
// upgrader.ts. What an intent means at this moment is the process state's (state.ts) to say.
import fs from 'node:fs';
import path from 'node:path';
import type { SrsConfig } from '../config/schema';
import type { LoadedConfig, LoadOptions } from '../config/load';
import { SrsError, ExitCode, errorCodeOf, renderMessage, type ErrorCode } from '../errors';
import { ConnectionRegistry } from '../server/registry';
import { ListenerSet, endpoint } from '../server/listeners';
import { Metrics, type ReloadStatus } from '../server/metrics';
import type { ConsoleContext } from '../server/console-context';
import type { SrsLog } from '../server/log';
import { ServiceSet } from '../server/service';
import { FdGuard, maxConnectionsFitCheck, procFdSource } from '../server/fd-guard';
import { acquirePidFile, processGone, type PidFileLock } from './pidfile';
import { realClock, type GraceOutcome } from './grace';
import type { Intent } from './signals';
import type { DaemonDecision, ReadinessReporter } from './daemon';
import type { ContainerVerdict } from './container';
import { SystemdNotifier } from './notify';
import { ConfigWatcher } from './watch';
import type { InheritedSockets } from './upgrade';
import { ProcessState } from './state';
import { Quit } from './quit';
import { Reloader, type RunningConfig } from './reloader';
import { Upgrader } from './upgrader';
import { registerServices } from './services';
import { MediaService } from '../media/service';

export { IDLE_HTTP_GRACE_MS } from '../server/listeners';

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

export class LifecycleController {
  private readonly running: RunningConfig;
  private readonly opts: ControllerOptions;
  readonly registry: ConnectionRegistry;
  readonly metrics: Metrics;
  private readonly media: MediaService;
  readonly services: ServiceSet;
  readonly state: ProcessState;
  private readonly listeners: ListenerSet;
  private readonly fdGuard: FdGuard;
  private readonly quit: Quit;
  private readonly reloader: Reloader;
  private readonly upgrader: Upgrader;
  private readonly watcher: ConfigWatcher;
  private pidFile: PidFileLock | null = null;
  private asprocessTimer: NodeJS.Timeout | null = null;
  private readonly refusals: { timer: NodeJS.Timeout | null; count: number } = { timer: null, count: 0 };

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.running = { config: opts.loaded.config, loaded: opts.loaded };
    this.state = new ProcessState(realClock);
    this.registry = new ConnectionRegistry(this.config.maxConnections);
    this.metrics = new Metrics(this.registry, opts.startedAt);
    this.registry.on('refused', (r: { listener: string; remote: string; reason: string }) => this.refused(r));
    this.services = new ServiceSet();
    let listeners: ListenerSet | null = null;
    const parent = opts.inherited.parentPid;
    const relayFrom = opts.inherited.relay && parent !== null ? { address: opts.inherited.relay, upstreamAlive: () => !processGone(parent) } : null;
    this.media = new MediaService({ config: () => this.config, version: opts.version, log: () => this.log, relayFrom });
    registerServices(this.services, { registry: this.registry, api: this.apiContext(), listeners: () => listeners, media: this.media });
    this.fdGuard = new FdGuard({
      source: procFdSource,
      now: Date.now,
      connections: () => this.registry.size,
      later: (fn, ms) => setTimeout(fn, ms).unref(),
      report: (r) =>
        r.first
          ? this.log.warn({ code: 'SRS_WARN_FD_EXHAUSTED', listener: r.role, fds: r.inUse, limit: r.limit, errno: r.code }, renderMessage('SRS_WARN_FD_EXHAUSTED', { used: r.inUse, limit: r.limit ?? '?' }))
          : this.log.warn({ code: 'SRS_WARN_FD_EXHAUSTED', fds: r.inUse, limit: r.limit, refused: r.count }, `connection refused: ${r.count} more in the last second (out of file descriptors)`),
    });
    this.listeners = listeners = new ListenerSet({
      registry: this.registry,
      metrics: this.metrics,
      log: () => this.log,
      services: this.services,
      fdGuard: this.fdGuard,
      inheritedFds: opts.inherited.fds,
    });
    this.quit = new Quit({
      clock: realClock,
      state: this.state,
      log: () => this.log,
      config: () => this.config,
      registry: this.registry,
      services: this.services,
      closeListeners: () => this.listeners.closeAll(),
      leaving: (how) => {
        this.watcher.stop();
        if (how !== 'upgrade') this.opts.notifier.stopping(how);
      },
      abortUpgrade: (reason) => this.upgrader.abort(reason),
      finish: (code, msg, outcome) => this.finish(code, msg, outcome),
    });
    this.reloader = new Reloader({
      state: this.state,
      running: this.running,
      loadOptions: opts.loadOptions,
      log: () => this.log,
      listeners: this.listeners,
      services: this.services,
      applied: (before, after) => {
        if (before.logLevel !== after.logLevel) this.opts.log.setLevel(after.logLevel);
        this.registry.setMaxConnections(after.maxConnections);
        if (!this.state.quitting) this.applyWatcher();
      },
      notifier: opts.notifier,
      recorded: (status) => this.metrics.reloaded(status),
      pidPath: () => this.pidPath(),
      startUpgrade: () => this.upgrader.startAfterReload(),
    });
    this.upgrader = new Upgrader({
      state: this.state,
      log: () => this.log,
      config: () => this.config,
      pidFile: () => this.pidFile,
      pidPath: () => this.pidPath(),
      sockets: () => this.listeners.listeningSockets(),
      generation: opts.inherited.generation,
      launchCwd: opts.launchCwd,
      notify: (lines) => this.opts.notifier.notify(lines),
      finished: (after, to) => {
        // no handover: the sockets are this process's alone again, so a later quit holds its
        // accept queue before closing (see ListenerSet.handOverFailed)
        if (to === null) this.listeners.handOverFailed();
        this.reloader.afterUpgrade(after, to);
      },
      handedOver: (pid) => this.quit.handedOver(pid),
      relay: () => this.media.openRelay(),
    });
    // the watcher says when it loses a watch and re-arms it, and when the kernel's queue overflowed
    this.watcher = new ConfigWatcher((reason) => void this.reload(reason), realClock, (level, fields, msg) => this.log[level](fields, msg));
  }

  private get config(): SrsConfig {
    return this.running.config;
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
    const limit = r.reason === 'api_connections' ? { api_max_connections: this.registry.maxApiConnections } : { max_connections: this.registry.maxConnections };
    this.log.warn({ code: 'SRS_WARN_CONNECTION_REFUSED', listener: r.listener, remote: r.remote, ...limit }, renderMessage('SRS_WARN_CONNECTION_REFUSED', { reason: r.reason }));
    this.refusals.timer = setTimeout(() => {
      this.refusals.timer = null;
      if (this.refusals.count > 0) {
        this.log.warn({ code: 'SRS_WARN_CONNECTION_REFUSED', max_connections: this.registry.maxConnections }, `connection refused: ${this.refusals.count} more in the last second (max_connections)`);
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

  /** connections refused for want of file descriptors since the start (for metrics) */
  get fdRefusals(): number {
    return this.fdGuard.total;
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
      if (stalePid !== null) this.log.warn({ code: 'SRS_WARN_PID_STALE', pid_file: this.config.pid, stale_pid: stalePid }, renderMessage('SRS_WARN_PID_STALE', {}));
    };
    let opened: Awaited<ReturnType<ListenerSet['apply']>>['opened'];
    try {
      // the new process of an upgrade renames its own locked file over the one its parent holds
      this.pidFile = acquirePidFile(this.pidPath(), process.pid, { replace: this.opts.inherited.parentPid !== null });
      stalePid = this.pidFile.stalePid;
      const sockets = await this.listeners.prepare(this.config, startLines);
      let services;
      try {
        services = await this.services.apply(this.config);
      } catch (e) {
        sockets.abort();
        throw e;
      }
      ({ opened } = sockets.commit());
      services.commit();
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
    this.checkFdLimit(opened.length);
    this.applyWatcher();
    this.watchParent();
    const queued = this.state.started();
    const serving = opened.map((s) => `${s.role} ${endpoint(s.address)}`).join(', ');
    const summary = `srs ${this.opts.version} ready, pid ${process.pid}, ${serving}`;
    this.log.info({ pid: process.pid }, summary);
    this.opts.readiness.ready(summary);
    const err = this.opts.notifier.ready(`serving: ${serving}`);
    if (err) this.log.warn({ code: 'SRS_WARN_NOTIFY', err }, renderMessage('SRS_WARN_NOTIFY', { state: 'READY=1' }));
    if (queued !== null) this.reloader.runQueued(queued);
  }

  /** SRS's check (srs_app_server.cpp): max_connections must fit the fd limit. A warning here. */
  private checkFdLimit(listeners: number): void {
    const warning = maxConnectionsFitCheck(this.config.maxConnections, listeners, procFdSource.limit());
    if (warning) this.log.warn({ code: 'SRS_WARN_FD_LIMIT', max_connections: this.config.maxConnections, limit: procFdSource.limit() }, warning);
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
        this.quit.signal('graceful', signal);
        return;
      case 'terminate':
        this.quit.signal('terminate', signal);
        return;
      case 'fastQuit':
        this.quit.signal('fast', signal);
        return;
      case 'upgrade':
        this.upgrader.request(signal);
        return;
    }
  }

  reopen(trigger: string): void {
    if (this.config.logTank !== 'file') {
      this.log.info({ trigger }, 'log reopen requested: the log goes to the console, nothing to reopen');
      return;
    }
    this.opts.log.reopen();
    this.log.info({ trigger }, 'log file reopened');
  }

  /** Reload from SIGHUP, inotify or the API: resolves with the outcome that covers this request. */
  reload(trigger: string): Promise<ReloadStatus> {
    return this.reloader.request(trigger);
  }

  private finish(code: number, msg: string, outcome: GraceOutcome): void {
    this.watcher.stop();
    if (this.asprocessTimer) clearInterval(this.asprocessTimer);
    this.log.info({ outcome, uptime_ms: Date.now() - this.opts.startedAt }, `${msg}, bye`);
    this.pidFile?.release();
    this.opts.exit(code === 0 ? ExitCode.OK : code);
  }

  private applyWatcher(): void {
    const loaded = this.running.loaded;
    const on = this.config.inotifyAutoReload || (this.config.autoReloadForDocker && this.opts.container.inContainer);
    if (!on || loaded.files.length === 0) {
      if (this.watcher.watching) this.log.info('config watch off');
      this.watcher.stop();
      return;
    }
    const wasWatching = this.watcher.watching;
    try {
      this.watcher.update(loaded.files, loaded.filesHash);
    } catch (e) {
      this.log.warn({ code: 'SRS_WARN_WATCH', err: e }, renderMessage('SRS_WARN_WATCH', {}));
      return;
    }
    if (!wasWatching) {
      const why = this.config.inotifyAutoReload ? 'inotify_auto_reload on' : 'auto_reload_for_docker on, in a container';
      this.log.info({ files: loaded.files }, `watching the config for changes (${why})`);
    }
  }

  /** asprocess on: quit when the parent that supervises us goes away (SRS checks every second). */
  private watchParent(): void {
    if (!this.config.asprocess) return;
    const parent = process.ppid;
    this.asprocessTimer = setInterval(() => {
      if (process.ppid !== parent) {
        this.log.warn({ code: 'SRS_WARN_PARENT_GONE', parent, now: process.ppid }, renderMessage('SRS_WARN_PARENT_GONE', {}));
        this.quit.signal('fast', 'asprocess');
      }
    }, 1000);
    this.asprocessTimer.unref();
  }

  private apiContext(): ConsoleContext {
    return {
      version: this.opts.version,
      startedAt: this.opts.startedAt,
      configFile: this.opts.loaded.source,
      cwd: this.opts.cwd,
      registry: this.registry,
      metrics: this.metrics,
      daemonDecision: () => ({ daemon: this.opts.decision.daemon, reason: this.opts.decision.reason, container: this.opts.container.inContainer ? `${this.opts.container.sign}: ${this.opts.container.detail}` : this.opts.container.detail }),
      lastReload: () => this.reloader.lastReload,
      isReady: () => this.state.ready,
      upgrade: () => ({
        generation: this.opts.inherited.generation,
        parentPid: this.opts.inherited.parentPid,
        inherited: this.listeners.list().filter((l) => l.inherited).map((l) => `${l.spec.role} ${endpoint(l.spec.address)}`),
      }),
      rawApi: () => this.config.httpApi.rawApi,
      auth: () => this.config.httpApi.auth,
      exporter: () => this.config.exporter,
      reload: (trigger) => this.reload(trigger),
      log: () => this.log,
      logStats: () => this.opts.log.stats(),
      media: this.media.api,
      mediaView: () => this.media.api,
      crossdomain: () => this.config.httpApi.crossdomain,
      services: () => this.services.snapshot(),
      // the console (server/console.ts, console-context.ts)
      grace: () => {
        const g = this.quit.grace;
        const waits = g.state === 'idle' ? { startWaitMs: this.config.graceStartWait, finalWaitMs: this.config.graceFinalWait, maxWaitMs: this.config.graceMaxWait } : g.waits;
        return { phase: g.state, since: g.marks[g.state] ?? null, quitAt: g.marks.start_wait ?? null, ...waits, reason: g.reason };
      },
      logTail: (limit) => this.opts.log.tail.lines(limit),
      configGeneration: () => this.reloader.generation,
      listenersBound: () => this.listeners.list().map((l) => ({ role: l.spec.role, endpoint: endpoint(l.spec.address), inherited: l.inherited })),
    };
  }
}

/**
 * One line for the terminal: the exit code, the catalogue code (SRS_ERR_INTERNAL for an error that
 * is not an SrsError) and the message, never a stack (that goes to the log).
 */
export function describeStartError(e: unknown): { code: number; error: ErrorCode; message: string } {
  if (e instanceof SrsError) return { code: e.exitCode, error: e.code, message: e.message };
  return { code: ExitCode.FAILURE, error: errorCodeOf(e), message: e instanceof Error ? e.message : String(e) };
}
