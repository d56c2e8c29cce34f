// Routing of an RTMP request as SRS does it: schema, host, port, vhost, app and stream from
// connect's tcUrl and the publish/play name, the query string kept for hooks; then the vhost
// resolved against the configured ones (unknown names and IPs go to __defaultVhost__).
// Source: SRS srs_protocol_utility.cpp srs_discovery_tc_url; srs_app_config.cpp get_vhost
// (try_default_vhost).
import { RtmpError } from './error';

export const DEFAULT_VHOST = '__defaultVhost__';
export const DEFAULT_APP = '__defaultApp__';
export const DEFAULT_PORT = 1935;

export interface RtmpRequest {
  tcUrl: string;
  schema: string;
  host: string;
  port: number;
  /** the vhost the URL names (host, or ?vhost= / ?domain=); not yet checked against the config */
  vhost: string;
  app: string;
  stream: string;
  /** the query string with its '?' (or '#' fragment), '' when none */
  param: string;
}

/**
 * Split tcUrl plus a publish/play name into SRS's request fields. FMLE forms are accepted:
 * `rtmp://h/app?vhost=v/stream`, `rtmp://h/app...vhost...v/stream`, and `/_definst_` is dropped.
 * @param stream the publish/play name, with its own query ('' at connect)
 * @throws RtmpError('request') when the URL cannot be parsed
 */
export function discoverRequest(tcUrl: string, stream = '', param = ''): RtmpRequest {
  let full = tcUrl.split('...vhost...').join('?vhost=');
  full += stream === '' ? '/' : stream[0] === '/' ? stream : `/${stream}`;
  full += param === '' ? '' : param[0] === '?' ? param : `?${param}`;
  const q = full.search(/[?#]/);
  const slash = full.lastIndexOf('/');
  if (slash >= 0 && q >= 0 && q < slash) full = full.slice(0, q) + full.slice(slash) + full.slice(q, slash);
  full = full.split('/_definst_').join('');
  let url: URL;
  try {
    url = new URL(full);
  } catch {
    throw new RtmpError('request', `tcUrl ${JSON.stringify(tcUrl)} is not a URL`);
  }
  const schema = url.protocol.replace(/:$/, '');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : DEFAULT_PORT;
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // a stray '%' is kept as sent
  }
  const cut = path.lastIndexOf('/');
  const name = path.slice(cut + 1);
  // OBS users often end the server URL with '/': rtmp://h/live/ is app "live"
  let app = cut > 0 ? path.slice(0, cut).replace(/\/+$/, '') : '';
  if (app.startsWith('/')) app = app.slice(1);
  if (!app) app = DEFAULT_APP;
  let outParam = url.search;
  if (url.hash) outParam += url.hash;
  const query = new URLSearchParams(url.search);
  const fromQuery = query.get('vhost') || query.get('domain') || '';
  const vhost = fromQuery && fromQuery !== DEFAULT_VHOST ? fromQuery : host;
  if (!outParam.includes('&') && fromQuery === DEFAULT_VHOST) outParam = '';
  return { tcUrl, schema, host, port, vhost, app, stream: name, param: outParam };
}

/**
 * The configured vhost a request goes to: its own name when configured, else __defaultVhost__
 * (an IP, localhost, or an unknown name), as SRS's get_vhost(name, try_default_vhost=true).
 * The caller knows whether __defaultVhost__ itself is configured (SRS refuses the client if not).
 */
export function resolveVhost(name: string, configured: readonly string[]): string {
  return name !== DEFAULT_VHOST && configured.includes(name) ? name : DEFAULT_VHOST;
}

/** `vhost/app/stream`, SRS's stream url without the query (as hub.streamPath). */
export function streamUrl(r: Pick<RtmpRequest, 'vhost' | 'app' | 'stream'>): string {
  return `${r.vhost}/${r.app}/${r.stream}`;
}
