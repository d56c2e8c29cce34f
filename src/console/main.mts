// The console page: one event stream from the server (/api/v1/events), the panels drawn from each
// snapshot, and the few actions an operator takes (reload, kick, play). Every text from the server
// goes in through textContent: stream names and log lines are the clients' words, never markup.
import Mpegts from 'mpegts.js';
import { EVENT_LOG, EVENT_QUITTING, EVENT_SNAPSHOT, type LogLine, type Snapshot } from './snapshot.ts';
import {
  appendLog,
  clientRows,
  codecsText,
  countdowns,
  errorLocation,
  filterLog,
  formatClock,
  flvUrl,
  formatBytes,
  formatDuration,
  linkText,
  phaseLabel,
  stateFromProbe,
  type LevelFilter,
  type LinkState,
} from './model.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

let state: LinkState = 'connecting';
let last: Snapshot | null = null;
/** the server's clock minus ours (ms), so countdowns do not depend on the browser's clock */
let skew = 0;
let logTail: LogLine[] = [];
let source: EventSource | null = null;
let player: Mpegts.Player | null = null;

function setState(next: LinkState): void {
  state = next;
  const link = $('link');
  link.dataset.state = next;
  link.textContent = linkText(next, last?.grace ?? null);
  document.body.dataset.state = next;
  if (next === 'gone') {
    const phase = $('grace-phase');
    phase.dataset.phase = 'gone';
    phase.textContent = 'gone: the server no longer answers (it has exited, or handed over and closed its API)';
    $('grace-countdowns').replaceChildren();
  }
}

function dl(list: HTMLElement, rows: [string, string | Node][]): void {
  list.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dd = el('dd');
      if (typeof v === 'string') dd.textContent = v;
      else dd.append(v);
      return [el('dt', k), dd];
    }),
  );
}

function na(text: string): HTMLElement {
  return el('span', text, 'na');
}

/**
 * Redraw a table body without taking the keyboard's place away: the rows are rebuilt each
 * snapshot, so the control that had focus is found again by its accessible name.
 */
function redraw(body: HTMLElement, rows: HTMLElement[]): void {
  const active = document.activeElement;
  const label = active instanceof HTMLElement && body.contains(active) ? active.getAttribute('aria-label') : null;
  body.replaceChildren(...rows);
  if (label === null) return;
  const again = [...body.querySelectorAll<HTMLElement>('[aria-label]')].find((e) => e.getAttribute('aria-label') === label);
  again?.focus();
}

function emptyRow(body: HTMLElement, cols: number, text: string): void {
  const td = el('td', text, 'empty');
  td.colSpan = cols;
  const tr = el('tr');
  tr.append(td);
  body.replaceChildren(tr);
}

function drawProcess(s: Snapshot): void {
  const p = s.process;
  dl($('process-list'), [
    ['Version', p.version],
    ['PID', `${p.pid} (parent ${p.ppid})`],
    ['Uptime', formatDuration(p.uptime_ms)],
    ['Daemon', `${p.daemon.daemon ? 'yes' : 'no'}: ${p.daemon.reason}`],
    ['Container', p.daemon.container || 'none detected'],
    ['Upgrade generation', p.parent_pid ? `${p.generation} (took over from pid ${p.parent_pid})` : String(p.generation)],
    ['Inherited', p.inherited.length > 0 ? p.inherited.join(', ') : 'nothing (fresh start)'],
    ['Memory', formatBytes(p.mem_rss_kbyte * 1024)],
    ['Connections', `${s.connections.open} of ${s.connections.max} (API ${s.connections.api_open} of ${s.connections.api_max})`],
  ]);
}

function drawGrace(s: Snapshot): void {
  const g = s.grace;
  const phase = $('grace-phase');
  phase.dataset.phase = g.phase;
  phase.textContent = g.phase === 'idle' ? 'serving: no quit under way' : `${phaseLabel(g.phase)}${g.reason ? `, after ${g.reason}` : ''}; ${g.open} ${g.open === 1 ? 'connection' : 'connections'} left`;
  const list = $('grace-countdowns');
  const items = countdowns(g, Date.now() + skew).map((c) => el('li', `${c.what} ${formatDuration(c.leftMs)}`));
  if (g.phase === 'draining' && g.detailed && !g.maxWaitMs) items.push(el('li', 'no deadline: grace_max_wait is 0, the drain waits for every connection'));
  if (g.phase !== 'idle' && !g.detailed) items.push(el('li', 'countdowns not available: this server reports no grace phase detail', 'na'));
  list.replaceChildren(...items);
}

