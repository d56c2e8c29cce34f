// One player's consumer (SRS's SrsLiveConsumer + SrsMessageQueue): a bounded queue of shared
// messages, written to the player's transport in merged batches, with back-pressure from the
// transport. Bounds: queue_length (ms of media) and queueMaxBytes (payload bytes). When a bound is
// passed the queue drops to the next keyframe, keeping sequence headers and metadata; a player that
// stays behind is closed ('fell behind'), so one stuck viewer costs at most its queue bound plus
// one batch in its socket.

import type { Consumer, MediaSettings, PlayerSink } from './hub';
import { Kbps30 } from './kbps';
import type { SharedMessage } from './shared-message';

/** What a consumer needs of the hub and source that own it. */
export interface ConsumerHost {
  now(): number;
  /** run consumer.flush() once the current callback returns (one task for every player) */
  schedule(c: PlayerConsumer): void;
  /** the consumer holds messages for a merged write: ask it again (due()) until it is due */
  hold(c: PlayerConsumer): void;
  /** bytes written to this player's transport */
  sent(c: PlayerConsumer, bytes: number): void;
  /** messages dropped from this player's queue */
  dropped(c: PlayerConsumer, messages: number): void;
  /** the consumer closed itself because it fell behind (after sink.close) */
  fellBehind(c: PlayerConsumer): void;
  /** the consumer is closed: forget it */
  detach(c: PlayerConsumer): void;
  /** whether the stream has video (a queue that dropped everything then waits for a keyframe) */
  hasVideo(): boolean;
}

/** Bound passes within the window after which a player is closed as fallen behind. */
const OVERFLOWS_TO_CLOSE = 3;

/** SRS_PERF_MW_MSGS: the most messages in one write */
export const MW_MSGS_PER_WRITE = 128;

export class PlayerConsumer implements Consumer {
  readonly sink: PlayerSink;
  /** ms (host clock) when the player attached */
  readonly since: number;
  /** bytes written to the transport, in total and over 30 s */
  readonly send: Kbps30;
  /** messages dropped from this queue */
  droppedMessages = 0;
  closed = false;
  /** scheduled for a flush on the next tick (owned by the host's scheduler) */
  scheduled = false;

  private q: SharedMessage[] = [];
  private head = 0;
  private bytes = 0;
  private blocked = false;
  private blockedSince = 0;
  private paused = false;
  private waitKeyframe = false;
  /** host ms when the oldest message now held arrived */
  private heldSince = 0;
  /** the start-up batch (metadata, sequence headers, GOP) is written at once, not merged */
  private started = false;
  /** in the hub's held set (owned by the hub's sweep, which clears it) */
  held = false;
  private overflows: number[] = [];

  constructor(sink: PlayerSink, private readonly settings: MediaSettings, private readonly host: ConsumerHost) {
    this.sink = sink;
    this.since = host.now();
    this.send = new Kbps30(host.now);
  }

  /** bytes written to the transport */
  get sendBytes(): number {
    return this.send.total;
  }

  /** messages waiting in the queue */
  get queued(): number {
    return this.q.length - this.head;
  }

  /** payload bytes waiting in the queue */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queue one message (the source calls this for each live message and for the start-up dump). */
  enqueue(m: SharedMessage): void {
    if (this.closed) return;
    if (this.waitKeyframe) {
      if (m.isVideo && m.keyframe) this.waitKeyframe = false;
      else if (!m.header) {
        this.droppedMessages++;
        this.host.dropped(this, 1);
        return;
      }
    }
    if (this.head === this.q.length) this.heldSince = this.host.now();
    this.q.push(m);
    this.bytes += m.size;
    if (this.overBound()) this.shrink();
    if (this.closed) return;
    if (this.blocked && !this.paused && this.host.now() - this.blockedSince > this.settings.queueLengthMs) {
      this.fallBehind();
      return;
    }
    if (this.blocked || this.paused || this.scheduled) return;
    // the clock is the sweep's business (hub.ts): here, once per message per player, only the span
    if (this.due(false)) this.host.schedule(this);
    else if (!this.held) {
      this.held = true;
      this.host.hold(this);
    }
  }

  /** A new publish: its start-up batch (metadata, sequence headers, first keyframe) goes at once. */
  startOver(): void {
    this.started = false;
  }

  /**
   * Whether the held messages should be written now: SRS's merged write (SrsLiveConsumer::wait),
   * which waits until the queue holds more than mw_msgs messages spanning more than mw_latency ms
   * of stream time, so a player costs one write per mw_latency instead of one per message. Bounded
   * here by the wall clock too (mw_latency after the oldest held message arrived), so a stream
   * that stalls does not strand what was sent. mw_latency 0 writes every message at once.
   */
  due(byClock = true): boolean {
    if (this.head === this.q.length) return false;
    const latency = this.settings.mwLatencyMs;
    if (latency <= 0 || !this.started) return true;
    if (this.q.length - this.head > this.settings.mwMsgs && this.q[this.q.length - 1].streamTime - this.q[this.head].streamTime > latency) return true;
    return byClock && this.host.now() - this.heldSince >= latency;
  }

