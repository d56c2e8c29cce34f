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
}

export interface ListenerCounters {
  accepted: number;
  refused: number;
}

export type AdmitResult = { admitted: true; connection: Connection } | { admitted: false; reason: 'max_connections' | 'closing' };

export class ConnectionRegistry extends EventEmitter {
  private readonly open = new Map<string, Connection>();
  private readonly counters = new Map<string, ListenerCounters>();
  private limit: number;
  private draining = false;
  private readonly now: () => number;

  constructor(maxConnections: number, now: () => number = Date.now) {
    super();
    this.limit = maxConnections;
    this.now = now;
  }

  get size(): number {
    return this.open.size;
  }

  get maxConnections(): number {
    return this.limit;
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

  /**
   * Admit a freshly accepted socket or refuse it (the caller destroys a refused socket). The limit
   * covers all listeners together, as SRS's max_connections does.
   */
  admit(socket: Socket, listener: string, kind: ConnectionKind): AdmitResult {
    const counters = this.countersFor(listener);
    if (this.open.size >= this.limit) {
      counters.refused++;
      this.emit('refused', { listener, remote: remoteOf(socket), reason: 'max_connections' });
      return { admitted: false, reason: 'max_connections' };
    }
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
    };
    this.open.set(connection.id, connection);
    socket.once('close', () => {
      this.open.delete(connection.id);
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
