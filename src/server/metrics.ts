// Counters live here as plain numbers; prom-client renders them at the first scrape of /metrics,
// on a registry of our own (never the global one). Loading prom-client lazily keeps it off the
// start-up path: a server that nobody scrapes never pays for it.
import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import type { ConnectionRegistry } from './registry';
import type { HubCounters } from '../media/hub';

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

/** What the log reports about itself (SrsLog.stats()): writes that failed, lines its bounded backlog dropped. */
export interface LogStats {
  writeFailures: number;
  droppedLines: number;
}

/** The stream hub's counters, as /metrics shows them. */
export type MediaCounters = HubCounters;

type Labels = Record<string, string>;

/** A labelled counter as a map from the labels' JSON to the value. */
class Tally {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels, by = 1): void {
    const key = JSON.stringify(labels);
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }

  entries(): Array<{ labels: Labels; value: number }> {
    return [...this.values.values()];
  }
}

/** What srs_build_info carries: the version, and SRS's `exporter { label; tag; }` ('' when unset). */
export interface BuildInfo {
  version: string;
  label: string;
  tag: string;
}

export class Metrics {
  private readonly accepted = new Tally();
  private readonly refused = new Tally();
  private readonly reloads = new Tally();
  private lastReload: ReloadStatus | null = null;
  private lastReloadSuccessAt: number | null = null;
  private registry: Registry | null = null;
  private readonly connections: ConnectionRegistry;
  private readonly startedAt: number;
  /** the log's own counters, from the last render's caller (the API context), when wired */
  private logStats: (() => LogStats) | undefined;
  /** the stream hub's counters, when the media service is wired */
  private mediaStats: (() => MediaCounters) | undefined;
  /** version, and the exporter's label and tag, for srs_build_info */
  private build: BuildInfo = { version: '', label: '', tag: '' };

  constructor(connections: ConnectionRegistry, startedAt: number) {
    this.connections = connections;
    this.startedAt = startedAt;
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
    this.lastReload = status;
    if (status.ok) this.lastReloadSuccessAt = status.at;
  }

  /**
   * The Prometheus text. `sources.logStats`, when given, adds srs_log_write_failures_total and
   * srs_log_dropped_lines_total (absent otherwise: no made-up zeros).
   */
  async render(sources: { logStats?: () => LogStats; media?: () => MediaCounters; build?: BuildInfo } = {}): Promise<{ contentType: string; body: string }> {
    this.logStats = sources.logStats;
    this.mediaStats = sources.media;
    if (sources.build) this.build = sources.build;
    const registry = await this.promRegistry();
    if (this.logStats && !registry.getSingleMetric('srs_log_write_failures_total')) this.addLogCounters(registry);
    if (this.mediaStats && !registry.getSingleMetric('srs_streams')) this.addMediaMetrics(registry);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** Streams, publishers, players, bytes, and players dropped for falling behind (the stream hub's counters). */
  private addMediaMetrics(registry: Registry): void {
    const client = require('prom-client') as typeof PromClient;
    const self = this;
    const metric = (kind: 'Gauge' | 'Counter', name: string, help: string, read: (m: MediaCounters) => number): void => {
      const Kind = kind === 'Gauge' ? client.Gauge : client.Counter;
      new Kind({
        name,
        help,
        registers: [registry],
        collect(this: { reset(): void; inc(v: number): void; set?(v: number): void }) {
          this.reset();
          const m = self.mediaStats?.();
          if (!m) return;
          if (this.set) this.set(read(m));
          else this.inc(read(m));
        },
      });
    };
    metric('Gauge', 'srs_streams', 'Live streams (with a publisher or waiting players)', (m) => m.streams);
    metric('Gauge', 'srs_publishers', 'Publishing clients', (m) => m.publishers);
    metric('Gauge', 'srs_players', 'Playing clients (RTMP and HTTP-FLV)', (m) => m.players);
    metric('Counter', 'srs_media_received_bytes_total', 'Media payload bytes received from publishers', (m) => m.bytesIn);
    metric('Counter', 'srs_media_sent_bytes_total', 'Bytes written to players', (m) => m.bytesOut);
    metric('Counter', 'srs_players_dropped_total', 'Players closed because they fell behind', (m) => m.playersDroppedBehind);
    metric('Counter', 'srs_player_messages_dropped_total', 'Messages a slow player skipped (to the next keyframe)', (m) => m.messagesDropped);
  }

  /** Registered at the first render that has a source, so an unwired log shows no made-up zeros. */
  private addLogCounters(registry: Registry): void {
    const client = require('prom-client') as typeof PromClient;
    const self = this;
    const logCounter = (name: string, help: string, read: (s: LogStats) => number): void => {
      new client.Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          const stats = self.logStats?.();
          if (stats) this.inc(read(stats));
        },
      });
    };
    logCounter('srs_log_write_failures_total', 'Log writes that failed (a full disk...)', (s) => s.writeFailures);
    logCounter('srs_log_dropped_lines_total', 'Log lines dropped because the backlog was full', (s) => s.droppedLines);
  }

  private async promRegistry(): Promise<Registry> {
    if (this.registry) return this.registry;
    // require, not import(): see http.ts
    const client = require('prom-client') as typeof PromClient;
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix: 'srs_' });
    const self = this;
    const counter = (name: string, help: string, labelNames: string[], tally: Tally): void => {
      new client.Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const { labels, value } of tally.entries()) this.inc(labels, value);
        },
      });
    };
    const gauge = (name: string, help: string, labelNames: string[], read: (g: { set: (l: Labels, v: number) => void }) => void): void => {
      new client.Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          read({ set: (l, v) => (labelNames.length ? this.set(l, v) : this.set(v)) });
        },
      });
    };
    counter('srs_connections_accepted_total', 'Connections accepted', ['listener'], this.accepted);
    counter('srs_connections_refused_total', 'Connections refused', ['listener', 'reason'], this.refused);
    counter('srs_config_reloads_total', 'Config reloads by result', ['result'], this.reloads);
    gauge('srs_connections', 'Open connections per listener', ['listener'], (g) => {
      for (const [listener, n] of Object.entries(self.connections.countByListener())) g.set({ listener }, n);
    });
    // SRS's srs_build_info: 1, labelled with the version and, when set, exporter { label; tag; }
    gauge('srs_build_info', 'A constant 1 labelled with the version, and the exporter\'s label and tag when set', ['version', 'label', 'tag'], (g) => {
      const b = self.build;
      const labels: Labels = { version: b.version };
      if (b.label) labels.label = b.label;
      if (b.tag) labels.tag = b.tag;
      g.set(labels, 1);
    });
    gauge('srs_uptime_seconds', 'Seconds since the server started', [], (g) => g.set({}, (Date.now() - self.startedAt) / 1000));
    gauge('srs_config_last_reload_successful', 'Whether the last reload succeeded (1) or failed (0); 1 before any', [], (g) => g.set({}, self.lastReload && !self.lastReload.ok ? 0 : 1));
    gauge('srs_config_last_reload_timestamp_seconds', 'Time of the last reload attempt', [], (g) => {
      if (self.lastReload) g.set({}, self.lastReload.at / 1000);
    });
    gauge('srs_config_last_reload_success_timestamp_seconds', 'Time of the last successful reload', [], (g) => {
      if (self.lastReloadSuccessAt !== null) g.set({}, self.lastReloadSuccessAt / 1000);
    });
    gauge('srs_api_connections', 'Open connections in the API\'s own slots (apart from max_connections)', [], (g) => g.set({}, self.connections.slots().api));
    this.registry = registry;
    return registry;
  }
}