  /**
   * Write what is queued now, whether due or not (a due merge, a drain, the end of a publish), in
   * writes of at most {@link MW_MSGS_PER_WRITE} messages, until the transport pushes back.
   */
  flush(): void {
    this.scheduled = false;
    if (this.head < this.q.length) this.started = true;
    while (!this.closed && !this.blocked && !this.paused && this.head < this.q.length) {
      const end = Math.min(this.q.length, this.head + MW_MSGS_PER_WRITE);
      const bufs: Buffer[] = [];
      const rtmp = this.sink.kind === 'rtmp';
      for (let i = this.head; i < end; i++) {
        const m = this.q[i];
        const frames = rtmp ? m.rtmp(this.sink.chunkSize, this.sink.streamId) : m.flv();
        for (let j = 0; j < frames.length; j++) bufs.push(frames[j]);
        this.bytes -= m.size;
      }
      this.head = end;
      this.compact();
      let n = 0;
      for (let i = 0; i < bufs.length; i++) n += bufs[i].length;
      this.send.add(n);
      this.host.sent(this, n);
      let ok: boolean;
      try {
        ok = this.sink.writev(bufs);
      } catch {
        // one broken transport ends only its own player, never the publisher's feed
        this.close();
        this.sink.close('write failed');
        return;
      }
      if (!ok) {
        this.blocked = true;
        this.blockedSince = this.host.now();
      }
    }
  }

  drained(): void {
    if (this.closed || !this.blocked) return;
    this.blocked = false;
    this.flush();
  }

  pause(paused: boolean): void {
    if (this.closed || paused === this.paused) return;
    this.paused = paused;
    if (paused) return;
    // resume at the latest keyframe already queued, or wait for the next one
    let k = -1;
    for (let i = this.q.length - 1; i >= this.head; i--) {
      if (this.q[i].keyframe) {
        k = i;
        break;
      }
    }
    this.dropBefore(k < 0 ? this.q.length : k);
    if (k < 0 && this.host.hasVideo()) this.waitKeyframe = true;
    if (!this.blocked && !this.scheduled && this.queued > 0) this.host.schedule(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.q = [];
    this.head = 0;
    this.bytes = 0;
    this.host.detach(this);
  }

  /** The hub ends this player (kick, drain): write what the transport takes now, then close it. */
  end(reason: string, unpublished: boolean): void {
    if (this.closed) return;
    this.flush();
    if (unpublished) this.sink.unpublished();
    this.close();
    this.sink.close(reason);
  }

  /**
   * Over the byte bound, or holding more than queue_length of media. The duration is measured from
   * the first message that is not a sequence header or metadata: those are kept through a shrink
   * and carry the time they were published (a stream an hour old sends a new player headers from
   * its first second), so measuring from them would call every queue too long, forever.
   */
  private overBound(): boolean {
    if (this.bytes > this.settings.queueMaxBytes) return true;
    const n = this.q.length;
    let first = this.head;
    while (first < n && this.q[first].header) first++;
    return n - first >= 2 && this.q[n - 1].streamTime - this.q[first].streamTime > this.settings.queueLengthMs;
  }

  /** Drop to the next keyframe until within bounds (SRS shrinks to the sequence headers). */
  private shrink(): void {
    const now = this.host.now();
    if (!this.paused) {
      const window = 2 * this.settings.queueLengthMs;
      this.overflows = this.overflows.filter((t) => now - t <= window);
      this.overflows.push(now);
      if (this.overflows.length >= OVERFLOWS_TO_CLOSE) {
        this.fallBehind();
        return;
      }
    }
    while (this.overBound()) {
      // the next keyframe after the first message that can go (headers stay)
      let first = this.head;
      while (first < this.q.length && this.q[first].header) first++;
      let k = -1;
      for (let i = first + 1; i < this.q.length; i++) {
        if (this.q[i].keyframe) {
          k = i;
          break;
        }
      }
      if (k < 0) {
        this.dropBefore(this.q.length);
        if (this.host.hasVideo()) this.waitKeyframe = true;
        return;
      }
      // every turn drops at least the message at `first`: the loop ends
      this.dropBefore(k);
    }
  }

  /** Drop queued messages before index `end`, keeping the last sequence headers and metadata among them. */
  private dropBefore(end: number): void {
    const kept: SharedMessage[] = [];
    let dropped = 0;
    for (let i = this.head; i < end; i++) {
      const m = this.q[i];
      this.bytes -= m.size;
      if (m.header) {
        const same = kept.findIndex((x) => x.type === m.type);
        if (same >= 0) kept.splice(same, 1);
        kept.push(m);
      } else dropped++;
    }
    for (const m of kept) this.bytes += m.size;
    this.q = kept.concat(this.q.slice(end));
    this.head = 0;
    if (dropped > 0) {
      this.droppedMessages += dropped;
      this.host.dropped(this, dropped);
    }
  }

  private compact(): void {
    if (this.head === this.q.length) {
      this.q.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  private fallBehind(): void {
    if (this.closed) return;
    this.close();
    this.host.fellBehind(this);
    this.sink.close('fell behind');
  }
}
