/**
 * CORS for the plain HTTP routes (POST publish, SSE, `/stats`, `/healthz`, `/metrics`), so a
 * page served by one origin (say, the demo page of another broker) can use this broker.
 *
 * Why this is safe:
 * - `allowOrigin` unset: `Access-Control-Allow-Origin: *`. Every origin may already open a
 *   WebSocket subscriber and read every message (browsers apply no CORS to WebSockets), and may
 *   already POST (a text POST is a "simple" request that is sent whatever CORS says), so `*`
 *   exposes nothing new. No credentials are ever allowed, so cookies never ride along.
 * - `allowOrigin` set: the request's Origin is echoed back only when it passes the same check
 *   the WebSocket and SSE routes apply (with `Vary: Origin` for caches); other origins get no
 *   CORS headers, so their pages cannot read the responses.
 *
 * WebSocket upgrades are left alone: CORS does not apply to them (the origin check does).
 */
import type { MiddlewareHandler } from 'hono';
import type { BrokerContext } from './context.ts';
import { isUpgrade } from './guards.ts';

const ALLOW_METHODS = 'GET, POST, OPTIONS';
/** Content-Type is the one non-simple header a publisher needs (application/octet-stream). */
const ALLOW_HEADERS = 'content-type';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/** The Access-Control-Allow-Origin value for `origin`, or undefined for none. */
export function corsAllowOrigin(ctx: BrokerContext, origin: string | undefined): string | undefined {
  if (!ctx.options.allowOrigin) return '*';
  if (origin === undefined || !ctx.originAllowed(origin)) return undefined;
  return origin;
}

export function corsMiddleware(ctx: BrokerContext): MiddlewareHandler {
  const reflecting = ctx.options.allowOrigin !== undefined;
  return async (c, next) => {
    if (isUpgrade(c)) return next();
    const allow = corsAllowOrigin(ctx, c.req.header('origin'));
    if (c.req.method === 'OPTIONS') {
      // A preflight (or any OPTIONS): answered here, before routing.
      const headers: Record<string, string> = { allow: ALLOW_METHODS };
      if (reflecting) headers.vary = 'Origin';
      if (allow) {
        headers['access-control-allow-origin'] = allow;
        headers['access-control-allow-methods'] = ALLOW_METHODS;
        headers['access-control-allow-headers'] = ALLOW_HEADERS;
        headers['access-control-max-age'] = PREFLIGHT_MAX_AGE_SECONDS;
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    if (reflecting) c.header('vary', 'Origin', { append: true });
    if (allow) {
      c.header('access-control-allow-origin', allow);
      c.header('access-control-expose-headers', 'retry-after');
    }
  };
}
