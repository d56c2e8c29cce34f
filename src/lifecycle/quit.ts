// Leaving: a graceful quit (SIGQUIT, SIGTERM with force_grace_quit, an upgrade's drain) or a fast
// one (SIGINT, SIGTERM, asprocess). The process state decides what a signal means at this point;
// GracefulQuit runs the drain's timeline; this file carries out both on the running services.
import type pino from 'pino';
import type { SrsConfig } from '../config/schema';
import type { ConnectionRegistry } from '../server/registry';
import type { ServiceSet } from '../server/service';
import { GracefulQuit, type Clock, type GraceOutcome, type GraceSettings } from './grace';
import type { ProcessState, QuitRequest } from './state';

export interface QuitDeps {
  clock: Clock;
  state: ProcessState;
  log: () => pino.Logger;
  config: () => SrsConfig;
  registry: ConnectionRegistry;
  services: ServiceSet;
  /** stop accepting on every listener */
  closeListeners(): void;
  /** the quit begins: stop watching the config, tell systemd (`graceful quit` or `fast quit`) */
  leaving(how: string): void;
  /** a quit arrived while a new process is starting: stop it, take the pid file back */
  abortUpgrade(reason: string): void;
  /** the end: release the pid file, log the last line, exit with code */
  finish(code: number, msg: string, outcome: GraceOutcome): void;
}

function graceSettings(cfg: SrsConfig, startWait = true): GraceSettings {
  return { startWaitMs: startWait ? cfg.graceStartWait : 0, finalWaitMs: cfg.graceFinalWait, maxWaitMs: cfg.graceMaxWait };
}

/**
 * ms the connections ended cleanly at the drain's bound have to finish closing (a player's last
 * bytes and its FIN, the client's close) before what is left is destroyed. Destroying a socket
 * whose client has sent bytes not yet read resets it, and a reset discards what was still to be
 * sent: the player would lose the end of its stream.
 */
export const CUT_LINGER_MS = 500;

export class Quit {
  private readonly d: QuitDeps;
  readonly grace: GracefulQuit;
  /** the bound was reached: clean ends were asked for, the rest is destroyed before the end */
  private cutAsked = false;

  constructor(d: QuitDeps) {
    this.d = d;
    this.grace = new GracefulQuit(d.clock, {
      stopBeingReady: () => d.registry.startDraining(),
      closeListeners: () => {
        d.closeListeners();
        // every service asks its connections to leave once done: HTTP says `Connection: close`
        // and closes idle keep-alive sockets; a media session with a drain hook ends its stream
        d.services.drain('graceful quit');
      },
      openConnections: () => d.registry.size,
      log: (level, msg, fields) => d.log()[level](fields ?? {}, msg),
      cutConnections: () => {
        // what can end cleanly does first (a player told its stream ended, an HTTP-FLV response's
        // final chunk, a publisher closed after its current message); the rest is destroyed once
        // they had CUT_LINGER_MS to close (see finish)
        d.services.cut('the graceful quit is over');
        this.cutAsked = true;
      },
      // a second quit signal asks for speed: no linger then
      finish: (outcome) => this.afterCut(outcome === 'deadline' ? CUT_LINGER_MS : 0, () => this.end(0, `graceful quit done (${outcome})`, outcome)),
    });
    d.registry.on('closed', () => this.grace.connectionClosed());
  }

  /**
   * A quit signal (SIGQUIT graceful, SIGINT fast, SIGTERM terminate) or asprocess's fast quit.
   * `label` names it in the log (`SIGQUIT`, `asprocess`).
   */
  signal(request: QuitRequest, label: string): void {
    const force = this.d.config().forceGraceQuit;
    const decision = this.d.state.quitSignal(request, force, label);
    switch (decision.action) {
      case 'ignore':
        return;
      case 'continue':
        this.d.log().info({ signal: label, open: this.d.registry.size }, decision.message);
        return;
      case 'escalate':
        this.grace.escalate();
        return;
      case 'graceful': {
        if (decision.abortUpgrade) this.d.abortUpgrade('a quit signal arrived during the upgrade');
        this.d.leaving('graceful quit');
        const reason = request === 'terminate' ? `${label} with force_grace_quit on` : label;
        this.grace.start(graceSettings(this.d.config()), `${reason}: user`);
        return;
      }
      case 'fast': {
        if (decision.abortUpgrade) this.d.abortUpgrade('a quit signal arrived during the upgrade');
        this.fast(label);
        return;
      }
    }
  }

  private fast(label: string): void {
    this.d.log().info({ reason: label, open: this.d.registry.size }, `${label}: fast quit`);
    this.d.leaving('fast quit');
    this.d.closeListeners();
    const cut = this.d.registry.destroyAll();
    this.end(0, `fast quit done, ${cut} connections closed`, 'fast');
  }

  /**
   * An upgrade handed over: the new process answers already, so no grace_start_wait (nobody needs
   * to find us gone first); the drain and its escalation are a graceful quit's.
   */
  handedOver(newPid: number): void {
    this.d.leaving('upgrade');
    this.grace.start(graceSettings(this.d.config(), false), `upgrade handed over to pid ${newPid}`);
  }

  /**
   * After a cut: wait until every connection has closed or `lingerMs`, then destroy what is left
   * (logged `cut N connections`), then `then`. Without a cut, `then` at once.
   */
  private afterCut(lingerMs: number, then: () => void): void {
    if (!this.cutAsked) return then();
    const { registry, clock } = this.d;
    let timer: unknown = null;
    const go = (): void => {
      registry.off('closed', onClosed);
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      const n = registry.destroyAll();
      if (n > 0) this.d.log().warn({ code: 'SRS_WARN_QUIT_CUT', cut: n }, `cut ${n} connections`);
      then();
    };
    const onClosed = (): void => {
      if (registry.size === 0) go();
    };
    if (registry.size === 0 || lingerMs <= 0) return go();
    registry.on('closed', onClosed);
    timer = clock.setTimeout(go, lingerMs);
  }

  private end(code: number, msg: string, outcome: GraceOutcome): void {
    this.d.state.finish();
    this.d.finish(code, msg, outcome);
  }
}
