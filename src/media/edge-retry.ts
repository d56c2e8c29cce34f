// When and where an edge tries its origins again: the origins in the order written, a pause
// between two attempts that doubles with each full pass over the list, up to a bound.
// Source: SRS srs_app_edge.cpp (SrsEdgeIngester::cycle: SRS_EDGE_INGESTER_CIMS, a 1 s sleep
// between attempts; SrsLbRoundRobin picks the next origin).

export interface RetryPolicy {
  /** ms before the first retry of a pass (SRS sleeps 1 s between attempts) */
  baseMs: number;
  /** ms, the longest pause between two attempts */
  maxMs: number;
}

export const EDGE_RETRY: Readonly<RetryPolicy> = Object.freeze({ baseMs: 1000, maxMs: 8000 });

/**
 * The next attempt after `failures` attempts in a row that brought no media.
 * @param failures consecutive failed attempts (0: the first attempt, or the pull just lost a
 *   working origin: try the first origin again at once)
 * @param origins how many origins are configured (at least 1)
 * @returns the index of the origin to try and the pause before trying it (ms)
 * @throws RangeError when origins < 1 or failures < 0
 */
export function nextAttempt(failures: number, origins: number, policy: RetryPolicy = EDGE_RETRY): { origin: number; delayMs: number } {
  if (origins < 1) throw new RangeError('an edge needs at least one origin');
  if (failures < 0 || !Number.isInteger(failures)) throw new RangeError(`failures must be a non-negative integer, got ${failures}`);
  if (failures === 0) return { origin: 0, delayMs: 0 };
  const pass = Math.floor((failures - 1) / origins);
  // 2^pass grows past any bound quickly: cap the exponent so the arithmetic stays finite
  const delayMs = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(pass, 30));
  return { origin: failures % origins, delayMs };
}