function drawConfig(s: Snapshot): void {
  const c = s.config;
  const r = c.reload;
  let result: string | Node = 'no reload since start';
  if (r) {
    const span = el('span', r.ok ? `ok (${r.trigger})` : `failed (${r.trigger}): ${r.error ?? ''}`, r.ok ? 'ok' : 'err');
    result = span;
  }
  dl($('config-list'), [
    ['File', c.file],
    ['Generation', c.generation === null ? na('not available') : String(c.generation)],
    ['Last reload', r ? new Date(r.at).toLocaleString() : 'never'],
    ['Result', result],
    ['Auth', c.auth ? 'on: this page uses your browser\u2019s Basic credentials' : 'off'],
  ]);
  const reload = $('reload');
  const note = $('reload-note');
  reload.hidden = !(c.rawApi && c.allowReload);
  note.textContent = reload.hidden ? 'Reload from here needs http_api { raw_api { enabled on; allow_reload on; } }' : '';
}

function drawListeners(s: Snapshot): void {
  const body = $('listeners-body');
  if (s.listeners.length === 0) return emptyRow(body, 5, s.grace.phase === 'idle' ? 'no listener' : 'all listeners closed (quitting)');
  body.replaceChildren(
    ...s.listeners.map((l) => {
      const tr = el('tr');
      tr.append(
        el('td', l.role),
        el('td', l.endpoint === null ? 'not available' : `${l.endpoint}${l.inherited ? ' (inherited)' : ''}`),
        el('td', String(l.connections)),
        el('td', String(l.accepted)),
        el('td', String(l.refused)),
      );
      return tr;
    }),
  );
}

function drawStreams(s: Snapshot): void {
  const body = $('streams-body');
  const note = $('streams-note');
  if (s.streams === null) {
    note.textContent = 'Streams not available: the media side is not wired into this server.';
    return emptyRow(body, 8, 'not available');
  }
  note.textContent = s.flvPort === null ? 'Playing needs the file server (http_server), which serves HTTP-FLV: not available here.' : '';
  if (s.streams.length === 0) return emptyRow(body, 8, 'no stream is published');
  redraw(
    body,
    s.streams.map((st) => {
      const tr = el('tr');
      tr.dataset.stream = st.url;
      const play = el('td');
      const url = flvUrl(location.protocol, location.hostname, s.flvPort, st.url);
      if (url && st.publish.active) {
        const b = el('button', 'Play');
        b.type = 'button';
        b.setAttribute('aria-label', `Play ${st.url}`);
        b.addEventListener('click', () => play_(st.url, url));
        play.append(b);
      } else play.append(na(st.publish.active ? 'no HTTP-FLV' : 'no publisher'));
      tr.append(
        el('td', st.vhost),
        el('td', st.app),
        el('td', st.name),
        el('td', st.publish.active ? (st.publish.cid ?? 'yes') : 'none'),
        el('td', String(Math.max(0, st.clients - (st.publish.active ? 1 : 0)))),
        el('td', codecsText(st)),
        el('td', `${st.kbps.recv_30s} / ${st.kbps.send_30s}`),
        play,
      );
      return tr;
    }),
  );
}

function drawClients(s: Snapshot): void {
  const body = $('clients-body');
  $('clients-note').textContent = s.clients === null ? 'Media clients not available (media side not wired): open connections only, none can be kicked.' : '';
  const rows = clientRows(s);
  if (rows.length === 0) return emptyRow(body, 7, 'no client');
  redraw(
    body,
    rows.map((r) => {
      const tr = el('tr');
      tr.dataset.client = r.id;
      const kick = el('td');
      if (r.kickable) {
        const b = el('button', 'Kick');
        b.type = 'button';
        b.setAttribute('aria-label', `Kick client ${r.id}`);
        b.addEventListener('click', () => void kick_(r.id, b));
        kick.append(b);
      } else kick.append(na('—'));
      tr.append(
        el('td', r.id),
        el('td', r.type),
        el('td', r.stream),
        el('td', r.remote),
        el('td', `${formatDuration(s.at - r.since)} ago`),
        el('td', r.bytes === null ? '—' : formatBytes(r.bytes)),
        kick,
      );
      return tr;
    }),
  );
}

function drawLog(): void {
  const pre = $('log-lines');
  const min = ($('log-level') as HTMLSelectElement).value as LevelFilter;
  if (last && !last.logAvailable) {
    $('log-note').textContent = 'Log tail not available: this server keeps no log tail for the console.';
    pre.replaceChildren();
    return;
  }
  $('log-note').textContent = '';
  pre.replaceChildren(
    ...filterLog(logTail, min).map((l) => {
      return el('span', `[${formatClock(l.time)}][${l.level}][${l.cid}] ${l.msg}\n`, `lv-${l.level}`);
    }),
  );
  pre.scrollTop = pre.scrollHeight;
}

function draw(s: Snapshot): void {
  last = s;
  skew = s.at - Date.now();
  drawProcess(s);
  drawGrace(s);
  drawConfig(s);
  drawListeners(s);
  drawStreams(s);
  drawClients(s);
  drawLog();
  document.body.dataset.filled = 'yes';
}

