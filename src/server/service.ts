// One shape for every service the server runs (RTMP, the HTTP API, the HTTP file server, and
// later HTTP-FLV and the edge): the lifecycle walks them as a list to apply a config, drain,
// close and report, and knows none of them by name. Each accepted socket goes to the handler
// registered for its listener's role, so a new protocol plugs in by registering, not by editing
// the listener set.
import type { Socket } from 'node:net';
import type pino from 'pino';
import type { ListenAddress, SrsConfig } from '../config/schema';
import { SrsError } from '../errors';
import type { Connection, ConnectionKind, ConnectionRegistry } from './registry';

/** One endpoint a service listens on, and the role its connections are handed to. */
export interface ListenerSpec {
  /** identity: a listener whose key is unchanged across a reload is kept as it is */
  key: string;
  /** `rtmp`, `http_api`, `http_server`, or roles sharing one port joined by `+` */
  role: string;
  address: ListenAddress;
  /** HTTP: the API is served on this listener */
  api: boolean;
  /** HTTP: the file server's root served on this listener, or null */
  files: string | null;
  /**
   * Specs of one family on one endpoint are served by one listener (SRS's http_api and
   * http_server on one port); specs of different families on one endpoint are a conflict.
   */
  shares?: string;
}

/** What a handler is given with each accepted, admitted socket. */
export interface AcceptContext {
  spec: ListenerSpec;
  /** what the handler's build() made for this listener (the HTTP application), or null */
  app: unknown;
  log: pino.Logger;
  drains: ConnectionDrains;
}

/**
 * How a role's connections are served. Sockets are accepted paused (no byte read before the
 * handler is there): `accept` resumes the socket when it is ready to read.
 */
export interface RoleHandler {
  readonly kind: ConnectionKind;
  /**
   * Per-listener state built after every bind of an apply succeeded (an HTTP application): a
   * failure here fails the whole apply. Sockets accepted before it is installed wait, paused.
   */
  build?(spec: ListenerSpec): Promise<unknown>;
  accept(socket: Socket, connection: Connection, ctx: AcceptContext): void;
}

/** Role -> handler. Registering a role twice replaces its handler (the media session replaces the held one). */
export class RoleHandlers {
  private readonly byRole = new Map<string, RoleHandler>();

  register(role: string, handler: RoleHandler): this {
    this.byRole.set(role, handler);
    return this;
  }

  /**
   * The handler of a role; a shared role (`http_api+http_server`) needs one handler for all its
   * parts. Throws SRS_ERR_BIND when none is registered: a config asks for a listener nobody serves.
   */
  get(role: string): RoleHandler {
    const exact = this.byRole.get(role);
    if (exact) return exact;
    const parts = role.split('+').map((r) => this.byRole.get(r));
    const first = parts[0];
    if (first && parts.every((h) => h === first)) return first;
    throw new SrsError('SRS_ERR_BIND', `no handler registered for listener role ${role}`);
  }
}

export type DrainHook = (reason: string) => void;

/**
 * How each connection is asked to leave: its handler supplies a hook (HTTP: `Connection: close`,
 * then close when idle; a media session: end the stream). Kept beside the registry rather than in
 * the Connection record, so that a protocol adds its hook without the registry knowing it.
 */
export class ConnectionDrains {
  private readonly hooks = new WeakMap<Connection, DrainHook>();

  set(connection: Connection, hook: DrainHook): void {
    this.hooks.set(connection, hook);
  }

  /**
   * Ask one connection to leave. A connection whose handler gave no hook (the RTMP session held
   * after its handshake) has nothing to finish: its socket is ended.
   */
  drain(connection: Connection, reason: string): void {
    const hook = this.hooks.get(connection);
    if (hook) hook(reason);
    else connection.socket.end();
  }

  /** Ask only the connections that know how to leave gracefully; returns how many were asked. */
  drainGraceful(connections: Iterable<Connection>, reason: string): number {
    let n = 0;
    for (const c of connections) {
      const hook = this.hooks.get(c);
      if (!hook) continue;
      hook(reason);
      n++;
    }
    return n;
  }
}

/** A change prepared by `Service.apply`: nothing is visible until commit; abort gives back what it took. */
export interface PreparedChange {
  commit(): void;
  abort(): void;
}

export const NO_CHANGE: PreparedChange = { commit: () => {}, abort: () => {} };

export interface ServiceSnapshot {
  name: string;
  /** `role endpoint` of each listener the service has */
  listeners: string[];
  connections: number;
  [detail: string]: unknown;
}

/**
 * A service the lifecycle walks as a list. `listeners` says which endpoints it wants for a config
 * (the listener set binds them, all services together, all or nothing); `apply` prepares the rest
 * of a config's effect; `drain` asks its connections to leave when done (graceful quit, upgrade);
 * `close` stops it for good; `snapshot` is what the API and metrics show.
 */
export interface Service {
  readonly name: string;
  listeners(cfg: SrsConfig): ListenerSpec[];
  /** role -> handler, registered once when the service is added */
  handlers(): Record<string, RoleHandler>;
  apply(cfg: SrsConfig): Promise<PreparedChange>;
  drain(reason: string): void;
  /**
   * The drain's bound is reached (grace_max_wait, a second quit signal): end what is left
   * cleanly, now, before every socket is destroyed (a player told its stream ended, an HTTP-FLV
   * response given its final chunk). Optional: most services have nothing to end cleanly.
   */
  cut?(reason: string): void;
  close(): void;
  snapshot(): ServiceSnapshot;
}

