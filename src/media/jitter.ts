// Timestamp correction, SRS's `play { time_jitter full|zero|off; }` (srs_app_source.cpp,
// SrsRtmpJitter::correct). SRS corrects per player; srs corrects once per stream, as the messages
// enter the source, so every player still shares one framing of each message (a per-player
// timestamp would mean a chunk header per player). What players see is what matters to them: with
// `full`, timestamps never jump, across a republish (a new publisher restarting at 0), an edge
// failing over to another origin, or an upgrade handing the stream from the relay to the publisher
// that reconnected. The difference from SRS: a late player does not start at 0.

/** SRS's CONST_MAX_JITTER_MS / CONST_MAX_JITTER_MS_NEG: a step outside ±250 ms is a jump */
export const MAX_JITTER_MS = 250;
/** SRS's DEFAULT_FRAME_TIME_MS: the step a jump is replaced with */
export const JUMP_STEP_MS = 10;

export type TimeJitter = 'full' | 'zero' | 'off';

/**
 * One stream's timestamp state, kept across its publishers.
 * - `full`: audio and video keep their steps within ±250 ms; a larger step (a jump) becomes 10 ms;
 *   never below 0. Data messages (metadata) get the last corrected time: SRS gives them 0, which
 *   puts a metadata update in the middle of a stream back at its start.
 * - `zero`: each publish starts at 0 (its first timestamp is subtracted); never below 0.
 * - `off`: timestamps as the publisher sent them.
 */
export class TimestampJitter {
  private lastIn = 0;
  private lastOut = -1;
  private base: number | null = null;

  /** a new publisher: `zero` takes its first timestamp as the new base; `full` carries on */
  restart(): void {
    this.base = null;
  }

  /**
   * @param ts the publisher's timestamp (ms, 32-bit)
   * @param av whether the message is audio or video (data messages are not corrected by steps)
   * @returns the timestamp to send players (ms, 32-bit)
   */
  correct(ts: number, av: boolean, mode: TimeJitter): number {
    if (mode !== 'full') {
      let out = ts >>> 0;
      if (mode === 'zero') {
        if (this.base === null) this.base = ts;
        // 32-bit difference: a wrap at 2^32 ms is one more step, not a fall to 0
        out = Math.max(0, (ts - this.base) | 0);
      }
      // kept in every mode, so a reload that turns `full` on carries on from here
      if (av) {
        this.lastIn = ts;
        this.lastOut = out;
      }
      return out;
    }
    if (!av) return Math.max(0, this.lastOut) >>> 0;
    // 32-bit difference: a wrap at 2^32 ms is one more small step, not a jump
    let delta = (ts - this.lastIn) | 0;
    if (delta < -MAX_JITTER_MS || delta > MAX_JITTER_MS) delta = JUMP_STEP_MS;
    this.lastOut = Math.max(0, this.lastOut + delta);
    this.lastIn = ts;
    return this.lastOut >>> 0;
  }
}
