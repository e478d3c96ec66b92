/**
 * The origin allowlist (PROTOCOL.md "Origin check"). Pure. Matching is anchored: a host pattern
 * must equal the Origin's host (case-insensitive), never merely appear in it, which is the hole
 * Mercury's unanchored regular expression left open (`example.com` let in `example.com.evil.net`).
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
    const parsed = parseOrigin(origin);
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
    const parsed = parseOrigin(trimmed);
    if (!parsed) throw new TypeError(`allowOrigin: ${JSON.stringify(pattern)} is not a valid origin`);
    return { origin: parsed.origin };
  }
  if (trimmed.startsWith('*.')) return { suffix: trimmed.slice(1) };
  if (!/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(trimmed)) {
    throw new TypeError(`allowOrigin: ${JSON.stringify(pattern)} is not a host, *.host or origin`);
  }
  return { host: trimmed };
}

function parseOrigin(origin: string): { origin: string; hostname: string } | undefined {
  try {
    const url = new URL(origin);
    if (url.origin === 'null') return undefined;
    return { origin: url.origin.toLowerCase(), hostname: url.hostname.toLowerCase() };
  } catch {
    return undefined;
  }
}
