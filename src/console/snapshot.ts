// What the console's event stream (/api/v1/events) sends, shared by the server that builds it
// (src/server/console.ts) and the page that shows it (src/console/main.mts). Self-contained on
// purpose: the page is compiled for the browser and must not follow imports into the server.

/** Event names on /api/v1/events (text/event-stream). */
export const EVENT_SNAPSHOT = 'snapshot';
/** new log lines since the last `log` event: LogLine[] */
export const EVENT_LOG = 'log';
/** the last event before the server closes the stream because it is quitting: a Snapshot */
export const EVENT_QUITTING = 'quitting';

export type GracePhase = 'idle' | 'start_wait' | 'draining' | 'final_wait' | 'done';

/** One stream, as SRS's /api/v1/streams lists it (srs_app_statistic.cpp SrsStatisticStream::dumps). */
export interface SrsStream {
  id: string;
  name: string;
  vhost: string;
  app: string;
  url: string;
  live_ms: number;
  clients: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
  publish: { active: boolean; cid?: string };
  video: { codec: string; profile: string; level: string; width: number; height: number } | null;
  audio: { codec: string; sample_rate: number; channel: number; profile: string } | null;
}

/** One media client, as SRS's /api/v1/clients lists it (SrsStatisticClient::dumps). */
export interface SrsClient {
  id: string;
  vhost: string;
  stream: string;
  ip: string;
  url: string;
  name: string;
  /** 'rtmp-play' | 'flv-play' | 'fmle-publish' | ... */
  type: string;
  publish: boolean;
  /** seconds since it attached */
  alive: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
}

/** An open connection in the server's registry (media or HTTP). */
export interface ConnectionRow {
  id: string;
  listener: string;
  kind: 'media' | 'http';
  remote: string;
  /** epoch ms */
  since: number;
}

export interface ListenerRow {
  role: string;
  /** host:port, null when the server does not say (console-context listenersBound absent) */
  endpoint: string | null;
  inherited: boolean;
  connections: number;
  accepted: number;
  refused: number;
}

export interface ReloadRow {
  /** epoch ms */
  at: number;
  ok: boolean;
  trigger: string;
  error: string | null;
  applied: string[];
  ignored: string[];
}

export interface LogLine {
  seq: number;
  /** epoch ms */
  time: number;
  level: 'Verbose' | 'Trace' | 'Warn' | 'Error' | 'Fatal';
  cid: string;
  msg: string;
}

export interface Snapshot {
  /** epoch ms on the server */
  at: number;
  process: {
    version: string;
    pid: number;
    ppid: number;
    uptime_ms: number;
    started_at: number;
    daemon: { daemon: boolean; reason: string; container: string };
    generation: number;
    parent_pid: number | null;
    inherited: string[];
    ready: boolean;
    mem_rss_kbyte: number;
  };
  connections: { open: number; max: number; api_open: number; api_max: number };
  listeners: ListenerRow[];
  /** null: the media side is not wired into this server */
  streams: SrsStream[] | null;
  /** null: as streams */
  clients: SrsClient[] | null;
  connectionList: ConnectionRow[];
  config: {
    file: string;
    /** null: not reported by this server */
    generation: number | null;
    reload: ReloadRow | null;
    rawApi: boolean;
    allowReload: boolean;
    /** http_api.auth on: the page runs on the browser's Basic credentials */
    auth: boolean;
  };
  grace: {
    phase: GracePhase | 'quitting';
    /** false when the server reports only ready/not ready: phase 'quitting', no countdowns */
    detailed: boolean;
    since: number | null;
    quitAt: number | null;
    startWaitMs: number | null;
    finalWaitMs: number | null;
    maxWaitMs: number | null;
    reason: string | null;
    /** connections left, the console's own streams excluded */
    open: number;
  };
  /** false: this server keeps no log tail for the console */
  logAvailable: boolean;
  /** the port HTTP-FLV is served on (the file server's), null when unknown */
  flvPort: number | null;
}
