/**
 * CORS for the plain HTTP routes (POST publish, SSE, `/stats`, `/healthz`, `/metrics`), so a
 * page served by one origin (say, the demo page of another broker) can use this broker. Hono's
 * own `cors` middleware, set up as follows.
 *
 * Why this is safe:
 * - `allowOrigin` unset: `Access-Control-Allow-Origin: *`. Every origin may already open a
 *   WebSocket subscriber and read every message (browsers apply no CORS to WebSockets), and may
 *   already POST (a text POST is a "simple" request that is sent whatever CORS says), so `*`
 *   exposes nothing new. No credentials are ever allowed, so cookies never ride along.
 * - `allowOrigin` set: the request's Origin is echoed back only when it passes the same check
 *   the WebSocket and SSE routes apply (with `Vary: Origin` for caches); other origins get no
 *   `Access-Control-Allow-Origin` and no allowed methods, so their pages cannot read the
 *   responses and their preflights fail.
 *
 * WebSocket upgrades are left alone: CORS does not apply to them (the origin check does).
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { BrokerContext } from './context.ts';
import { isUpgrade } from './guards.ts';

const ALLOW_METHODS = ['GET', 'POST', 'OPTIONS'];

export function corsMiddleware(ctx: BrokerContext): MiddlewareHandler {
  const allowed = (origin: string) => ctx.options.allowOrigin === undefined || (origin !== '' && ctx.originAllowed(origin));
  const handler = cors({
    origin: ctx.options.allowOrigin === undefined ? '*' : (origin) => (allowed(origin) ? origin : null),
    allowMethods: (origin) => (allowed(origin) ? ALLOW_METHODS : []),
    // Content-Type is the non-simple header a publisher needs (application/octet-stream);
    // Authorization carries its token (auth/request-token.ts), never a cookie.
    allowHeaders: ['content-type', 'authorization'],
    exposeHeaders: ['retry-after', 'www-authenticate'],
    maxAge: 600,
  });
  return (c, next) => (isUpgrade(c) ? next() : handler(c, next));
}
