/**
 * Dot segments (`/a/../b`, `/a/./b`, also written `%2e`) mean what URL parsing makes of them, on
 * every runtime, mounted or standalone: `/pub/x/../a` publishes to `a`. Node and Bun hand the app
 * URLs already resolved; Deno hands them as sent, and so does the Node adapter's light upgrade
 * request. So the broker resolves them itself:
 * - standalone, `brokerGetPath` (the broker app's `getPath`) resolves before routing;
 * - mounted, the host routed the path as sent: `rerouteDotSegments` answers such a request as
 *   the broker answers its resolved form, by routing it again through the broker's own app;
 * - `routedRawPath` gives the route guards the same resolved path, still percent-encoded, so a
 *   topic is read from exactly the path that was routed.
 * Any other request pays one regular-expression test of its URL (and a WeakMap look-up).
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { getPath } from 'hono/utils/url';

/** A `.` or `..` segment in a raw path, also written with `%2e`: `/a/../b`, `/a/%2e%2e/b`, `/a/.`. */
const RAW_DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?#]|$)/i;
/** The same in a path as Hono routes it (`%2e` already decoded). */
const DOT_SEGMENT = /\/\.{1,2}(?:\/|$)/;

/** Requests routed again under their resolved path (relative to the mount), by `rerouteDotSegments`. */
const rerouted = new WeakMap<Request, string>();

/** The still-encoded path the broker routes `request` on: dot segments resolved, no query. */
export function routedRawPath(request: Request): string {
  return resolvedPath(request) ?? rawPath(request.url);
}

/** The broker app's `getPath`: Hono's, over the resolved path. */
export function brokerGetPath(request: Request): string {
  const resolved = resolvedPath(request);
  return resolved === undefined ? getPath(request) : getPath({ url: `http://localhost${resolved}` } as Request);
}

/**
 * Part of the broker's front door (front-door.ts). A path that still holds a dot segment here was routed as sent
 * by a host app the broker is mounted in: answered as the broker answers the resolved path, or
 * by the host's 404 when the resolved path leaves the mount.
 */
export function rerouteDotSegments(app: Hono): MiddlewareHandler {
  const reroute: MiddlewareHandler = async (c) => {
    const raw = rawPath(c.req.url);
    // The mount is what the middleware's pattern `<mount>/*` holds before its `*`: that many raw
    // segments (a parameter matches one segment, whatever it holds).
    let mountEnd = 0;
    for (let segments = c.req.routePath.split('/').length - 2; segments > 0; segments--) {
      mountEnd = raw.indexOf('/', mountEnd + 1);
      if (mountEnd === -1) return c.notFound();
    }
    const mount = raw.slice(0, mountEnd);
    const resolved = resolveDotSegments(raw);
    if (!resolved.startsWith(`${mount}/`)) return c.notFound();
    rerouted.set(c.req.raw, resolved.slice(mount.length));
    return app.fetch(c.req.raw, c.env, executionContextOf(c));
  };
  // Not async: nearly every request passes straight on, and every handshake comes through here.
  return (c, next) => (DOT_SEGMENT.test(c.req.path) && !rerouted.has(c.req.raw) ? reroute(c, next) : next());
}

/** The resolved path when `request` needs one (rerouted, or holding a dot segment); else undefined. */
function resolvedPath(request: Request): string | undefined {
  const url = request.url;
  // Tested on the whole URL first (cheap, and almost never true); the query may hold `/./` too.
  // A rerouted request holds a dot segment too: only then is the WeakMap looked in.
  if (!RAW_DOT_SEGMENT.test(url)) return undefined;
  const again = rerouted.get(request);
  if (again !== undefined) return again;
  const path = rawPath(url);
  return RAW_DOT_SEGMENT.test(path) ? resolveDotSegments(path) : undefined;
}

/** The path of an absolute URL as sent: from the first `/` after the host to `?` or `#`. */
function rawPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  // Every handshake comes through here: indexOf, not a regular expression.
  const query = url.indexOf('?', start);
  const fragment = url.indexOf('#', start);
  const end = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

/** As URL parsing resolves them (the host is a placeholder; `//` stays part of the path). */
export function resolveDotSegments(path: string): string {
  return new URL(`http://localhost${path}`).pathname;
}

/** Hono's `c.executionCtx` throws where the runtime has none (Node, Deno, Bun). */
function executionContextOf(c: { readonly executionCtx: unknown }): Parameters<Hono['fetch']>[2] {
  try {
    return c.executionCtx as Parameters<Hono['fetch']>[2];
  } catch {
    return undefined;
  }
}
