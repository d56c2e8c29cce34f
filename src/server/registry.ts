// Every open connection on every listener, media and HTTP alike: what max_connections counts, what
// /api/v1/clients lists and what a graceful quit drains.
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { newContextId } from './log';

export type ConnectionKind = 'media' | 'http';

export interface Connection {
  readonly id: string;
  readonly listener: string;
  readonly kind: ConnectionKind;
  readonly remote: string;
  readonly since: number;
  readonly socket: Socket;
  /** HTTP requests started on this socket and not yet answered; an HTTP socket at 0 is idle. */
  inFlight: number;
  /** when the socket last became idle (accepted, or its last response finished) */
  idleSince: number;
  /** the server cut it (fast quit, grace deadline): one summary line says so, not one each */
  cut: boolean;
  /** the slots it is counted in */
  slot: 'main' | 'api';
}

export interface ListenerCounters {
  accepted: number;
  refused: number;
}

export type AdmitResult =
  | { admitted: true; connection: Connection }
  | { admitted: false; reason: 'max_connections' | 'api_connections' | 'closing' };

/**
 * Which slots a connection takes. `main`: max_connections (media, the file server). `api`: the
 * API's own few slots, apart from max_connections, as nginx keeps its status port answering when
 * its workers are full: a probe must tell "full" from "dead". `shared` (the API and the file server
 * on one port): a main slot while there is one, else an API slot, so probes still get in.
 */
export type SlotPool = 'main' | 'api' | 'shared';

/** Connections the API may hold at once besides max_connections: probes, scrapers, an operator. */
export const API_MAX_CONNECTIONS = 32;

/** The pool a listener role's connections go to (roles as listeners.ts names them). */
export function poolOf(listener: string): SlotPool {
  // the exporter (SRS's metrics port) is scraped like a probe: it keeps its slots too; a port that
  // also serves files shares them (roles on one port are joined by '+', listeners.ts)
  const roles = listener.split('+');
  const probes = roles.includes('http_api') || roles.includes('exporter');
  if (!probes) return 'main';
  return roles.includes('http_server') ? 'shared' : 'api';
}

export class ConnectionRegistry extends EventEmitter {
  private readonly open = new Map<string, Connection>();
  private readonly counters = new Map<string, ListenerCounters>();
  private limit: number;
  private readonly apiLimit: number;
  /** open connections per slot pool: max_connections counts `main` only */
  private readonly inSlot = { main: 0, api: 0 };
  private draining = false;
  private readonly now: () => number;

  constructor(maxConnections: number, now: () => number = Date.now, apiMaxConnections = API_MAX_CONNECTIONS) {
    super();
    this.limit = maxConnections;
    this.apiLimit = apiMaxConnections;
    this.now = now;
  }

  get size(): number {
    return this.open.size;
  }

  get maxConnections(): number {
    return this.limit;
  }

  /** the API's own slots, counted apart from max_connections */
  get maxApiConnections(): number {
    return this.apiLimit;
  }

  /** open connections in each slot pool */
  slots(): { main: number; api: number } {
    return { ...this.inSlot };
  }

  setMaxConnections(n: number): void {
    this.limit = n;
  }

  /** After this, HTTP responses carry `Connection: close` and idle keep-alive sockets are closed. */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  private countersFor(listener: string): ListenerCounters {
    let c = this.counters.get(listener);
    if (!c) {
      c = { accepted: 0, refused: 0 };
      this.counters.set(listener, c);
    }
    return c;
  }

  /** The slot a new connection of this pool would take, or why there is none. */
  private slotFor(pool: SlotPool): 'main' | 'api' | 'max_connections' | 'api_connections' {
    const mainFree = this.inSlot.main < this.limit;
    const apiFree = this.inSlot.api < this.apiLimit;
    if (pool === 'main') return mainFree ? 'main' : 'max_connections';
    if (pool === 'api') return apiFree ? 'api' : 'api_connections';
    return mainFree ? 'main' : apiFree ? 'api' : 'max_connections';
  }

  /**
   * Admit a freshly accepted socket or refuse it (the caller destroys a refused socket).
   * max_connections covers the media and file-server listeners together, as SRS's does; the API's
   * connections take their own slots (see {@link SlotPool}), chosen from the listener's role
   * unless `pool` says otherwise.
   */
  admit(socket: Socket, listener: string, kind: ConnectionKind, pool: SlotPool = poolOf(listener)): AdmitResult {
    const counters = this.countersFor(listener);
    const slot = this.slotFor(pool);
    if (slot !== 'main' && slot !== 'api') {
      counters.refused++;
      this.emit('refused', { listener, remote: remoteOf(socket), reason: slot });
      return { admitted: false, reason: slot };
    }
    this.inSlot[slot]++;
    counters.accepted++;
    const connection: Connection = {
      id: newContextId(),
      listener,
      kind,
      remote: remoteOf(socket),
      since: this.now(),
      socket,
      inFlight: 0,
      idleSince: this.now(),
      cut: false,
      slot,
    };
    this.open.set(connection.id, connection);
    socket.once('close', () => {
      this.open.delete(connection.id);
      this.inSlot[slot]--;
      this.emit('closed', connection);
    });
    return { admitted: true, connection };
  }

  list(): Connection[] {
    return [...this.open.values()];
  }

  countByListener(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.counters.keys()) out[c] = 0;
    for (const c of this.open.values()) out[c.listener] = (out[c.listener] ?? 0) + 1;
    return out;
  }

  totals(): Record<string, ListenerCounters> {
    return Object.fromEntries([...this.counters.entries()].map(([k, v]) => [k, { ...v }]));
  }

  /**
   * Close HTTP sockets with no request in flight for at least `minIdleMs` (keep-alive idlers);
   * media sessions stay. A socket that just answered is left a moment: its client may already
   * have sent the next request, which then gets `Connection: close` instead of a reset.
   */
  closeIdleHttp(minIdleMs = 0): number {
    const now = this.now();
    let n = 0;
    for (const c of this.open.values()) {
      if (c.kind === 'http' && c.inFlight === 0 && now - c.idleSince >= minIdleMs) {
        c.socket.destroy();
        n++;
      }
    }
    return n;
  }

  /** Fast quit, or the grace deadline: every connection goes now; returns how many. */
  destroyAll(): number {
    let n = 0;
    for (const c of this.open.values()) {
      c.cut = true;
      c.socket.destroy();
      n++;
    }
    return n;
  }
}

function remoteOf(socket: Socket): string {
  const addr = socket.remoteAddress ?? '?';
  return addr.includes(':') ? `[${addr}]:${socket.remotePort ?? 0}` : `${addr}:${socket.remotePort ?? 0}`;
}