/** The services in registration order; order matters only for listener order in logs. */
export class ServiceSet {
  private readonly services: Service[] = [];
  readonly handlers = new RoleHandlers();
  readonly drains = new ConnectionDrains();

  register(service: Service): this {
    if (this.services.some((s) => s.name === service.name)) throw new Error(`service ${service.name} registered twice`);
    this.services.push(service);
    for (const [role, handler] of Object.entries(service.handlers())) this.handlers.register(role, handler);
    return this;
  }

  list(): readonly Service[] {
    return this.services;
  }

  /** Every endpoint the services want for a config, shared ones merged (see mergeSpecs). */
  specs(cfg: SrsConfig): ListenerSpec[] {
    return mergeSpecs(this.services.flatMap((s) => s.listeners(cfg)));
  }

  /**
   * Prepare every service's change, all or nothing: a service that throws aborts what the others
   * prepared, and the error goes to the caller. The returned change commits them all.
   */
  async apply(cfg: SrsConfig): Promise<PreparedChange> {
    const prepared: PreparedChange[] = [];
    try {
      for (const s of this.services) prepared.push(await s.apply(cfg));
    } catch (e) {
      for (const p of prepared.reverse()) p.abort();
      throw e;
    }
    return { commit: () => prepared.forEach((p) => p.commit()), abort: () => prepared.reverse().forEach((p) => p.abort()) };
  }

  drain(reason: string): void {
    for (const s of this.services) s.drain(reason);
  }

  cut(reason: string): void {
    for (const s of this.services) s.cut?.(reason);
  }

  close(): void {
    for (const s of this.services) s.close();
  }

  snapshot(): ServiceSnapshot[] {
    return this.services.map((s) => s.snapshot());
  }
}

export function hostOf(a: ListenAddress): string {
  // SRS binds IPv4 any for a bare port; `[::]:1935` asks for IPv6.
  return a.host ?? '0.0.0.0';
}

export function endpoint(a: ListenAddress): string {
  const h = hostOf(a);
  return h.includes(':') ? `[${h}]:${a.port}` : `${h}:${a.port}`;
}

/**
 * One spec per endpoint: specs of one `shares` family on one endpoint become one listener whose
 * role joins theirs with `+` (`http_api+http_server`, SRS's http.api.one.port.conf); anything else
 * on one endpoint is refused as SRS refuses it (two servers cannot listen on one port).
 * Throws SRS_ERR_BIND.
 */
export function mergeSpecs(specs: ListenerSpec[]): ListenerSpec[] {
  const out: ListenerSpec[] = [];
  const at = new Map<string, number>();
  for (const spec of specs) {
    const ep = endpoint(spec.address);
    const i = at.get(ep);
    if (i === undefined) {
      at.set(ep, out.length);
      out.push(spec);
      continue;
    }
    const prev = out[i]!;
    if (prev.key === spec.key) continue;
    if (!prev.shares || prev.shares !== spec.shares) {
      throw new SrsError('SRS_ERR_BIND', `${spec.role} listen ${ep}: ${prev.role} listens there too (srs never shares a port between protocols)`);
    }
    const role = `${prev.role}+${spec.role}`;
    const files = prev.files ?? spec.files;
    out[i] = { key: `${role}@${ep}${files !== null ? `:${files}` : ''}`, role, address: prev.address, api: prev.api || spec.api, files, shares: prev.shares };
  }
  return out;
}

/** Options of a service made of listeners whose connections the registry counts. */
export interface ListenerServiceOptions {
  name: string;
  /** the roles whose connections are this service's (a shared role counts for each of its parts) */
  roles: string[];
  listeners(cfg: SrsConfig): ListenerSpec[];
  handlers: Record<string, RoleHandler>;
  registry: ConnectionRegistry;
  drains: ConnectionDrains;
  /** what a drain does beyond asking the connections that have a hook (HTTP: close idle keep-alive) */
  onDrain?(reason: string, connections: () => Connection[]): void;
  onCut?(reason: string): void;
  onClose?(): void;
  /** more of the snapshot (the media service's streams and players) */
  details?(): Record<string, unknown>;
  /** the listeners this service has now, as `role endpoint` */
  active(): string[];
}

/** The common service: its listeners, its connections in the registry, its drain. */
export class ListenerService implements Service {
  readonly name: string;
  private readonly o: ListenerServiceOptions;

  constructor(o: ListenerServiceOptions) {
    this.name = o.name;
    this.o = o;
  }

  listeners(cfg: SrsConfig): ListenerSpec[] {
    return this.o.listeners(cfg);
  }

  handlers(): Record<string, RoleHandler> {
    return this.o.handlers;
  }

  async apply(): Promise<PreparedChange> {
    // its listeners are applied by the listener set, with every other service's
    return NO_CHANGE;
  }

  /** Its open connections: those accepted on a listener whose role (or a part of it) is its own. */
  connections(): Connection[] {
    return this.o.registry.list().filter((c) => c.listener.split('+').some((r) => this.o.roles.includes(r)));
  }

  drain(reason: string): void {
    this.o.drains.drainGraceful(this.connections(), reason);
    this.o.onDrain?.(reason, () => this.connections());
  }

  cut(reason: string): void {
    this.o.onCut?.(reason);
  }

  close(): void {
    this.o.onClose?.();
  }

  snapshot(): ServiceSnapshot {
    return { name: this.name, listeners: this.o.active(), connections: this.connections().length, ...this.o.details?.() };
  }
}
