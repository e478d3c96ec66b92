/**
 * Whether a URL parses, remembering the `scheme://authority` of the ones that did. Every request
 * and every WebSocket handshake is checked (unparsable-url.ts, and the Node upgrade's Host), and
 * a full `URL.canParse` was the largest single cost of accepting a connection (2.5% of the
 * broker's CPU while 19,900 clients connected). For `http:` and `https:` only the authority can
 * make parsing fail: the WHATWG parser percent-encodes whatever a path, query or fragment holds.
 * So once a URL parsed, any other URL of the same authority followed by a `/` parses too.
 */

/** Authorities seen to parse; cleared when full, so a client inventing Host headers costs only lookups. */
const knownGood = new Set<string>();
const MAX_KNOWN = 256;

/** The authority found good last: most requests share it, and it is checked without a new string. */
let lastGood = '';

export function isParsableUrl(url: string): boolean {
  if (lastGood !== '' && url.startsWith(lastGood) && url.charCodeAt(lastGood.length) === 0x2f) return true;
  const authority = authorityOf(url);
  if (authority !== undefined && knownGood.has(authority)) {
    lastGood = authority;
    return true;
  }
  if (!URL.canParse(url)) return false;
  // Remembered only when nothing in it could have ended it early (see cacheable).
  if (authority !== undefined && cacheable(authority)) {
    if (knownGood.size >= MAX_KNOWN) knownGood.clear();
    knownGood.add(authority);
    lastGood = authority;
  }
  return true;
}

/** Whether `host` is a valid `host[:port]` for an `http:` URL (a Host header). */
export function isParsableHost(host: string): boolean {
  return isParsableUrl(`http://${host}/`);
}

/** `http(s)://authority` up to the first `/` after it, or undefined (another scheme, no path). */
function authorityOf(url: string): string | undefined {
  const start = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1;
  if (start === -1) return undefined;
  const slash = url.indexOf('/', start);
  return slash === -1 ? undefined : url.slice(0, slash);
}

/**
 * Whether a parsed URL's authority may stand for every URL that starts with it and a `/`: it is
 * not empty and holds nothing that could end it before that `/` (`?`, `#`) or be read as one
 * (`\`), nor anything the parser strips (controls, space). Checked once, before it is remembered.
 */
function cacheable(authority: string): boolean {
  const start = authority.indexOf('//') + 2;
  // `http:///a/b` parses with `a` as its host: an empty authority vouches for nothing.
  if (start >= authority.length) return false;
  for (let i = start; i < authority.length; i++) {
    const code = authority.charCodeAt(i);
    if (code === 0x3f || code === 0x23 || code === 0x5c || code <= 0x20 || code === 0x7f) return false;
  }
  return true;
}
