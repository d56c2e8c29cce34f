// What a request path means once every spelling trick is undone: the auth check decides from this
// (or from the route the router matched), never from the raw URL, because the router decodes
// `%61pi` into `api` and a check on the raw text would let that spelling through.

/** Decoding rounds before a path is called hostile: `%25252561` is three rounds of `%25`. */
const MAX_DECODE_ROUNDS = 8;

/**
 * The canonical form of a request target's path: query and fragment dropped, percent-decoding
 * repeated until stable (so double encoding and `%2F` count), `\` read as `/`, `;params` dropped
 * from each segment (Tomcat-style matrix parameters) with the whitespace around it, empty and `.`
 * segments removed, `..` resolved,
 * no trailing slash, lower case (the strictest reading of every router's case rules).
 *
 * Returns null when the path cannot be decoded (malformed `%`, over {@link MAX_DECODE_ROUNDS}
 * rounds, a NUL): callers treat that as protected.
 * Source: RFC 3986 §5.2.4 (remove_dot_segments), §2.1 (percent-encoding).
 */
export function canonicalPath(target: string): string | null {
  let p = target;
  const cut = p.search(/[?#]/);
  if (cut >= 0) p = p.slice(0, cut);
  for (let round = 0; p.includes('%'); round++) {
    if (round >= MAX_DECODE_ROUNDS) return null;
    let next: string;
    try {
      next = decodeURIComponent(p);
    } catch {
      return null;
    }
    if (next === p) break;
    p = next;
  }
  if (p.includes('\0')) return null;
  const out: string[] = [];
  for (const raw of p.replace(/\\/g, '/').split('/')) {
    // whitespace around a segment is dropped too: stricter than any router, never looser
    const seg = (raw.split(';', 1)[0] ?? '').trim();
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg.toLowerCase());
  }
  return `/${out.join('/')}`;
}

/** Paths that belong to the API whatever serves them: `/api` and below, and `/metrics`. */
const PROTECTED_PREFIXES = ['/api', '/metrics'];

/**
 * Whether a request target names (in any spelling) something under the API's protection: the
 * file server on a shared port must not answer for it without credentials. Undecodable: true.
 */
export function isProtectedPath(target: string): boolean {
  const p = canonicalPath(target);
  if (p === null) return true;
  return PROTECTED_PREFIXES.some((prefix) => p === prefix || p.startsWith(`${prefix}/`));
}
