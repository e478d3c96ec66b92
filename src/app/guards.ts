/**
 * Checks made before any upgrade, in the order a client would want to hear about them:
 * origin (401), token (401, auth/guards.ts), topic (400), grant (403), then, for streaming
 * requests, the connection limit (503).
 */
import type { Context } from 'hono';
import type { Topic } from '../topic.ts';
import { parseTopicPathCached } from './topic-path-cache.ts';
import { errorResponse, type BrokerContext } from './context.ts';
import { routedRawPath } from './dot-segments.ts';
import type { Reservation } from './connection-limit.ts';
import { fromClient, requestScheme } from './forwarded.ts';

export type RouteKind = 'sub' | 'pub' | 'bus' | 'push' | 'pull';

/** Is this a WebSocket upgrade request? Only a GET is (RFC 6455): a HEAD is answered as a plain GET. */
export function isUpgrade(c: Context): boolean {
  return c.req.method === 'GET' && c.req.header('upgrade')?.toLowerCase() === 'websocket';
}

/**
 * Is this an SSE subscription request? A HEAD too, as its GET would be: the stream it opens is
 * cancelled at once (see head-requests.ts).
 */
export function wantsEventStream(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('text/event-stream');
}

/**
 * The still-encoded topic after `/<kind>/`, taken from the raw URL so percent-decoding happens
 * exactly once, in the topic module; dot segments resolved as routing resolved them.
 */
export function rawTopicPath(c: Context, kind: RouteKind): string {
  const path = routedRawPath(c.req.raw);
  // The matched pattern is `<mount>/<kind>/*`; skip as many raw segments as the mount has (the
  // mount may hold parameters, so its text can differ from the raw path).
  const routePath = c.req.routePath;
  const mountLength = routePath.length - kind.length - 3;
  let offset = 0;
  if (mountLength > 0) {
    for (let skip = routePath.slice(0, mountLength).split('/').length - 1; skip > 0; skip--) {
      offset = path.indexOf('/', offset + 1);
      if (offset === -1) return '';
    }
  }
  const marker = `/${kind}/`;
  return path.startsWith(marker, offset) ? path.slice(offset + marker.length) : '';
}

export type GuardResult = { ok: true; topic: Topic } | { ok: false; response: Response };

/** Topic check alone (POST routes and plain GETs). */
export function checkTopic(ctx: BrokerContext, c: Context, kind: RouteKind): GuardResult {
  const parsed = parseTopicPathCached(rawTopicPath(c, kind), ctx.options);
  if (!parsed.ok) {
    ctx.core.counters.refused++;
    ctx.log(`refused ${c.req.method} ${requestPath(c)}: 400 ${parsed.error}`);
    return { ok: false, response: errorResponse(400, parsed.error) };
  }
  return { ok: true, topic: parsed.topic };
}

/** Origin check; `required` for WebSocket and SSE (a missing Origin fails). */
export function checkOrigin(ctx: BrokerContext, c: Context, required: boolean): Response | undefined {
  if (!ctx.options.allowOrigin) return undefined;
  const origin = c.req.header('origin');
  if (!required && origin === undefined) return undefined;
  // Over TLS a plain-http page must be listed by its full origin (origin-over-tls.ts).
  if ((requestScheme(ctx, c) === 'https' ? ctx.originAllowedOverTls : ctx.originAllowed)(origin)) return undefined;
  ctx.core.counters.refused++;
  ctx.log(`refused ${c.req.method} ${requestPath(c)}: 401 origin ${JSON.stringify(origin ?? null)}${fromClient(ctx, c)}`);
  return errorResponse(401, 'Origin check failed');
}

/**
 * The connection limit for a WebSocket upgrade: a reservation held until the socket opens or the
 * handshake fails, so concurrent handshakes cannot overshoot `maxConnections`; or the 503.
 */
export function reserveConnection(ctx: BrokerContext, c: Context): Reservation | Response {
  return ctx.connectionLimit.reserve() ?? refuseCapacity(ctx, c);
}

/** The path the client asked for (mount prefix included), for log lines: which request was refused. */
export function requestPath(c: Context): string {
  return c.req.path;
}

function refuseCapacity(ctx: BrokerContext, c: Context): Response {
  ctx.core.counters.refused++;
  ctx.log(`refused ${c.req.method} ${requestPath(c)}: 503 maxConnections (${ctx.options.maxConnections}) reached`);
  return errorResponse(503, `too many connections (maxConnections ${ctx.options.maxConnections})`, { 'retry-after': '1' });
}
