// ConfigWatcher: inotify (through the addon) on the config and its includes, so that every way a
// file's content can change while srs runs leads to a reload:
// - each file's *directory* (entries created, renamed in, deleted): an atomic rename or a
//   Kubernetes ConfigMap `..data` swap replaces the inode, and a watch on the file alone would die
//   with it (kubernetes#112677);
// - each *file* itself (IN_MODIFY, IN_CLOSE_WRITE, IN_ATTRIB on its inode, through symlinks): a
//   single file bind-mounted over the config (`mount --bind host.conf conf/srs.conf`) is written in
//   place on another path, and its directory sees nothing;
// - every ancestor directory, for its own deletion or move only (no entry events, so no noise).
// A watch that is lost (IN_IGNORED, IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT), or whose path now
// names another inode, is re-armed by path; a directory that is gone is waited for on its nearest
// existing ancestor. IN_Q_OVERFLOW means events were lost: every watch is re-armed and every file
// re-read. Events are coalesced, not dropped (mediamtx ignores a second edit within 1 s), and the
// owner is told only when the content, read through any symlink, has really changed.
import fs from 'node:fs';
import path from 'node:path';
import { native, type InotifyEvent, type InotifyHandle, type Native } from '../native';
import { filesHash } from '../config/load';
import { realClock, type Clock } from './grace';

export const WATCH_DEBOUNCE_MS = 30;
/** a writer that never stops writing still gets its changes applied this often */
export const WATCH_MAX_DELAY_MS = 500;

