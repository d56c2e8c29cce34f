// What the console's event stream reads beyond the API's context. Every field is optional: the
// controller (lifecycle) wires them as it can, and the console says "not available" for each one
// that is missing, so the page works on a server that provides none of them.
import type { ApiContext } from './http';
import type { ClientSnapshot, StreamSnapshot } from '../media/hub';

/** lifecycle/grace.ts GraceState, restated: src/server/ does not import the lifecycle. */
export type GracePhase = 'idle' | 'start_wait' | 'draining' | 'final_wait' | 'done';

/** The graceful quit as the console shows it (lifecycle/grace.ts GracefulQuit). */
export interface GraceView {
  /** 'idle' while serving; then start_wait, draining, final_wait, done */
  phase: GracePhase;
  /** epoch ms the phase began; null while idle */
  since: number | null;
  /** epoch ms the quit began (start_wait's start): grace_max_wait counts from there; null while idle */
  quitAt: number | null;
  /** the waits in force (ms): grace_start_wait, grace_final_wait, grace_max_wait (0: no bound) */
  startWaitMs: number;
  finalWaitMs: number;
  maxWaitMs: number;
  /** why it quits: the signal, or the upgrade that handed over */
  reason: string | null;
}

/** One line of the log as the console lists it: SRS's level words. */
export interface LogTailLine {
  /** increases by one per line written: the event stream sends each line once */
  seq: number;
  /** epoch ms */
  time: number;
  level: 'Verbose' | 'Trace' | 'Warn' | 'Error' | 'Fatal';
  cid: string;
  msg: string;
}

/** A listener as bound: its role (listeners.ts names), its address, whether inherited on upgrade. */
export interface ListenerView {
  role: string;
  endpoint: string;
  inherited: boolean;
}

/** The media hub's view (media/hub.ts StreamHub), in SRS's /api/v1/streams and /clients shapes. */
export interface MediaView {
  streams(): StreamSnapshot[];
  clients(): ClientSnapshot[];
}

/**
 * The fields the controller adds for the console. Where one is absent the console degrades: no
 * grace() -> the phase is told from isReady() and registry.isDraining alone (no countdowns);
 * no logTail() -> "log tail not available"; no configGeneration() -> "generation not available";
 * no listenersBound() -> listeners by role from the registry's counters (no addresses);
 * no mediaView() -> "streams not available"; no http_server in listenersBound() -> no player
 * (HTTP-FLV is served on the file server's port); no crossdomain() -> on.
 */
export interface ConsoleContext extends ApiContext {
  grace?: () => GraceView;
  /** the last `limit` log lines, oldest first */
  logTail?: (limit: number) => LogTailLine[];
  /** 1 for the config read at start, +1 for each reload that succeeded */
  configGeneration?: () => number;
  listenersBound?: () => ListenerView[];
  mediaView?: () => MediaView | null;
  /** http_api.crossdomain (SRS's default: on): CORS headers on the API's answers */
  crossdomain?: () => boolean;
  /** where the console's built files are (index.html, console.js); found next to dist/ by default */
  consoleDir?: string;
  /** the console's event stream's period (ms); 1000 by default */
  consolePeriodMs?: number;
}

/** SRS's level words, by pino level number (as log.ts prints them). */
const LEVEL_WORD: Record<number, LogTailLine['level']> = { 10: 'Verbose', 20: 'Verbose', 30: 'Trace', 40: 'Warn', 50: 'Error', 60: 'Fatal' };

/**
 * The last lines the log wrote, kept in memory for the console: SrsLog tees each pino JSON line
 * into {@link LogTail.write}. Writing keeps the raw text (no parse on the log's path); lines()
 * parses the few asked for. Bounded: `capacity` lines, the oldest dropped first; a message is cut
 * at 2,000 characters.
 */
export class LogTail {
  private readonly ring: { seq: number; at: number; text: string }[] = [];
  private readonly capacity: number;
  private readonly now: () => number;
  private seq = 0;

  constructor(capacity = 200, now: () => number = Date.now) {
    this.capacity = capacity;
    this.now = now;
  }

  /** One pino JSON line (a line that is not JSON is kept as a Trace line with its text). */
  write(line: string): void {
    this.ring.push({ seq: ++this.seq, at: this.now(), text: line });
    if (this.ring.length > this.capacity) this.ring.shift();
  }

  /** The last `limit` lines, oldest first. */
  lines(limit: number): LogTailLine[] {
    return this.ring.slice(Math.max(0, this.ring.length - limit)).map(parseLine);
  }
}

function parseLine(r: { seq: number; at: number; text: string }): LogTailLine {
  try {
    const o = JSON.parse(r.text) as { time?: unknown; level?: unknown; cid?: unknown; msg?: unknown };
    return {
      seq: r.seq,
      time: typeof o.time === 'number' ? o.time : r.at,
      level: LEVEL_WORD[Number(o.level)] ?? 'Trace',
      cid: typeof o.cid === 'string' ? o.cid : '',
      msg: String(o.msg ?? '').slice(0, 2000),
    };
  } catch {
    return { seq: r.seq, time: r.at, level: 'Trace', cid: '', msg: r.text.trimEnd().slice(0, 2000) };
  }
}
