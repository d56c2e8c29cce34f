// For reload: which directives changed between two configs and whether each can change while
// running. Not reloadable (SRS and design.md): daemon, pid, log tank/file/format, work_dir,
// asprocess, and the container switches that decide how the process was started.
// chunk_size and every vhost setting are reloadable and apply to NEW sessions: a session reads
// its settings once, when it starts (mediaSettingsFor), so a live one is never touched (issue 12).

import { FIELDS, type SrsConfig } from './schema';
import type { VhostConfig } from './vhost';

export interface ConfigChange {
  /** directive path, e.g. 'http_api.listen', 'vhost.play.gop_cache' */
  path: string;
  reloadable: boolean;
  from: unknown;
  to: unknown;
  /** for a vhost's directive: which vhost */
  vhost?: string;
  /** 'new-sessions': applied by a reload, taken up by sessions that start after it; live ones keep theirs */
  appliesTo?: 'new-sessions';
}

export const NOT_RELOADABLE: ReadonlySet<string> = new Set([
  'daemon',
  'pid',
  'srs_log_tank',
  'srs_log_file',
  'work_dir',
  'asprocess',
  'disable_daemon_for_docker',
  'in_docker',
  'srs_log_format',
]);

/** Directives whose new value only new sessions see. */
export const NEW_SESSIONS_ONLY: ReadonlySet<string> = new Set(['chunk_size']);

/** A vhost's settings, one entry per directive path (vocabulary form), for the diff. */
export const VHOST_FIELDS: ReadonlyArray<{ path: string; get(v: VhostConfig): unknown }> = [
  { path: 'vhost.enabled', get: (v) => v.enabled },
  { path: 'vhost.chunk_size', get: (v) => v.chunkSize },
  { path: 'vhost.min_latency', get: (v) => v.minLatency },
  { path: 'vhost.tcp_nodelay', get: (v) => v.tcpNodelay },
  { path: 'vhost.in_ack_size', get: (v) => v.inAckSize },
  { path: 'vhost.out_ack_size', get: (v) => v.outAckSize },
  { path: 'vhost.play.gop_cache', get: (v) => v.play.gopCache },
  { path: 'vhost.play.gop_cache_max_frames', get: (v) => v.play.gopCacheMaxFrames },
  { path: 'vhost.play.queue_length', get: (v) => v.play.queueLength },
  { path: 'vhost.play.mw_latency', get: (v) => v.play.mwLatency },
  { path: 'vhost.play.mw_msgs', get: (v) => v.play.mwMsgs },
  { path: 'vhost.play.time_jitter', get: (v) => v.play.timeJitter },
  { path: 'vhost.publish.firstpkt_timeout', get: (v) => v.publish.firstPktTimeout },
  { path: 'vhost.publish.normal_timeout', get: (v) => v.publish.normalTimeout },
  { path: 'vhost.security.enabled', get: (v) => v.security.enabled },
  { path: 'vhost.security.rules', get: (v) => v.security.rules },
  { path: 'vhost.http_remux.enabled', get: (v) => v.httpRemux.enabled },
  { path: 'vhost.http_remux.mount', get: (v) => v.httpRemux.mount },
  { path: 'vhost.cluster.mode', get: (v) => v.cluster.mode },
  { path: 'vhost.cluster.origin', get: (v) => v.cluster.origins },
  { path: 'vhost.cluster.token_traverse', get: (v) => v.cluster.tokenTraverse },
  { path: 'vhost.cluster.vhost', get: (v) => v.cluster.vhost },
  { path: 'vhost.cluster.debug_srs_upnode', get: (v) => v.cluster.debugSrsUpnode },
  { path: 'vhost.cluster.protocol', get: (v) => v.cluster.protocol },
  { path: 'vhost.cluster.follow_client', get: (v) => v.cluster.followClient },
  { path: 'vhost.cluster.origin_cluster', get: (v) => v.cluster.originCluster },
  { path: 'vhost.cluster.coworkers', get: (v) => v.cluster.coworkers },
];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Changes from a to b: the schema's directives in order, then `vhost` (the name list: a vhost
 * added or removed), then each changed directive of every vhost present in both, in b's order.
 * Every vhost change is reloadable with appliesTo 'new-sessions'.
 */
export function diffConfig(a: SrsConfig, b: SrsConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const f of FIELDS) {
    const from = f.get(a);
    const to = f.get(b);
    if (same(from, to)) continue;
    const change: ConfigChange = { path: f.path, reloadable: !NOT_RELOADABLE.has(f.path), from, to };
    if (NEW_SESSIONS_ONLY.has(f.path)) change.appliesTo = 'new-sessions';
    out.push(change);
  }
  if (!same(a.vhosts, b.vhosts)) out.push({ path: 'vhost', reloadable: true, from: a.vhosts, to: b.vhosts, appliesTo: 'new-sessions' });
  const before = new Map(a.vhostConfigs.map((v) => [v.name, v]));
  for (const next of b.vhostConfigs) {
    const prev = before.get(next.name);
    if (!prev) continue; // an added vhost is the 'vhost' entry
    for (const f of VHOST_FIELDS) {
      const from = f.get(prev);
      const to = f.get(next);
      if (!same(from, to)) out.push({ path: f.path, vhost: next.name, reloadable: true, from, to, appliesTo: 'new-sessions' });
    }
  }
  return out;
}

/** One change for a log line: 'chunk_size (new sessions)', 'vhost.play.gop_cache of vhost v (new sessions)'. */
export function describeChange(c: ConfigChange): string {
  const of = c.vhost !== undefined ? ` of vhost ${c.vhost}` : '';
  return `${c.path}${of}${c.appliesTo === 'new-sessions' ? ' (new sessions)' : ''}`;
}
