// Upgrade orchestration (SIGUSR2): start the installed srs with our listening sockets; once it is
// ready it owns the pid file and this process drains and leaves. If it fails, this process keeps
// serving and takes the pid file back. When an upgrade may start, and what follows its outcome, is
// the process state's to say; the handover itself is upgrade.ts's.
import path from 'node:path';
import type pino from 'pino';
import type { SrsConfig } from '../config/schema';
import type { PidFileLock } from './pidfile';
import type { ProcessState } from './state';
import type { AfterUpgrade } from './state';
import { handOverSockets, RELAY_ENV, writeUpgradeRecord, type UpgradeLaunch } from './upgrade';

export interface UpgraderDeps {
  state: ProcessState;
  log: () => pino.Logger;
  config: () => SrsConfig;
  pidFile: () => PidFileLock | null;
  pidPath: () => string;
  sockets: () => Array<{ key: string; fd: number }>;
  generation: number;
  launchCwd: string;
  /** systemd follows the new main process (the unit needs NotifyAccess=all) */
  notify(lines: string[]): void;
  /** the upgrade has an outcome: what the state says follows (a queued reload), and who took over */
  finished(after: AfterUpgrade, handedOverTo: number | null): void;
  /** handed over: drain and leave */
  handedOver(newPid: number): void;
  /** for tests and containers: the pid as this process sees it */
  pid?: () => number;
  /** opens the private listener the new process pulls our live streams from (media service), or null */
  relay?: () => Promise<{ address: string; close(): void } | null>;
}

export class Upgrader {
  private readonly d: UpgraderDeps;
  private launch: UpgradeLaunch | null = null;

  constructor(d: UpgraderDeps) {
    this.d = d;
  }

  /** SIGUSR2: refused with a logged reason (and a record for `srs -s upgrade`), or started. */
  request(trigger: string): void {
    const cfg = this.d.config();
    const pid = (this.d.pid ?? (() => process.pid))();
    // reasons that depend on how the process runs come first: they hold whatever the state
    const fixed = cfg.asprocess
      ? 'asprocess on: the parent that supervises this process restarts it instead'
      : pid === 1
        ? "running as PID 1 (a container's init): the container would end with this process; replace the container instead (a rolling update)"
        : null;
    const underWay = this.d.state.upgradeUnderWay;
    const decision = fixed === null ? this.d.state.requestUpgrade() : { ok: false as const, reason: this.d.state.quitting ? 'quitting' : underWay ? 'an upgrade is already under way' : fixed };
    if (!decision.ok) {
      this.d.log().warn({ code: 'SRS_WARN_UPGRADE_IGNORED', trigger }, `upgrade ignored: ${decision.reason}`);
      // `srs -s upgrade` waits for an answer: give it one, in the record file that goes with the
      // pid file. Not for a second SIGUSR2 during an upgrade (its record would answer the first
      // one's waiter too), nor once a handover has moved our pid file aside: the record file is
      // the new process's then.
      const pidFile = this.d.pidFile();
      if (pidFile && !underWay && path.resolve(pidFile.path) === this.d.pidPath()) {
        writeUpgradeRecord(this.d.pidPath(), { ok: false, refused: true, message: decision.reason, new_pid: null, started_at: Date.now() }, this.d.log());
      }
      return;
    }
    this.trigger = trigger;
    // during a reload: the reload's end starts it (startAfterReload)
    if (!decision.afterReload) void this.run();
  }

  private trigger = 'SIGUSR2';

  /** The reload it waited for has ended, and the state moved to upgrading. */
  startAfterReload(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    let handedOverTo: number | null = null;
    let relay: { address: string; close(): void } | null = null;
    try {
      const pidFile = this.d.pidFile();
      if (!pidFile) throw new Error('not started');
      // streams still published here stay visible from the new process through this relay
      relay = (await this.d.relay?.().catch((e: unknown) => {
        this.d.log().warn({ err: e }, `upgrade: no stream relay for the new process: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      })) ?? null;
      const outcome = await handOverSockets({
        log: this.d.log(),
        pidFile,
        pidPath: this.d.pidPath(),
        sockets: this.d.sockets(),
        generation: this.d.generation + 1,
        argv: process.argv.slice(1),
        env: relay ? { ...process.env, [RELAY_ENV]: relay.address } : process.env,
        cwd: this.d.launchCwd,
        trigger: this.trigger,
        onLaunch: (launch) => (this.launch = launch),
      });
      if (outcome.ok && outcome.pid !== null && !this.d.state.quitting) {
        handedOverTo = outcome.pid;
        this.d.notify([`MAINPID=${outcome.pid}`]);
      }
    } catch (e) {
      this.d.log().error({ code: 'SRS_ERR_UPGRADE', err: e }, `upgrade failed, this process keeps serving: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.launch = null;
      if (handedOverTo === null) relay?.close();
    }
    const after = this.d.state.upgradeFinished(handedOverTo !== null);
    if (handedOverTo !== null) this.d.handedOver(handedOverTo);
    this.d.finished(after, handedOverTo);
  }

  /** A quit during the upgrade: the new process, if started, goes too, and the pid file is ours again. */
  abort(reason: string): void {
    if (!this.launch) return;
    this.launch.abort(reason);
    try {
      this.d.pidFile()?.restore(this.d.pidPath());
    } catch (e) {
      this.d.log().warn({ code: 'SRS_ERR_UPGRADE', err: e }, 'could not take the pid file back from the aborted upgrade');
    }
  }
}
