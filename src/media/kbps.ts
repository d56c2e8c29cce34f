// Bytes over a sliding 30-second window, for the API's kbps {recv_30s, send_30s} (SRS's
// SrsKbps::get_recv_kbps_30s). One-second buckets over an injected clock; O(1) per sample.

const SECONDS = 30;

export class Kbps30 {
  private readonly buckets = new Float64Array(SECONDS);
  private second = -1;
  /** bytes since start */
  total = 0;

  constructor(private readonly now: () => number) {}

  add(bytes: number): void {
    this.roll();
    this.buckets[this.second % SECONDS] += bytes;
    this.total += bytes;
  }

  /** kilobits per second averaged over the last 30 s (integer, as SRS reports it) */
  kbps(): number {
    this.roll();
    let sum = 0;
    for (let i = 0; i < SECONDS; i++) sum += this.buckets[i];
    return Math.round((sum * 8) / 1000 / SECONDS);
  }

  private roll(): void {
    const s = Math.floor(this.now() / 1000);
    if (this.second < 0) this.second = s;
    if (s <= this.second) return;
    const steps = Math.min(SECONDS, s - this.second);
    for (let i = 1; i <= steps; i++) this.buckets[(this.second + i) % SECONDS] = 0;
    this.second = s;
  }
}
