// The GOP cache: the messages since the last video keyframe, so a new player starts at once with a
// decodable picture (SRS srs_app_source.cpp, SrsGopCache). Cleared on each keyframe; dropped when it
// passes its byte bound (a publisher that never sends a keyframe cannot grow memory) or when audio
// runs on without video (SRS's pure-audio guess, 115 audio messages).

import type { SharedMessage } from './shared-message';

/** SRS_PURE_AUDIO_GUESS_COUNT */
const PURE_AUDIO_GUESS_COUNT = 115;

export class GopCache {
  private msgs: SharedMessage[] = [];
  private bytes = 0;
  private audioAfterLastVideo = 0;

  /** @param maxBytes payload bytes the cache may hold before it is dropped until the next keyframe */
  constructor(private readonly maxBytes: number) {}

  /** Offer a live message (sequence headers and metadata are kept by the source, not here). */
  push(m: SharedMessage): void {
    if (m.isVideo) {
      this.audioAfterLastVideo = 0;
      if (m.keyframe) this.clear();
      else if (this.msgs.length === 0) return; // a GOP starts at a keyframe
    } else if (m.isAudio) {
      if (this.msgs.length === 0) return;
      if (++this.audioAfterLastVideo > PURE_AUDIO_GUESS_COUNT) {
        this.clear();
        return;
      }
    } else if (this.msgs.length === 0) return;
    this.msgs.push(m);
    this.bytes += m.size;
    if (this.bytes > this.maxBytes) this.clear();
  }

  clear(): void {
    this.msgs = [];
    this.bytes = 0;
  }

  /** the cached messages, oldest first; iterate at once (the cache appends to this array) */
  messages(): readonly SharedMessage[] {
    return this.msgs;
  }

  get size(): number {
    return this.bytes;
  }
}
