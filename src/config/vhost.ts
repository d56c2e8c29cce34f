// The media part of the config: `vhost NAME { ... }` with SRS's names, defaults and checks, the
// resolver a session asks for its settings (falling back to __defaultVhost__ as SRS does), and
// SRS's security decision. Pure: directives in, typed settings and warnings out.
//
// Sources: SRS srs_app_config.cpp (get_vhost, get_gop_cache, get_queue_length, get_mw_sleep,
// get_mw_msgs, get_publish_1stpkt_timeout, get_publish_normal_timeout, get_chunk_size,
// get_vhost_http_remux_*, get_vhost_is_edge, get_vhost_edge_*, srs_config_transform_vhost,
// check_normal_config), srs_app_security.cpp, srs_core_performance.hpp, srs_kernel_consts.hpp,
// and conf/full.conf.

import * as net from 'node:net';
import { srsError, renderMessage, type SourceLocation } from '../errors';
import type { Directive } from './grammar';
import type { EnvOverride } from './env';
import type { ConfigWarning, SrsConfig } from './schema';

/** SRS_CONSTS_RTMP_DEFAULT_VHOST: the vhost of a client whose vhost is not configured. */
export const DEFAULT_VHOST = '__defaultVhost__';
/** SRS_CONSTS_RTMP_MIN_CHUNK_SIZE .. SRS_CONSTS_RTMP_MAX_CHUNK_SIZE, bytes */
export const CHUNK_SIZE_MIN = 128;
export const CHUNK_SIZE_MAX = 65536;
/** SRS_CONSTS_RTMP_SRS_CHUNK_SIZE, bytes */
export const CHUNK_SIZE_DEFAULT = 60000;
/** SRS_CONSTS_RTMP_DEFAULT_PORT: an origin written without a port */
export const RTMP_DEFAULT_PORT = 1935;
/** SRS_PERF_MW_MSGS: SRS lowers a larger mw_msgs to this, with a warning */
export const MW_MSGS_MAX = 128;

export type SecurityAction = 'publish' | 'play';

/** One `allow|deny publish|play ADDRESS;` line of `security { }`, in file order. */
export interface SecurityRule {
  kind: 'allow' | 'deny';
  action: SecurityAction;
  /** 'all', an IPv4 or IPv6 address, or a CIDR (10.0.0.0/8, fd00::/8), as written */
  address: string;
}

export interface SecuritySettings {
  /** default off: everyone may publish and play */
  enabled: boolean;
  rules: SecurityRule[];
}

/** An upstream server of an edge: `origin HOST[:PORT]`, IPv6 as [::1]:1935. */
export interface OriginAddress {
  host: string;
  port: number;
  /** host:port, IPv6 as [::1]:1935 */
  text: string;
}

export interface ClusterSettings {
  /** 'local' is an origin (the default), 'remote' an edge that pulls from and pushes to `origins` */
  mode: 'local' | 'remote';
  /** in the order written: an edge tries them in turn */
  origins: OriginAddress[];
  /** edge: take every connect to the origin for its check (auth) first; default off */
  tokenTraverse: boolean;
  /** edge: the vhost to ask the origin for; '[vhost]' (default) = the client's vhost */
  vhost: string;
  /** edge: send srs debug info (ids, pid) to an upstream srs; default on */
  debugSrsUpnode: boolean;
  /** edge: how to pull from the origin; default rtmp */
  protocol: 'rtmp' | 'flv' | 'flvs';
  /** edge: pull with the client's protocol; default off */
  followClient: boolean;
  /** origin cluster (mode local); default off */
  originCluster: boolean;
  /** origin cluster: the co-workers' HTTP API addresses, as written */
  coworkers: string[];
}

/** One vhost as configured, in SRS's units (s for queue_length, ms for the others). */
export interface VhostConfig {
  name: string;
  /** default on; a disabled vhost refuses every client (SRS: "vhost X disabled") */
  enabled: boolean;
  /** bytes; null: the global chunk_size */
  chunkSize: number | null;
  /** default off; on makes mw_msgs default to 0 (SRS_PERF_MW_MIN_MSGS_REALTIME) */
  minLatency: boolean;
  /** default off */
  tcpNodelay: boolean;
  /** bytes, default 0 (not set) */
  inAckSize: number;
  /** bytes, default 2500000 */
  outAckSize: number;
  play: {
    /** default on */
    gopCache: boolean;
    /** messages, default 2500; 0 = no limit */
    gopCacheMaxFrames: number;
    /** seconds, default 30; 0 = no time bound */
    queueLength: number;
    /** ms, default 350 */
    mwLatency: number;
    /** messages, at most 128; null: SRS's default, 8, or 0 with min_latency on (mediaSettingsFor resolves it) */
    mwMsgs: number | null;
    /** default full */
    timeJitter: 'full' | 'zero' | 'off';
  };
  publish: {
    /** ms, default 20000 */
    firstPktTimeout: number;
    /** ms, default 5000 */
    normalTimeout: number;
  };
  security: SecuritySettings;
  httpRemux: {
    /** default off */
    enabled: boolean;
    /** default '[vhost]/[app]/[stream].flv' */
    mount: string;
  };
  cluster: ClusterSettings;
}

