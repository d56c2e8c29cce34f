// "Did you mean": the nearest of a few known names to a mistyped one, with bounded work. The
// unbounded version (a full matrix per candidate, recomputed inside a sort) took 16 s for a
// 64 KiB unknown directive and froze a reload for as long.

/**
 * Names longer than this get no suggestion: no directive or variable is half as long, and the
 * work grows with the length. Costs at most MAX_SUGGEST_LENGTH x candidate length cells per candidate.
 */
export const MAX_SUGGEST_LENGTH = 64;

/**
 * Levenshtein distance with adjacent transpositions (optimal string alignment: "listne" is 1 from
 * "listen"), in three rolling rows: O(a.length x b.length) time, O(b.length) memory.
 */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = new Array<number>(b.length + 1).fill(0);
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length];
}

export interface Suggestion {
  /** the nearest candidate (ties: the first in alphabetical order) */
  best: string;
  distance: number;
  /** near enough to be a typo: distance <= max(2, name.length / 3) */
  close: boolean;
}

/**
 * The candidate nearest to name, or null when there are no candidates or name is longer than
 * MAX_SUGGEST_LENGTH (then the caller reports the name as unknown, without a suggestion).
 */
export function suggest(name: string, candidates: readonly string[]): Suggestion | null {
  if (name.length > MAX_SUGGEST_LENGTH) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    // no candidate is compared past the limit either (names are short, but stay bounded)
    const d = editDistance(name, c.length > MAX_SUGGEST_LENGTH ? c.slice(0, MAX_SUGGEST_LENGTH) : c);
    if (d < bestDistance || (d === bestDistance && best !== null && c.localeCompare(best) < 0)) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === null) return null;
  return { best, distance: bestDistance, close: bestDistance <= Math.max(2, Math.floor(name.length / 3)) };
}