/** What the watcher tells its owner's log: a lost watch, its re-arming, a queue overflow. */
export type WatchNotice = (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;

type Kind = 'file' | 'dir' | 'ancestor';

interface Target {
  path: string;
  kind: Kind;
}

interface Armed {
  /** the path the watch is on: the target itself, or (a missing directory) its nearest ancestor */
  watched: string;
  wd: number;
  dev: number;
  ino: number;
}

function masks(n: Native): Record<Kind, number> {
  const self = n.IN_DELETE_SELF | n.IN_MOVE_SELF;
  return {
    file: n.IN_MODIFY | n.IN_CLOSE_WRITE | n.IN_ATTRIB | self,
    dir: n.IN_CLOSE_WRITE | n.IN_MOVED_TO | n.IN_MOVED_FROM | n.IN_CREATE | n.IN_DELETE | self,
    ancestor: self,
  };
}

function statOf(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/** The watch targets for these files: each file, each directory, each ancestor up to the root. */
export function watchTargets(files: string[]): Target[] {
  const out = new Map<string, Target>();
  for (const f of files) out.set(f, { path: f, kind: 'file' });
  for (const f of files) {
    const d = path.dirname(f);
    if (!out.has(d) || out.get(d)!.kind === 'ancestor') out.set(d, { path: d, kind: 'dir' });
    for (let a = path.dirname(d); !out.has(a); a = path.dirname(a)) {
      out.set(a, { path: a, kind: 'ancestor' });
      if (a === path.dirname(a)) break;
    }
  }
  return [...out.values()];
}

export class ConfigWatcher {
  private inotify: InotifyHandle | null = null;
  private files: string[] = [];
  private targets: Target[] = [];
  private names = new Set<string>();
  private armed = new Map<string, Armed>();
  private wds = new Map<number, Set<string>>();
  /** directories gone, with why: logged once when lost, once when back */
  private lost = new Map<string, string>();
  private overflowed = false;
  /** paths inotify refused (ENOSPC, EACCES): logged once */
  private unwatchable = new Set<string>();
  private lastHash = '';
  private timer: unknown = null;
  private firstEventAt = 0;
  private readonly onChange: (reason: string) => void;
  private readonly clock: Clock;
  private readonly notice: WatchNotice;

  /**
   * `clock` is injectable so the coalescing is tested without sleeping; `notice` receives the
   * lines for the log (a lost watch, a re-armed one, an overflow).
   */
  constructor(onChange: (reason: string) => void, clock: Clock = realClock, notice: WatchNotice = () => {}) {
    this.onChange = onChange;
    this.clock = clock;
    this.notice = notice;
  }

  get watching(): boolean {
    return this.inotify !== null;
  }

  /**
   * (Re)start watching these files (absolute paths). `baseline` is the hash of what the running
   * config was read from: a change that landed before the watch existed is caught by comparing
   * with it now. Throws a NativeError if inotify cannot be set up (inotify_init1: EMFILE).
   */
  watch(files: string[], baseline: string): void {
    this.stop();
    this.files = [...files];
    this.targets = watchTargets(this.files);
    this.lastHash = baseline;
    this.names = new Set(['..data', ...this.files.map((f) => path.basename(f))]);
    const inotify = new (native().Inotify)((events) => this.onEvents(events));
    inotify.unref();
    this.inotify = inotify;
    this.arm();
    this.schedule();
  }

  /**
   * After a reload: the set of included files may differ, and the baseline is what it read. Every
   * watch is checked again (a reload by SIGHUP also repairs a watch lost meanwhile).
   */
  update(files: string[], baseline: string): void {
    const same = files.length === this.files.length && files.every((f, i) => f === this.files[i]);
    if (!this.inotify || !same) return this.watch(files, baseline);
    this.lastHash = baseline;
    this.arm();
    // a write during the reload produced events that were already settled against the old
    // baseline: compare once more
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.inotify?.close();
    this.inotify = null;
    this.armed.clear();
    this.wds.clear();
    this.lost.clear();
    this.unwatchable.clear();
  }

  /** The inotify callback (public so a test can hand it a batch directly). */
  onEvents(events: InotifyEvent[]): void {
    const n = native();
    let relevant = false;
    for (const e of events) {
      if (e.mask & n.IN_Q_OVERFLOW) {
        relevant = this.overflowed = true;
        continue;
      }
      const served = this.wds.get(e.wd);
      if (served === undefined) continue; // a watch already released
      const why =
        e.mask & n.IN_UNMOUNT ? 'unmounted' : e.mask & n.IN_DELETE_SELF ? 'deleted' : e.mask & n.IN_MOVE_SELF ? 'moved away' : null;
      if (why !== null) for (const p of served) if (this.kindOf(p) === 'dir' && !this.lost.has(p)) this.lost.set(p, why);
      if (e.mask & n.IN_IGNORED) {
        // the kernel dropped the watch: forget it, the settle re-arms by path
        for (const p of served) this.armed.delete(p);
        this.wds.delete(e.wd);
      }
      if (e.name === '' || this.names.has(e.name) || [...served].some((p) => this.armed.get(p)?.watched !== p)) relevant = true;
    }
    if (relevant) this.schedule();
  }

  private kindOf(p: string): Kind | undefined {
    return this.targets.find((t) => t.path === p)?.kind;
  }

  /** Drop target `p`'s watch; the kernel watch goes when no other target shares it. */
  private release(p: string): void {
    const a = this.armed.get(p);
    if (a === undefined) return;
    this.armed.delete(p);
    const served = this.wds.get(a.wd);
    if (served === undefined) return;
    served.delete(p);
    try {
      if (served.size === 0) {
        this.wds.delete(a.wd);
        this.inotify?.rmWatch(a.wd);
      } else {
        // shared (a parent that was also a missing directory's stand-in): narrow the mask back to
        // what the others need, so a busy parent's entries stop waking us
        const mask = masks(native());
        const others = [...served].map((o) => mask[this.armed.get(o)?.watched === o ? (this.kindOf(o) ?? 'dir') : 'dir']);
        if (statOf(a.watched)?.ino === a.ino) this.inotify?.addWatch(a.watched, others.reduce((x, y) => x | y, 0));
      }
    } catch {
      // EINVAL/ENOENT: the kernel dropped it already (its IN_IGNORED is on the way)
    }
  }

  /**
   * Make every target's watch match what its path names now. Repeated until nothing changes, so
   * a directory created while its ancestor was being watched is not missed.
   */
  private arm(): void {
    const inotify = this.inotify;
    if (inotify === null) return;
    const n = native();
    const mask = masks(n);
    if (this.overflowed) {
      this.overflowed = false;
      this.notice('warn', { files: this.files }, 'config watch: the inotify queue overflowed, events were lost: re-armed every watch and re-read every file');
      for (const p of [...this.armed.keys()]) this.release(p);
    }
    for (let round = 0; round < 5; round++) {
      let changed = false;
      for (const t of this.targets) {
        let watched = t.path;
        let st = statOf(watched);
        if (t.kind === 'dir') {
          while ((st === null || !st.isDirectory()) && watched !== path.dirname(watched)) {
            watched = path.dirname(watched);
            st = statOf(watched);
          }
        }
        const cur = this.armed.get(t.path);
        if (st === null) {
          // a missing file: its directory's watch sees it come back
          if (cur !== undefined) this.release(t.path);
          continue;
        }
        if (cur !== undefined && cur.watched === watched && cur.dev === st.dev && cur.ino === st.ino) {
          // moved away and back before we looked: the watch followed the inode, nothing was lost
          if (watched === t.path && this.lost.get(t.path)) this.lost.delete(t.path);
          continue;
        }
        this.release(t.path);
        let wd: number;
        try {
          wd = inotify.addWatch(watched, mask[watched === t.path ? t.kind : 'dir'] | n.IN_MASK_ADD);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') {
            changed = true; // gone between stat and watch: look again
          } else if (!this.unwatchable.has(watched)) {
            // ENOSPC (fs.inotify.max_user_watches), EACCES: say so once, keep the other watches
            this.unwatchable.add(watched);
            this.notice('warn', { path: watched, error: code }, `config watch: cannot watch ${watched} (${code ?? String(e)}): its changes need a SIGHUP`);
          }
          continue;
        }
        this.unwatchable.delete(watched);
        changed = true;
        this.armed.set(t.path, { watched, wd, dev: st.dev, ino: st.ino });
        if (!this.wds.has(wd)) this.wds.set(wd, new Set());
        this.wds.get(wd)!.add(t.path);
        if (t.kind !== 'dir') continue;
        const why = this.lost.get(t.path);
        if (watched !== t.path && why !== '') {
          this.notice('warn', { dir: t.path, watching: watched }, `config watch lost: ${t.path} ${why ?? 'is gone'}; watching ${watched} until it exists again`);
          this.lost.set(t.path, '');
        } else if (watched === t.path && why !== undefined) {
          this.lost.delete(t.path);
          this.notice('info', { dir: t.path }, `config watch re-armed on ${t.path}${why ? ` (it was ${why})` : ''}`);
        }
      }
      if (!changed) return;
    }
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
    // re-arm first, then read: a write between the two is seen by the new watch
    this.arm();
    const hash = filesHash(this.files);
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    this.onChange('inotify');
  }
}