/** A vhost with SRS's defaults. */
export function defaultVhostConfig(name: string): VhostConfig {
  return {
    name,
    enabled: true,
    chunkSize: null,
    minLatency: false,
    tcpNodelay: false,
    inAckSize: 0,
    outAckSize: 2500000,
    play: { gopCache: true, gopCacheMaxFrames: 2500, queueLength: 30, mwLatency: 350, mwMsgs: null, timeJitter: 'full' },
    publish: { firstPktTimeout: 20000, normalTimeout: 5000 },
    security: { enabled: false, rules: [] },
    httpRemux: { enabled: false, mount: '[vhost]/[app]/[stream].flv' },
    cluster: {
      mode: 'local',
      origins: [],
      tokenTraverse: false,
      vhost: '[vhost]',
      debugSrsUpnode: true,
      protocol: 'rtmp',
      followClient: false,
      originCluster: false,
      coworkers: [],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What srs acts on, for the vocabulary check (schema.ts): every other vhost directive SRS knows
// is warned about as unsupported. PARSED_ONLY ones are validated and typed (an edge or a later
// feature reads them) but nothing acts on them yet, so they still get the warning.

/** Vhost-level names SRS moves into play/publish/cluster on load (srs_config_transform_vhost). */
const LEGACY_PLAY = ['gop_cache', 'gop_cache_max_frames', 'queue_length', 'mw_latency', 'time_jitter'] as const;
const LEGACY_PUBLISH: Readonly<Record<string, string>> = {
  publish_1stpkt_timeout: 'firstpkt_timeout',
  publish_normal_timeout: 'normal_timeout',
};
const LEGACY_CLUSTER = ['mode', 'origin', 'token_traverse', 'vhost', 'debug_srs_upnode'] as const;

/** Directive paths (vocabulary form, 'vhost.play.gop_cache') srs implements. */
export const VHOST_IMPLEMENTED: readonly string[] = [
  'vhost', 'vhost.enabled', 'vhost.chunk_size',
  'vhost.play', 'vhost.play.gop_cache', 'vhost.play.gop_cache_max_frames', 'vhost.play.queue_length',
  'vhost.play.mw_latency', 'vhost.play.mw_msgs', 'vhost.play.time_jitter',
  'vhost.gop_cache', 'vhost.gop_cache_max_frames', 'vhost.queue_length', 'vhost.mw_latency', 'vhost.time_jitter',
  'vhost.publish', 'vhost.publish.firstpkt_timeout', 'vhost.publish.normal_timeout',
  'vhost.publish_1stpkt_timeout', 'vhost.publish_normal_timeout',
  'vhost.security', 'vhost.security.enabled', 'vhost.security.allow', 'vhost.security.deny',
  'vhost.http_remux', 'vhost.http_remux.enabled', 'vhost.http_remux.mount',
  'vhost.cluster', 'vhost.cluster.mode', 'vhost.cluster.origin', 'vhost.cluster.vhost',
  'vhost.mode', 'vhost.origin', 'vhost.vhost',
];

/** Validated and typed, not yet acted on: still warned as unsupported. */
export const VHOST_PARSED_ONLY: readonly string[] = [
  'vhost.min_latency', 'vhost.tcp_nodelay', 'vhost.in_ack_size', 'vhost.out_ack_size',
  'vhost.cluster.token_traverse', 'vhost.cluster.debug_srs_upnode',
  'vhost.cluster.protocol', 'vhost.cluster.follow_client', 'vhost.cluster.origin_cluster', 'vhost.cluster.coworkers',
  'vhost.token_traverse', 'vhost.debug_srs_upnode',
];

// ---------------------------------------------------------------------------------------------
// Values

/** Where a value error is reported: 'vhost.play.queue_length (vhost "v")'. */
function label(path: string, vhost: string): string {
  return `${path} (vhost "${vhost}")`;
}

function fail(d: Directive, path: string, vhost: string, message: string): never {
  throw srsError('SRS_ERR_CONFIG_VALUE', { directive: label(path, vhost), reason: message }, d.loc);
}

function oneArg(d: Directive, path: string, vhost: string): string {
  if (d.children) fail(d, path, vhost, 'takes values, not a block');
  if (d.args.length !== 1) fail(d, path, vhost, `takes exactly one value, got ${d.args.length}`);
  return d.args[0];
}

function onOff(d: Directive, path: string, vhost: string): boolean {
  const v = oneArg(d, path, vhost);
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  return fail(d, path, vhost, `"${v}" is not on or off`);
}

/** An integer in [min, max]; the message names the range as SRS's check_normal_config does. */
export function integerIn(v: string, min: number, max: number | null, unit?: string): number | string {
  const n = Number(v);
  if (/^-?[0-9]+$/.test(v) && Number.isSafeInteger(n) && n >= min && (max === null || n <= max)) return n;
  const u = unit ? ` (${unit})` : '';
  return max === null ? `"${v}" is not an integer >= ${min}${u}` : `"${v}" should be in [${min}, ${max}]${u}`;
}

function intOf(d: Directive, path: string, vhost: string, min: number, max: number | null, unit?: string): number {
  const r = integerIn(oneArg(d, path, vhost), min, max, unit);
  return typeof r === 'number' ? r : fail(d, path, vhost, r);
}

function enumOf<T extends string>(d: Directive, path: string, vhost: string, values: readonly T[]): T {
  const v = oneArg(d, path, vhost);
  return (values as readonly string[]).includes(v) ? (v as T) : fail(d, path, vhost, `"${v}" is not one of ${values.join(', ')}`);
}

/** `HOST[:PORT]` (IPv6 as [::1]:1935), port defaulting to 1935; null when it is not one. */
export function parseOriginAddress(text: string): OriginAddress | null {
  let host = text;
  let portText: string | null = null;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (v6) {
    if (!net.isIPv6(v6[1])) return null;
    host = v6[1];
    portText = v6[2] ?? null;
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i);
    portText = text.slice(i + 1);
  }
  if (!v6 && !net.isIPv4(host) && !/^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?)*$/.test(host)) {
    return null;
  }
  let port = RTMP_DEFAULT_PORT;
  if (portText !== null) {
    if (!/^[0-9]{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port < 1 || port > 65535) return null;
  }
  return { host, port, text: net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}` };
}

// ---------------------------------------------------------------------------------------------
// Addresses for security rules

interface Cidr {
  /** 4 or 16 bytes */
  bytes: number[];
  prefix: number;
}

function ipv4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** An address as bytes: IPv4-mapped IPv6 (::ffff:1.2.3.4, what a dual-stack socket reports) as IPv4. */
function ipBytes(ip: string): number[] | null {
  const bare = ip.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) is not part of the address
  if (net.isIPv4(bare)) return ipv4Bytes(bare);
  if (!net.isIPv6(bare)) return null;
  let text = bare.toLowerCase();
  let tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1]);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    text = text.slice(0, v4.index + 1) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, null];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  let groups = parse(head);
  if (rest !== null) {
    const r = parse(rest);
    groups = [...groups, ...new Array<number>(8 - groups.length - r.length).fill(0), ...r];
  }
  if (tail.length) groups = [...groups.slice(0, 6), ...tail];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/** 'all' -> null; an address or CIDR -> its bytes and prefix length; undefined when invalid. */
function parseRuleAddress(text: string): Cidr | null | undefined {
  if (text === 'all') return null;
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  if (ip.includes('%') || net.isIP(ip) === 0) return undefined;
  const bytes = ipBytes(ip);
  if (!bytes) return undefined;
  const bits = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: bits };
  const p = text.slice(slash + 1);
  // an IPv4-mapped CIDR counts its prefix over 128 bits
  const mappedShift = net.isIPv6(ip) && bytes.length === 4 ? 96 : 0;
  if (!/^[0-9]{1,3}$/.test(p) || Number(p) - mappedShift < 0 || Number(p) > bits + mappedShift) return undefined;
  return { bytes, prefix: Number(p) - mappedShift };
}

function within(ip: number[], net_: Cidr): boolean {
  if (ip.length !== net_.bytes.length) return false;
  let bits = net_.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (net_.bytes[i] & mask)) return false;
  }
  return true;
}

/** Whether `rule.address` matches the client address ip (SRS: "all", the same ip, or an IPv4 CIDR; here IPv6 too). */
export function addressMatches(address: string, ip: string): boolean {
  const a = parseRuleAddress(address);
  if (a === null) return true;
  if (a === undefined) return false;
  const b = ipBytes(ip);
  return b !== null && within(b, a);
}

/** Whether every address `inner` matches is matched by `outer` too. */
function covers(outer: string, inner: string): boolean {
  const o = parseRuleAddress(outer);
  const i = parseRuleAddress(inner);
  if (o === null) return true;
  if (o === undefined || i === undefined || i === null) return false;
  return o.prefix <= i.prefix && within(i.bytes, o);
}

// ---------------------------------------------------------------------------------------------
// The security decision (srs_app_security.cpp SrsSecurity::do_check)

export interface SecurityDecision {
  allowed: boolean;
  /** SRS's words: "deny by rule<all>", "not allowed by any of 1/1 rules", ... */
  reason: string;
  /** when refused, SRS's error: 1053 SecurityDeny (a deny rule matched), 1054 SecurityAllow (no allow rule did) */
  code?: 'SecurityDeny' | 'SecurityAllow';
}

/**
 * May ip publish or play? SRS's order, not first-match: security off allows everyone; else any
 * matching `deny` refuses (whatever the order in the file); else a matching `allow` admits; else
 * the client is refused when the block has any `allow` rule (of either action) or no rule at all,
 * and admitted when it has only `deny` rules. So `allow publish 127.0.0.1; deny publish all;`
 * refuses 127.0.0.1 too (the loader warns about such an allow). ip: the peer address as the
 * socket reports it (IPv4-mapped IPv6 is compared as IPv4). Source: srs_app_security.cpp.
 */
export function checkSecurity(security: SecuritySettings, action: SecurityAction, ip: string): SecurityDecision {
  if (!security.enabled) return { allowed: true, reason: 'security disabled' };
  const rules = security.rules;
  for (const r of rules) {
    if (r.kind === 'deny' && r.action === action && addressMatches(r.address, ip)) {
      return { allowed: false, reason: `deny by rule<${r.address}>`, code: 'SecurityDeny' };
    }
  }
  for (const r of rules) {
    if (r.kind === 'allow' && r.action === action && addressMatches(r.address, ip)) {
      return { allowed: true, reason: `allow by rule<${r.address}>` };
    }
  }
  const allows = rules.filter((r) => r.kind === 'allow').length;
  const denies = rules.length - allows;
  if (allows > 0 || denies === 0) {
    return { allowed: false, reason: `not allowed by any of ${allows}/${denies} rules`, code: 'SecurityAllow' };
  }
  return { allowed: true, reason: `not denied by any of ${denies} rules` };
}

// ---------------------------------------------------------------------------------------------
// Building one vhost from its directives

/**
 * The first directive of a name in a block; SRS's get() uses it and ignores the rest, so each
 * ignored copy gets an SRS_WARN_CONFIG_DUPLICATE warning.
 */
function firstOf(list: readonly Directive[], name: string, path: string, vhost: string, warnings: ConfigWarning[]): Directive | undefined {
  const all = list.filter((d) => d.name === name);
  for (const dup of all.slice(1)) {
    warnings.push({
      code: 'SRS_WARN_CONFIG_DUPLICATE',
      message: renderMessage('SRS_WARN_CONFIG_DUPLICATE', { directive: label(path, vhost), first: `${all[0].loc.file}:${all[0].loc.line}` }),
      location: dup.loc,
    });
  }
  return all[0];
}

/** The last vhost-level legacy copy: SRS's transform overwrites the play/cluster value with each in turn. */
function lastOf(list: readonly Directive[], name: string): Directive | undefined {
  const all = list.filter((d) => d.name === name);
  return all[all.length - 1];
}

function subBlock(list: readonly Directive[], name: string, vhost: string, warnings: ConfigWarning[]): readonly Directive[] {
  const path = `vhost.${name}`;
  const d = firstOf(list, name, path, vhost, warnings);
  if (!d) return [];
  if (!d.children || d.args.length > 0) fail(d, path, vhost, `must be a block "${name} { ... }" without arguments`);
  return d.children;
}

/**
 * One `vhost NAME { ... }` (or `vhost NAME;`) -> its settings, validated. Throws
 * SrsError(SRS_ERR_CONFIG_VALUE) at the directive for a bad value; pushes SRS_WARN_CONFIG_DUPLICATE,
 * _UNSUPPORTED (an HTTP remux other than .flv), _CLAMPED (mw_msgs > 128) and _SHADOWED (an
 * allow rule a deny rule always wins over) warnings.
 */
export function buildVhost(d: Directive, warnings: ConfigWarning[]): VhostConfig {
  const name = d.args[0];
  const v = defaultVhostConfig(name);
  const top = d.children ?? [];
  const get = (n: string): Directive | undefined => firstOf(top, n, `vhost.${n}`, name, warnings);

  let x = get('enabled');
  if (x) v.enabled = onOff(x, 'vhost.enabled', name);
  x = get('chunk_size');
  if (x) v.chunkSize = intOf(x, 'vhost.chunk_size', name, CHUNK_SIZE_MIN, CHUNK_SIZE_MAX);
  x = get('min_latency');
  if (x) v.minLatency = onOff(x, 'vhost.min_latency', name);
  x = get('tcp_nodelay');
  if (x) v.tcpNodelay = onOff(x, 'vhost.tcp_nodelay', name);
  x = get('in_ack_size');
  if (x) v.inAckSize = intOf(x, 'vhost.in_ack_size', name, 0, 0xffffffff, 'bytes');
  x = get('out_ack_size');
  if (x) v.outAckSize = intOf(x, 'vhost.out_ack_size', name, 0, 0xffffffff, 'bytes');

  // play { }, and the vhost-level spellings SRS moves into it (they win: srs_config_transform_vhost)
  const play = subBlock(top, 'play', name, warnings);
  const playDirective = (n: (typeof LEGACY_PLAY)[number] | 'mw_msgs'): [Directive, string] | undefined => {
    const legacy = (LEGACY_PLAY as readonly string[]).includes(n) ? lastOf(top, n) : undefined;
    if (legacy) return [legacy, `vhost.${n}`];
    const p = firstOf(play, n, `vhost.play.${n}`, name, warnings);
    return p ? [p, `vhost.play.${n}`] : undefined;
  };
  let pd = playDirective('gop_cache');
  if (pd) v.play.gopCache = onOff(pd[0], pd[1], name);
  pd = playDirective('gop_cache_max_frames');
  if (pd) v.play.gopCacheMaxFrames = intOf(pd[0], pd[1], name, 0, null);
  pd = playDirective('queue_length');
  if (pd) v.play.queueLength = intOf(pd[0], pd[1], name, 0, null, 's');
  pd = playDirective('mw_latency');
  if (pd) v.play.mwLatency = intOf(pd[0], pd[1], name, 0, null, 'ms');
  pd = playDirective('time_jitter');
  if (pd) v.play.timeJitter = enumOf(pd[0], pd[1], name, ['full', 'zero', 'off'] as const);
  pd = playDirective('mw_msgs');
  if (pd) {
    const n = intOf(pd[0], pd[1], name, 0, null);
    if (n > MW_MSGS_MAX) {
      warnings.push({
        code: 'SRS_WARN_CONFIG_CLAMPED',
        message: renderMessage('SRS_WARN_CONFIG_CLAMPED', { directive: label(pd[1], name), value: n, max: MW_MSGS_MAX }),
        location: pd[0].loc,
      });
    }
    v.play.mwMsgs = Math.min(n, MW_MSGS_MAX);
  }

  // publish { }, and publish_1stpkt_timeout / publish_normal_timeout
  const publish = subBlock(top, 'publish', name, warnings);
  const publishDirective = (n: string): [Directive, string] | undefined => {
    const old = Object.keys(LEGACY_PUBLISH).find((k) => LEGACY_PUBLISH[k] === n);
    const legacy = old ? lastOf(top, old) : undefined;
    if (legacy && old) return [legacy, `vhost.${old}`];
    const p = firstOf(publish, n, `vhost.publish.${n}`, name, warnings);
    return p ? [p, `vhost.publish.${n}`] : undefined;
  };
  pd = publishDirective('firstpkt_timeout');
  if (pd) v.publish.firstPktTimeout = intOf(pd[0], pd[1], name, 1, null, 'ms');
  pd = publishDirective('normal_timeout');
  if (pd) v.publish.normalTimeout = intOf(pd[0], pd[1], name, 1, null, 'ms');

  buildSecurity(v, subBlock(top, 'security', name, warnings), warnings);

  const remux = subBlock(top, 'http_remux', name, warnings);
  x = firstOf(remux, 'enabled', 'vhost.http_remux.enabled', name, warnings);
  if (x) v.httpRemux.enabled = onOff(x, 'vhost.http_remux.enabled', name);
  x = firstOf(remux, 'mount', 'vhost.http_remux.mount', name, warnings);
  if (x) {
    v.httpRemux.mount = oneArg(x, 'vhost.http_remux.mount', name);
    if (!v.httpRemux.mount.endsWith('.flv')) {
      warnings.push({
        code: 'SRS_WARN_CONFIG_UNSUPPORTED',
        message: `${label('vhost.http_remux.mount', name)}: "${v.httpRemux.mount}" is not an HTTP-FLV mount (*.flv); srs remuxes to FLV only, this mount is ignored`,
        location: x.loc,
      });
    }
  }

  buildCluster(v, d, top, subBlock(top, 'cluster', name, warnings), warnings);
  return v;
}

function buildSecurity(v: VhostConfig, list: readonly Directive[], warnings: ConfigWarning[]): void {
  const name = v.name;
  const x = firstOf(list, 'enabled', 'vhost.security.enabled', name, warnings);
  if (x) v.security.enabled = onOff(x, 'vhost.security.enabled', name);
  const denies: Array<{ rule: SecurityRule; d: Directive }> = [];
  const allows: Array<{ rule: SecurityRule; d: Directive }> = [];
  for (const d of list) {
    if (d.name !== 'allow' && d.name !== 'deny') continue;
    const path = `vhost.security.${d.name}`;
    if (d.children) fail(d, path, name, 'takes values, not a block');
    if (d.args.length !== 2) {
      fail(d, path, name, `must be "${d.name} publish|play all|IP|CIDR", got ${d.args.length} value${d.args.length === 1 ? '' : 's'}`);
    }
    const [action, address] = d.args;
    if (action !== 'publish' && action !== 'play') fail(d, path, name, `"${action}" is not publish or play`);
    if (parseRuleAddress(address) === undefined) {
      fail(d, path, name, `"${address}" is not all, an IPv4/IPv6 address or a CIDR (e.g. 10.0.0.0/8)`);
    }
    const rule: SecurityRule = { kind: d.name, action, address };
    v.security.rules.push(rule);
    (d.name === 'deny' ? denies : allows).push({ rule, d });
  }
  for (const a of allows) {
    const shadow = denies.find((n) => n.rule.action === a.rule.action && covers(n.rule.address, a.rule.address));
    if (shadow) {
      warnings.push({
        code: 'SRS_WARN_CONFIG_SHADOWED',
        message: renderMessage('SRS_WARN_CONFIG_SHADOWED', {
          directive: label('vhost.security.allow', name),
          action: a.rule.action,
          address: a.rule.address,
          denied: shadow.rule.address,
          at: `${shadow.d.loc.file}:${shadow.d.loc.line}`,
        }),
        location: a.d.loc,
      });
    }
  }
}

function buildCluster(v: VhostConfig, vhostDirective: Directive, top: readonly Directive[], list: readonly Directive[], warnings: ConfigWarning[]): void {
  const name = v.name;
  const c = v.cluster;
  const pick = (n: string): [Directive, string] | undefined => {
    const legacy = (LEGACY_CLUSTER as readonly string[]).includes(n) ? lastOf(top, n) : undefined;
    if (legacy) return [legacy, `vhost.${n}`];
    const p = firstOf(list, n, `vhost.cluster.${n}`, name, warnings);
    return p ? [p, `vhost.cluster.${n}`] : undefined;
  };
  let p = pick('mode');
  if (p) c.mode = enumOf(p[0], p[1], name, ['local', 'remote'] as const);
  p = pick('origin');
  if (p) {
    const [d, path] = p;
    if (d.children) fail(d, path, name, 'takes values, not a block');
    if (d.args.length === 0) fail(d, path, name, 'requires at least one "HOST[:PORT]"');
    for (const a of d.args) {
      const o = parseOriginAddress(a);
      if (!o) fail(d, path, name, `"${a}" is not HOST[:PORT] (IPv6 as [::1]:1935, port 1-65535, default ${RTMP_DEFAULT_PORT})`);
      c.origins.push(o);
    }
  }
  p = pick('token_traverse');
  if (p) c.tokenTraverse = onOff(p[0], p[1], name);
  p = pick('vhost');
  if (p) c.vhost = oneArg(p[0], p[1], name);
  p = pick('debug_srs_upnode');
  if (p) c.debugSrsUpnode = onOff(p[0], p[1], name);
  p = pick('protocol');
  if (p) c.protocol = enumOf(p[0], p[1], name, ['rtmp', 'flv', 'flvs'] as const);
  p = pick('follow_client');
  if (p) c.followClient = onOff(p[0], p[1], name);
  p = pick('origin_cluster');
  if (p) c.originCluster = onOff(p[0], p[1], name);
  p = pick('coworkers');
  if (p) {
    if (p[0].children) fail(p[0], p[1], name, 'takes values, not a block');
    c.coworkers = [...p[0].args];
  }
  if (c.mode === 'remote' && c.origins.length === 0) {
    const at = pick('mode')?.[0] ?? vhostDirective;
    fail(at, 'vhost.cluster.origin', name, 'mode remote (an edge) needs "origin HOST[:PORT] ...;" to pull from');
  }
}

// ---------------------------------------------------------------------------------------------
// The resolver

/**
 * The vhost a client naming `name` gets, as SRS's get_vhost(name, try_default_vhost) and
 * SrsRtmpConn::check_vhost decide: the vhost of that name, else __defaultVhost__; a disabled
 * one (the named one is never skipped for the default) refuses the client.
 */
export function resolveVhost(config: SrsConfig, name: string): { vhost: VhostConfig; reason: null } | { vhost: null; reason: string } {
  const found = config.vhostConfigs.find((v) => v.name === name) ?? config.vhostConfigs.find((v) => v.name === DEFAULT_VHOST);
  if (!found) return { vhost: null, reason: `no vhost ${name}` };
  if (!found.enabled) return { vhost: null, reason: `vhost ${found.name} disabled` };
  return { vhost: found, reason: null };
}

/** What an RTMP session, a player or an HTTP-FLV stream needs, in ms and bytes. */
export interface MediaSettings {
  /** the resolved vhost's name (the client's, or __defaultVhost__); null: refuse the client */
  vhost: string | null;
  /** why vhost is null (SRS's words: "no vhost X", "vhost X disabled"); null otherwise */
  refusal: string | null;
  /** bytes: the vhost's chunk_size, else the global one */
  chunkSize: number;
  gopCache: boolean;
  /** messages; 0 = no limit */
  gopCacheMaxFrames: number;
  /** ms; 0 = no time bound */
  queueLengthMs: number;
  mwLatencyMs: number;
  mwMsgs: number;
  /** play { time_jitter }: SRS's default full */
  timeJitter: 'full' | 'zero' | 'off';
  firstPktTimeoutMs: number;
  normalTimeoutMs: number;
  /** bytes: Window Acknowledgement Size to send; in: 0 = not set */
  inAckSize: number;
  outAckSize: number;
  tcpNodelay: boolean;
  security: SecuritySettings;
  /** enabled only for an HTTP-FLV (*.flv) mount */
  httpRemux: { enabled: boolean; mount: string };
  cluster: ClusterSettings;
}

/**
 * The settings for a client of vhost `name` (from tcUrl or ?vhost=), from the running config:
 * call it when a session starts, so a reload applies to new sessions and leaves live ones alone.
 * An unknown or disabled vhost gives vhost null (and SRS's defaults elsewhere, so a session can
 * still speak RTMP to refuse it). Pure; never throws.
 */
export function mediaSettingsFor(config: SrsConfig, name: string): MediaSettings {
  const r = resolveVhost(config, name);
  const v = r.vhost ?? defaultVhostConfig(name);
  return {
    vhost: r.vhost ? r.vhost.name : null,
    refusal: r.reason,
    chunkSize: v.chunkSize ?? config.chunkSize,
    gopCache: v.play.gopCache,
    gopCacheMaxFrames: v.play.gopCacheMaxFrames,
    queueLengthMs: v.play.queueLength * 1000,
    mwLatencyMs: v.play.mwLatency,
    // SRS_PERF_MW_MIN_MSGS, or SRS_PERF_MW_MIN_MSGS_REALTIME with min_latency on
    mwMsgs: v.play.mwMsgs ?? (v.minLatency ? 0 : 8),
    timeJitter: v.play.timeJitter,
    firstPktTimeoutMs: v.publish.firstPktTimeout,
    normalTimeoutMs: v.publish.normalTimeout,
    inAckSize: v.inAckSize,
    outAckSize: v.outAckSize,
    tcpNodelay: v.tcpNodelay,
    security: structuredClone(v.security),
    httpRemux: { enabled: v.httpRemux.enabled && v.httpRemux.mount.endsWith('.flv'), mount: v.httpRemux.mount },
    cluster: structuredClone(v.cluster),
  };
}

// ---------------------------------------------------------------------------------------------
// SRS_VHOST_* environment overrides: SRS's getters read these before the file, for every vhost
// (srs_app_config.cpp, SRS_OVERWRITE_BY_ENV_*). SRS_VHOST_CHUNK_SIZE also sets the global chunk
// size, as SRS's get_global_chunk_size reads it. Security and cluster have none in SRS.

type EnvSetter = (v: VhostConfig, value: string) => string | null;

function envBool(set: (v: VhostConfig, b: boolean) => void): EnvSetter {
  return (v, value) => {
    if (value === 'on' || value === 'true') set(v, true);
    else if (value === 'off' || value === 'false') set(v, false);
    else return `"${value}" is not on or off`;
    return null;
  };
}

function envInt(min: number, max: number | null, unit: string | undefined, set: (v: VhostConfig, n: number) => void): EnvSetter {
  return (v, value) => {
    const r = integerIn(value, min, max, unit);
    if (typeof r === 'string') return r;
    set(v, r);
    return null;
  };
}

const VHOST_ENV: ReadonlyArray<{ variable: string; path: string; set: EnvSetter }> = [
  { variable: 'SRS_VHOST_CHUNK_SIZE', path: 'vhost.chunk_size', set: envInt(CHUNK_SIZE_MIN, CHUNK_SIZE_MAX, undefined, (v, n) => (v.chunkSize = n)) },
  { variable: 'SRS_VHOST_MIN_LATENCY', path: 'vhost.min_latency', set: envBool((v, b) => (v.minLatency = b)) },
  { variable: 'SRS_VHOST_TCP_NODELAY', path: 'vhost.tcp_nodelay', set: envBool((v, b) => (v.tcpNodelay = b)) },
  { variable: 'SRS_VHOST_IN_ACK_SIZE', path: 'vhost.in_ack_size', set: envInt(0, 0xffffffff, 'bytes', (v, n) => (v.inAckSize = n)) },
  { variable: 'SRS_VHOST_OUT_ACK_SIZE', path: 'vhost.out_ack_size', set: envInt(0, 0xffffffff, 'bytes', (v, n) => (v.outAckSize = n)) },
  { variable: 'SRS_VHOST_PLAY_GOP_CACHE', path: 'vhost.play.gop_cache', set: envBool((v, b) => (v.play.gopCache = b)) },
  { variable: 'SRS_VHOST_PLAY_GOP_CACHE_MAX_FRAMES', path: 'vhost.play.gop_cache_max_frames', set: envInt(0, null, undefined, (v, n) => (v.play.gopCacheMaxFrames = n)) },
  { variable: 'SRS_VHOST_PLAY_QUEUE_LENGTH', path: 'vhost.play.queue_length', set: envInt(0, null, 's', (v, n) => (v.play.queueLength = n)) },
  { variable: 'SRS_VHOST_PLAY_MW_LATENCY', path: 'vhost.play.mw_latency', set: envInt(0, null, 'ms', (v, n) => (v.play.mwLatency = n)) },
  { variable: 'SRS_VHOST_PLAY_MW_MSGS', path: 'vhost.play.mw_msgs', set: envInt(0, MW_MSGS_MAX, undefined, (v, n) => (v.play.mwMsgs = n)) },
  {
    variable: 'SRS_VHOST_PLAY_TIME_JITTER',
    path: 'vhost.play.time_jitter',
    set: (v, value) => {
      if (value !== 'full' && value !== 'zero' && value !== 'off') return `"${value}" is not one of full, zero, off`;
      v.play.timeJitter = value;
      return null;
    },
  },
  { variable: 'SRS_VHOST_PUBLISH_FIRSTPKT_TIMEOUT', path: 'vhost.publish.firstpkt_timeout', set: envInt(1, null, 'ms', (v, n) => (v.publish.firstPktTimeout = n)) },
  { variable: 'SRS_VHOST_PUBLISH_NORMAL_TIMEOUT', path: 'vhost.publish.normal_timeout', set: envInt(1, null, 'ms', (v, n) => (v.publish.normalTimeout = n)) },
  { variable: 'SRS_VHOST_HTTP_REMUX_ENABLED', path: 'vhost.http_remux.enabled', set: envBool((v, b) => (v.httpRemux.enabled = b)) },
  {
    variable: 'SRS_VHOST_HTTP_REMUX_MOUNT',
    path: 'vhost.http_remux.mount',
    set: (v, value) => {
      v.httpRemux.mount = value;
      return null;
    },
  },
];

/** The SRS_VHOST_* variables srs reads. */
export const VHOST_ENV_VARIABLES: readonly string[] = VHOST_ENV.map((e) => e.variable);

/**
 * Apply every set SRS_VHOST_* variable to every vhost of c (mutated), as SRS's getters do; an
 * empty variable counts as unset. Returns what was applied, for the log. Throws
 * SrsError(SRS_ERR_CONFIG_VALUE) naming the variable for a bad value (SRS would use atoi's guess).
 */
export function applyVhostEnvOverrides(c: SrsConfig, env: Record<string, string | undefined>): EnvOverride[] {
  const applied: EnvOverride[] = [];
  for (const e of VHOST_ENV) {
    const raw = env[e.variable];
    if (raw === undefined || raw === '') continue;
    const value = e.variable === 'SRS_VHOST_HTTP_REMUX_MOUNT' ? raw : raw.trim();
    // checked once, even with no vhost configured
    const error = e.set(defaultVhostConfig(DEFAULT_VHOST), value);
    if (error) throw srsError('SRS_ERR_CONFIG_VALUE', { directive: `${e.variable} (${e.path})`, reason: error });
    for (const v of c.vhostConfigs) e.set(v, value);
    if (e.variable === 'SRS_VHOST_CHUNK_SIZE') c.chunkSize = Number(value);
    applied.push({ variable: e.variable, path: e.path, value: raw });
  }
  return applied;
}
