// A vhost's media settings from its config block, read as SRS reads them (srs_app_config.cpp:
// get_gop_cache, get_queue_length, get_mw_sleep, get_mw_msgs), including the pre-3.0 vhost-level
// directives that SRS's srs_config_transform_vhost moves into `play { }`.

import type { Directive } from '../config/grammar';
import { DEFAULT_MEDIA_SETTINGS, type MediaSettings } from './hub';

/** SRS_PERF_MW_MSGS: the most messages SRS merges into one write */
const MW_MSGS_MAX = 128;

function arg0(block: readonly Directive[] | null | undefined, name: string): string | null {
  const d = block?.find((x) => x.name === name);
  return d && d.args.length > 0 && d.args[0] !== '' ? d.args[0] : null;
}

/** SRS's atoi: leading digits (and sign), 0 when none */
function atoi(s: string): number {
  const n = parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Media settings of one vhost: `play { gop_cache; queue_length; mw_latency; mw_msgs; }`, falling back
 * to the same directives at the vhost level (SRS 2's layout), then to SRS's defaults (gop_cache on,
 * queue_length 30 s, mw_latency 350 ms, mw_msgs 8). gop_cache is on unless written `off`
 * (SRS_CONF_PREFER_TRUE); mw_msgs is capped at 128 as SRS caps it. Validation of the values is the
 * config checker's; this only reads.
 * @param vhost the `vhost NAME { ... }` directive, or null for a vhost with no block
 * @param queueMaxBytes srs's own byte bound of a player's queue (not an SRS directive)
 */
export function mediaSettings(vhost: Directive | null, queueMaxBytes: number = DEFAULT_MEDIA_SETTINGS.queueMaxBytes): MediaSettings {
  const top = vhost?.children ?? null;
  const play = top?.find((d) => d.name === 'play')?.children ?? null;
  const read = (name: string): string | null => arg0(play, name) ?? arg0(top, name);
  const gop = read('gop_cache');
  const queue = read('queue_length');
  const latency = read('mw_latency');
  const msgs = read('mw_msgs');
  return {
    gopCache: gop === null ? DEFAULT_MEDIA_SETTINGS.gopCache : gop !== 'off',
    queueLengthMs: queue === null ? DEFAULT_MEDIA_SETTINGS.queueLengthMs : atoi(queue) * 1000,
    queueMaxBytes,
    mwLatencyMs: latency === null ? DEFAULT_MEDIA_SETTINGS.mwLatencyMs : atoi(latency),
    mwMsgs: msgs === null ? DEFAULT_MEDIA_SETTINGS.mwMsgs : Math.min(MW_MSGS_MAX, atoi(msgs)),
  };
}
