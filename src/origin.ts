/**
 * The origin allowlist (PROTOCOL.md "Origin check"). Pure. Matching is anchored: a host pattern
 * must equal the Origin's host (case-insensitive), never merely appear in it, which is the hole
 * Mercury's unanchored regular expression left open (`example.com` let in `example.com.evil.net`).
 *
 * - `example.com`: the Origin's host is exactly `example.com`, any scheme and port.
 * - `*.example.com`: the host ends in `.example.com` with at least one label before it, at any
 *   depth (`a.example.com`, `a.b.example.com`); not `example.com` itself.
 * - `https://example.com:8443`: scheme, host and port all equal (a default port may be omitted).
 *
 * A missing Origin, `null`, or one that is not a URL matches nothing; so does one that is not in
 * the form browsers send (RFC 6454 §6.2: `scheme://host[:port]`, no default port, no user, path,
 * percent-encoding or leading zeros; letter case aside). A URL parser would read
 * `https://user@example.com/x`, `http://example%2ecom` or `https://example.com:08443` as the
 * origins they resemble, and let in a request no browser could have made.
 */

/** Compiled patterns; build once per broker, not per request. */
export type OriginMatcher = (origin: string | null | undefined) => boolean;

interface CompiledPattern {
  /** Exact origin (`https://example.com:8443`), or undefined for host patterns. */
  origin?: string;
  /** Exact host, lower case. */
  host?: string;
  /** For `*.example.com`: the required suffix `.example.com`. */
  suffix?: string;
}

export function compileOriginPatterns(patterns: readonly string[] | undefined): OriginMatcher {
  if (!patterns) return () => true;
  const compiled = patterns.map(compilePattern);
  return (origin) => {
    if (!origin) return false;
    const parsed = parseOrigin(origin, true);
    if (!parsed) return false;
    return compiled.some((pattern) => {
      if (pattern.origin !== undefined) return pattern.origin === parsed.origin;
      if (pattern.host !== undefined) return pattern.host === parsed.hostname;
      return parsed.hostname.endsWith(pattern.suffix!) && parsed.hostname.length > pattern.suffix!.length;
    });
  };
}

function compilePattern(pattern: string): CompiledPattern {
  const trimmed = pattern.trim().toLowerCase();
  if (trimmed.includes('://')) {
    if (trimmed.includes('*')) throw new TypeError(`allowOrigin: ${JSON.stringify(pattern)}: a wildcard goes in a host pattern (*.example.com), not in a full origin`);
    const parsed = parseOrigin(trimmed, false);
    if (!parsed) throw new TypeError(`allowOrigin: ${JSON.stringify(pattern)} is not a valid origin`);
    return { origin: parsed.origin };
  }
  if (trimmed.startsWith('*.')) {
    const host = normalizeHost(trimmed.slice(2));
    if (!host) throw new TypeError(`allowOrigin: ${JSON.stringify(pattern)} is not a host, *.host or origin`);
    return { suffix: `.${host}` };
  }
  const host = normalizeHost(trimmed);
  if (!host) throw new TypeError(`allowOrigin: ${JSON.stringify(pattern)} is not a host, *.host or origin`);
  return { host };
}

/**
 * A host as a browser writes it in `Origin` (lower case, IDN in punycode), or undefined when the
 * text is not a bare host (a port, path, user or wildcard in the wrong place).
 */
function normalizeHost(text: string): string | undefined {
  const ipv6 = /^\[[0-9a-f:.]+\]$/.test(text);
  if (!text || (!ipv6 && /[/@?#:*\s\\]/.test(text))) return undefined;
  try {
    const hostname = new URL(`http://${text}`).hostname;
    return hostname && hostname !== '.' ? hostname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An origin parsed. `asSent` for an Origin header: only the serialized form itself, since
 * anything the parser had to normalize is not what a browser sends. A pattern is read leniently
 * (`https://example.com:443` is the same as `https://example.com`).
 */
function parseOrigin(origin: string, asSent: boolean): { origin: string; hostname: string } | undefined {
  try {
    const url = new URL(origin);
    if (url.origin === 'null') return undefined;
    const serialized = url.origin.toLowerCase();
    if (asSent && origin.toLowerCase() !== serialized) return undefined;
    return { origin: serialized, hostname: url.hostname.toLowerCase() };
  } catch {
    return undefined;
  }
}
