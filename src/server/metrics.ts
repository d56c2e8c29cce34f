// /metrics through prom-client, on a registry of our own (never the global one, so tests and a
// second server in one process do not share counters).
import client from 'prom-client';
import type { ConnectionRegistry } from './registry';

export interface ReloadStatus {
  /** epoch ms */
  at: number;
  ok: boolean;
  trigger: string;
  error: string | null;
  /** directives applied, and those kept at their running value */
  applied: string[];
  ignored: string[];
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly accepted: client.Counter<'listener'>;
  private readonly refused: client.Counter<'listener' | 'reason'>;
  private readonly reloads: client.Counter<'result'>;
  private readonly lastReloadOk: client.Gauge;
  private readonly lastReloadTime: client.Gauge;
  private readonly lastReloadSuccessTime: client.Gauge;

  constructor(connections: ConnectionRegistry, startedAt: number) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'srs_' });
    new client.Gauge({
      name: 'srs_connections',
      help: 'Open connections per listener',
      labelNames: ['listener'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [listener, n] of Object.entries(connections.countByListener())) this.set({ listener }, n);
      },
    });
    new client.Gauge({
      name: 'srs_uptime_seconds',
      help: 'Seconds since the server started',
      registers: [this.registry],
      collect() {
        this.set((Date.now() - startedAt) / 1000);
      },
    });
    this.accepted = new client.Counter({ name: 'srs_connections_accepted_total', help: 'Connections accepted', labelNames: ['listener'], registers: [this.registry] });
    this.refused = new client.Counter({ name: 'srs_connections_refused_total', help: 'Connections refused', labelNames: ['listener', 'reason'], registers: [this.registry] });
    this.reloads = new client.Counter({ name: 'srs_config_reloads_total', help: 'Config reloads by result', labelNames: ['result'], registers: [this.registry] });
    this.lastReloadOk = new client.Gauge({ name: 'srs_config_last_reload_successful', help: 'Whether the last reload succeeded (1) or failed (0)', registers: [this.registry] });
    this.lastReloadTime = new client.Gauge({ name: 'srs_config_last_reload_timestamp_seconds', help: 'Time of the last reload attempt', registers: [this.registry] });
    this.lastReloadSuccessTime = new client.Gauge({ name: 'srs_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful reload', registers: [this.registry] });
    this.lastReloadOk.set(1);
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
  }

  connectionAccepted(listener: string): void {
    this.accepted.inc({ listener });
  }

  connectionRefused(listener: string, reason: string): void {
    this.refused.inc({ listener, reason });
  }

  reloaded(status: ReloadStatus): void {
    this.reloads.inc({ result: status.ok ? 'success' : 'failure' });
    this.lastReloadOk.set(status.ok ? 1 : 0);
    this.lastReloadTime.set(status.at / 1000);
    if (status.ok) this.lastReloadSuccessTime.set(status.at / 1000);
  }
}
