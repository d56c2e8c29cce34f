// What a graceful quit's drain says about streams: one line per stream when the listeners close
// and whenever its counts change (`drain: __defaultVhost__/live/test, 1 publisher, 20 players`),
// never on every sweep. SRS logs its drain per connection
// (srs_app_server.cpp, SrsServer::do_graceful_quit / "wait for %d conns to quit"); srs, whose
// drain lets live streams go on, says which streams it is waiting for.
import type { StreamSnapshot, VhostSnapshot } from './hub';

/** One stream during a drain: its path (`vhost/app/stream`) and who is still on it. */
export interface DrainCount {
  path: string;
  publishers: number;
  players: number;
}

/**
 * The counts of every stream, from the hub's snapshots.
 * @param streams StreamHub.streams(): `clients` counts the publisher too
 * @param vhosts StreamHub.vhosts(): resolves a stream's vhost id to its name
 */
export function drainCounts(streams: StreamSnapshot[], vhosts: VhostSnapshot[]): DrainCount[] {
  const names = new Map(vhosts.map((v) => [v.id, v.name]));
  return streams.map((s) => {
    const publishers = s.publish.active ? 1 : 0;
    return { path: `${names.get(s.vhost) ?? s.vhost}/${s.app}/${s.name}`, publishers, players: Math.max(0, s.clients - publishers) };
  });
}

/** `drain: __defaultVhost__/live/test, 1 publisher, 20 players` */
export function drainLine(c: DrainCount): string {
  const n = (k: number, one: string): string => `${k} ${one}${k === 1 ? '' : 's'}`;
  return `drain: ${c.path}, ${n(c.publishers, 'publisher')}, ${n(c.players, 'player')}`;
}

/**
 * The lines to log now: streams whose counts differ from what was last said, and streams that
 * are gone (said once as 0 and 0). Pure: `said` is the caller's memory, updated in place.
 * @param said path -> the line last logged for it
 */
export function drainChanges(now: DrainCount[], said: Map<string, string>): string[] {
  const out: string[] = [];
  const present = new Set<string>();
  for (const c of now) {
    present.add(c.path);
    const line = drainLine(c);
    if (said.get(c.path) === line) continue;
    said.set(c.path, line);
    out.push(line);
  }
  for (const path of [...said.keys()]) {
    if (present.has(path)) continue;
    said.delete(path);
    out.push(drainLine({ path, publishers: 0, players: 0 }));
  }
  return out;
}

/**
 * The drain's stream log, for MediaService. `report` is called when the listeners close, on every
 * sweep and at the bound; it logs only what changed.
 */
export class StreamDrainLog {
  private readonly said = new Map<string, string>();

  constructor(
    private readonly counts: () => DrainCount[],
    private readonly log: (msg: string) => void,
  ) {}

  report(): void {
    for (const line of drainChanges(this.counts(), this.said)) this.log(line);
  }
}
