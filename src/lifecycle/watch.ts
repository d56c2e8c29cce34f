// ConfigWatcher: inotify (through the addon) on the *directories* holding the config and its
// includes, never on the files: a watch on a file dies with an atomic rename (kubernetes#112677),
// and a Kubernetes ConfigMap update only renames the `..data` symlink. Events are coalesced, not
// dropped (mediamtx ignores a second edit within 1 s), and the owner is told only when the
// content, read through any symlink, has really changed.
import path from 'node:path';
import { native, type InotifyEvent, type InotifyHandle } from '../native';
import { filesHash } from '../config/load';
import { realClock, type Clock } from './grace';

export const WATCH_DEBOUNCE_MS = 30;
/** a writer that never stops writing still gets its changes applied this often */
export const WATCH_MAX_DELAY_MS = 500;

export class ConfigWatcher {
  private inotify: InotifyHandle | null = null;
  private files: string[] = [];
  private names = new Set<string>();
  private lastHash = '';
  private timer: unknown = null;
  private firstEventAt = 0;
  private readonly onChange: (reason: string) => void;
  private readonly clock: Clock;

  /** `clock` is injectable so the coalescing is tested without sleeping */
  constructor(onChange: (reason: string) => void, clock: Clock = realClock) {
    this.onChange = onChange;
    this.clock = clock;
  }

  get watching(): boolean {
    return this.inotify !== null;
  }

  /**
   * (Re)start watching these files. `baseline` is the hash of what the running config was read
   * from: a change that landed before the watch existed is caught by comparing with it now.
   */
  watch(files: string[], baseline: string): void {
    this.stop();
    this.files = [...files];
    this.lastHash = baseline;
    this.names = new Set(['..data']);
    const dirs = new Set<string>();
    for (const f of this.files) {
      this.names.add(path.basename(f));
      dirs.add(path.dirname(f));
    }
    const n = native();
    const inotify = new n.Inotify((events) => this.onEvents(events));
    const mask = n.IN_CLOSE_WRITE | n.IN_MOVED_TO | n.IN_CREATE | n.IN_DELETE | n.IN_ONLYDIR;
    for (const d of dirs) inotify.addWatch(d, mask);
    inotify.unref();
    this.inotify = inotify;
    this.schedule();
  }

  /** After a reload: the set of included files may differ, and the baseline is what it read. */
  update(files: string[], baseline: string): void {
    const same = files.length === this.files.length && files.every((f, i) => f === this.files[i]);
    if (!this.inotify || !same) return this.watch(files, baseline);
    this.lastHash = baseline;
    // a write during the reload produced events that were already settled against the old
    // baseline: compare once more
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.inotify?.close();
    this.inotify = null;
  }

  /** The inotify callback (public so a test can hand it a batch directly). */
  onEvents(events: InotifyEvent[]): void {
    if (!events.some((e) => this.names.has(e.name))) return;
    this.schedule();
  }

  /** Coalesce: settle WATCH_DEBOUNCE_MS after the last event, or WATCH_MAX_DELAY_MS after the first. */
  private schedule(): void {
    const now = this.clock.now();
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
    } else {
      this.firstEventAt = now;
    }
    const wait = Math.max(0, Math.min(WATCH_DEBOUNCE_MS, this.firstEventAt + WATCH_MAX_DELAY_MS - now));
    this.timer = this.clock.setTimeout(() => this.settle(), wait);
  }

  private settle(): void {
    this.timer = null;
    const hash = filesHash(this.files);
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    this.onChange('inotify');
  }
}
