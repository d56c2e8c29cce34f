// The console page's pure logic: what each panel says, from a snapshot and a clock. No DOM here,
// so node:test checks it (dist/console/model.js) and the page (main.mts) only draws.
import type { GracePhase, LogLine, Snapshot, SrsClient, SrsStream } from './snapshot';

/** Bytes as a person reads them: 1023 B, 1.5 KiB, 3.2 MiB, 1.0 GiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A duration (ms) as `1d 2h`, `3h 4m`, `5m 6s`, `7s`, `0.4s`. Negative durations are 0. */
export function formatDuration(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 10_000 && t % 1000 !== 0) return `${(t / 1000).toFixed(1)}s`;
  const s = Math.floor(t / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

/** A local wall-clock time with milliseconds, 24 h: `14:03:09.042` (the log tail's stamps). */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** The page's link to the server, as its status line says it. */
export type LinkState =
  /** before the first answer */
  | 'connecting'
  /** the event stream is open and the server serves */
  | 'live'
  /** the server has begun a graceful quit (the stream may still be open) */
  | 'quitting'
  /** the stream broke while the server was serving: EventSource retries */
  | 'lost'
  /** the server quit and does not answer any more */
  | 'gone'
  /** this port serves no HTTP API (http_api off, or a file server only) */
  | 'api-off'
  /** the API asks for credentials the browser did not give */
  | 'unauthorized';

/** What the status line says for each state: plain words, no codes. */
export function linkText(state: LinkState, grace: Snapshot['grace'] | null): string {
  switch (state) {
    case 'connecting':
      return 'connecting to the server…';
    case 'live':
      return 'live: updates are pushed by the server';
    case 'quitting':
      return `server quitting${grace ? `: ${phaseLabel(grace.phase)}` : ''}`;
    case 'lost':
      return 'connection to the server lost: retrying';
    case 'gone':
      return 'gone: the server has quit';
    case 'api-off':
      return 'the HTTP API is off on this server (http_api { enabled off; } or this port is the file server only): nothing to show';
    case 'unauthorized':
      return 'the HTTP API requires credentials (http_api.auth on): reload the page and sign in';
  }
}

/** Decide the state from the answer to the page's first request (GET /api/v1/versions). */
export function stateFromProbe(status: number): LinkState {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'api-off';
  if (status >= 200 && status < 300) return 'connecting';
  return 'lost';
}

const PHASE_LABEL: Record<GracePhase | 'quitting', string> = {
  idle: 'serving',
  start_wait: 'start_wait (still accepting, readiness 503)',
  draining: 'draining (listeners closed)',
  final_wait: 'final_wait (all connections closed)',
  done: 'done',
  quitting: 'quitting (no phase detail from this server)',
};

export function phaseLabel(phase: GracePhase | 'quitting'): string {
  return PHASE_LABEL[phase];
}

export interface Countdown {
  what: string;
  /** ms left, never negative */
  leftMs: number;
}

/**
 * The waits running in the current phase, each with the time left at `now` (epoch ms): start_wait
 * closes the listeners at its end; draining cuts what is left at grace_max_wait (counted from the
 * quit's start, after start_wait; none when 0); final_wait exits at its end.
 */
export function countdowns(grace: Snapshot['grace'], now: number): Countdown[] {
  if (!grace.detailed || grace.since === null) return [];
  const out: Countdown[] = [];
  const left = (at: number): number => Math.max(0, at - now);
  if (grace.phase === 'start_wait' && grace.startWaitMs !== null) {
    out.push({ what: 'listeners close in', leftMs: left(grace.since + grace.startWaitMs) });
  }
  if ((grace.phase === 'start_wait' || grace.phase === 'draining') && grace.maxWaitMs && grace.quitAt !== null) {
    out.push({ what: 'connections are cut (grace_max_wait) in', leftMs: left(grace.quitAt + (grace.startWaitMs ?? 0) + grace.maxWaitMs) });
  }
  if (grace.phase === 'final_wait' && grace.finalWaitMs !== null) {
    out.push({ what: 'exit in', leftMs: left(grace.since + grace.finalWaitMs) });
  }
  return out;
}

/** `file:line` or `file:line:col` in an error message (SrsError's location), or null. */
export function errorLocation(message: string | null): string | null {
  if (!message) return null;
  const m = /((?:\/|\.\/|\b)[\w./+-]*\.(?:conf|ya?ml|json)):(\d+)(?::(\d+))?/.exec(message);
  return m ? m[0] : null;
}

export type LevelFilter = 'Verbose' | 'Trace' | 'Warn' | 'Error';
const RANK: Record<LogLine['level'], number> = { Verbose: 0, Trace: 1, Warn: 2, Error: 3, Fatal: 4 };

/** The lines at `min` or above, the last `limit` of them. */
export function filterLog(lines: readonly LogLine[], min: LevelFilter, limit = 200): LogLine[] {
  const kept = lines.filter((l) => RANK[l.level] >= RANK[min]);
  return kept.slice(Math.max(0, kept.length - limit));
}

/** Append new lines (by seq, each once) to a tail of at most `limit`. */
export function appendLog(tail: readonly LogLine[], lines: readonly LogLine[], limit = 200): LogLine[] {
  const last = tail.length > 0 ? tail[tail.length - 1]!.seq : 0;
  const merged = [...tail, ...lines.filter((l) => l.seq > last)];
  return merged.slice(Math.max(0, merged.length - limit));
}

/** One row of the clients panel: a media client (kickable) or another open connection. */
export interface ClientRow {
  id: string;
  type: string;
  stream: string;
  remote: string;
  /** epoch ms it began */
  since: number;
  /** bytes sent + received, null when unknown (HTTP connections) */
  bytes: number | null;
  kickable: boolean;
}

/**
 * The media clients in SRS's shape, then the other connections of the registry (the API's, the
 * file server's) that are not media clients already. `streams` names the stream ids.
 */
export function clientRows(snap: Snapshot): ClientRow[] {
  const names = new Map((snap.streams ?? []).map((s) => [s.id, s.url || `/${s.app}/${s.name}`]));
  const rows: ClientRow[] = (snap.clients ?? []).map((c: SrsClient) => ({
    id: c.id,
    type: c.type,
    stream: names.get(c.stream) ?? c.url ?? c.stream,
    remote: c.ip,
    since: snap.at - c.alive * 1000,
    bytes: c.send_bytes + c.recv_bytes,
    kickable: true,
  }));
  const media = new Set(rows.map((r) => r.id));
  for (const c of snap.connectionList) {
    if (media.has(c.id)) continue;
    rows.push({ id: c.id, type: `${c.kind} (${c.listener})`, stream: '—', remote: c.remote, since: c.since, bytes: null, kickable: false });
  }
  return rows;
}

/**
 * The HTTP-FLV URL of a stream, as SRS's default mount `[vhost]/[app]/[stream].flv` serves it:
 * `http://host:8080/live/test.flv` (a stream's url is `/app/stream`, or `vhost/app/stream` off the
 * default vhost). Null without the file server's port.
 */
export function flvUrl(protocol: string, hostname: string, port: number | null, streamUrl: string): string | null {
  if (port === null) return null;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const p = streamUrl.startsWith('/') ? streamUrl : `/${streamUrl}`;
  return `${protocol}//${host}:${port}${p}.flv`;
}

/** Codecs in one line: `H264 High 640x360, AAC 44100Hz 2ch`. */
export function codecsText(s: Pick<SrsStream, 'video' | 'audio'>): string {
  const parts: string[] = [];
  if (s.video) parts.push(`${s.video.codec} ${s.video.profile} ${s.video.width}x${s.video.height}`.replace(/\s+/g, ' '));
  if (s.audio) parts.push(`${s.audio.codec} ${s.audio.sample_rate}Hz ${s.audio.channel}ch`);
  return parts.length > 0 ? parts.join(', ') : '—';
}