async function reload_(): Promise<void> {
  const box = $('reload-error');
  const button = $('reload') as HTMLButtonElement;
  button.disabled = true;
  box.hidden = true;
  try {
    const res = await fetch('/api/v1/raw?rpc=reload', { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { data?: { ok?: boolean; error?: string | null }; message?: string };
    const error = body.data?.ok === true ? null : (body.data?.error ?? body.message ?? `HTTP ${res.status}`);
    if (error === null) {
      $('reload-note').textContent = 'reloaded';
      return;
    }
    const where = errorLocation(error);
    box.replaceChildren(el('strong', 'Reload failed, the running config is kept. '));
    if (where) box.append('At ', el('code', where), ': ');
    // the location once: SrsError's message starts with it
    box.append(where && error.startsWith(`${where}: `) ? error.slice(where.length + 2) : error);
    box.dataset.location = where ?? '';
    box.hidden = false;
  } catch (e) {
    box.textContent = `Reload request failed: ${e instanceof Error ? e.message : String(e)}`;
    box.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function kick_(id: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  const res = await fetch(`/api/v1/clients/${encodeURIComponent(id)}`, { method: 'DELETE' });
  if (!res.ok) {
    button.disabled = false;
    button.textContent = `Kick (failed: HTTP ${res.status})`;
  }
}

function stopPlaying(): void {
  if (player) {
    player.destroy();
    player = null;
  }
  $('player-box').hidden = true;
}

function play_(name: string, url: string): void {
  stopPlaying();
  const video = $('player') as HTMLVideoElement;
  $('player-box').hidden = false;
  $('player-title').textContent = name;
  const stateEl = $('player-state');
  if (!Mpegts.getFeatureList().mseLivePlayback) {
    stateEl.textContent = 'this browser cannot play HTTP-FLV (no Media Source Extensions)';
    return;
  }
  player = Mpegts.createPlayer({ type: 'flv', isLive: true, url }, { enableWorker: false, liveBufferLatencyChasing: true });
  player.on(Mpegts.Events.ERROR, (type: string, detail: string) => {
    stateEl.textContent = `player error: ${type} ${detail}`;
  });
  player.attachMediaElement(video);
  player.load();
  stateEl.textContent = `loading ${url}`;
  void Promise.resolve(player.play()).then(
    () => (stateEl.textContent = `playing ${url}`),
    (e: unknown) => (stateEl.textContent = `cannot start playing: ${e instanceof Error ? e.message : String(e)}`),
  );
}

/**
 * Once the server drains, the page's own player would be one of the connections it waits for:
 * the operator watching the quit must not be what holds it.
 */
function leaveTheDrain(s: Snapshot): void {
  if (!player || s.grace.phase === 'idle' || s.grace.phase === 'start_wait') return;
  stopPlaying();
  $('player-box').hidden = false;
  $('player-state').textContent = 'stopped: the server is draining';
}

/**
 * The stream: snapshots while serving; when the server closes it after `quitting`, one more
 * attempt decides between "still quitting" (it answers) and "gone" (it does not).
 */
function connect(afterQuit: boolean): void {
  const es = new EventSource('/api/v1/events');
  source = es;
  let opened = false;
  let quitting = false;
  es.addEventListener('open', () => {
    opened = true;
    // a new stream sends its server's whole window first (another process after an upgrade,
    // whose line numbers start again)
    logTail = [];
  });
  es.addEventListener(EVENT_SNAPSHOT, (ev) => {
    const s = JSON.parse((ev as MessageEvent<string>).data) as Snapshot;
    draw(s);
    setState(s.grace.phase === 'idle' ? 'live' : 'quitting');
    leaveTheDrain(s);
  });
  es.addEventListener(EVENT_LOG, (ev) => {
    logTail = appendLog(logTail, JSON.parse((ev as MessageEvent<string>).data) as LogLine[]);
    drawLog();
  });
  es.addEventListener(EVENT_QUITTING, (ev) => {
    quitting = true;
    const s = JSON.parse((ev as MessageEvent<string>).data) as Snapshot;
    draw(s);
    setState('quitting');
    leaveTheDrain(s);
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    if (quitting) {
      // the server ended the stream because it quits: ask once more after EventSource's delay
      es.close();
      window.setTimeout(() => connect(true), 1000);
      return;
    }
    if (afterQuit && !opened) {
      es.close();
      source = null;
      setState('gone');
      stopPlaying();
      return;
    }
    if (state === 'quitting') {
      // the stream broke during the quit without the last word: the process was cut
      es.close();
      source = null;
      setState('gone');
      return;
    }
    setState('lost');
  });
}

async function start(): Promise<void> {
  $('reload').addEventListener('click', () => void reload_());
  $('player-stop').addEventListener('click', stopPlaying);
  $('log-level').addEventListener('change', drawLog);
  // the countdowns run between snapshots
  window.setInterval(() => {
    if (last && last.grace.phase !== 'idle' && state !== 'gone') drawGrace(last);
  }, 250);
  let status: number;
  try {
    status = (await fetch('/api/v1/versions', { headers: { accept: 'application/json' } })).status;
  } catch {
    status = 0;
  }
  const first = stateFromProbe(status);
  setState(first);
  if (first === 'connecting') connect(false);
}

void start();
