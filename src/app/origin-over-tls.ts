/**
 * The origin check for a request that came over TLS (an `https://` listener, or with `proxy` on
 * `X-Forwarded-Proto: https`): as `allowOrigin` says, except that a page served over plain
 * `http:` gets in only when its full origin is listed (`http://localhost:5173`). A host pattern
 * (`example.com`) lets in `https://example.com` but not `http://example.com`, whose scripts anyone
 * on the path could have rewritten: a broker that clients reach over TLS keeps that guarantee.
 */
import { compileOriginPatterns, type OriginMatcher } from '../origin.ts';

export function compileOriginCheckOverTls(patterns: readonly string[] | undefined): OriginMatcher {
  const allowed = compileOriginPatterns(patterns);
  if (!patterns) return allowed;
  const listedExactly = compileOriginPatterns(patterns.filter((pattern) => pattern.includes('://')));
  return (origin) => allowed(origin) && (!/^http:/i.test(origin ?? '') || listedExactly(origin));
}
