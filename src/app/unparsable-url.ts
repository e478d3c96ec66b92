/**
 * A request whose URL no URL parser takes is refused with 400 before anything reads it. The
 * runtime builds the URL from the client's Host header: `Host: a b` gives Deno `http://a b/...`
 * and Bun the bare path `/stats`; `Host: x:99999` gives a port no URL may have. RFC 9112 §3.2
 * asks for a 400 for an invalid Host, as Node's HTTP layer answers it; here every runtime, and a
 * mounted broker, does the same. (Before, such requests were routed as if valid, or reached
 * code that parses the URL and answered 500.) Not counted in `refused`, like the other requests
 * the HTTP layer refuses: that counter is for the broker's own rules.
 */
import type { MiddlewareHandler } from 'hono';
import { errorResponse, type BrokerContext } from './context.ts';
import { isParsableUrl } from './parsable-url.ts';

export function refuseUnparsableUrl(ctx: BrokerContext): MiddlewareHandler {
  return (c, next) => {
    if (isParsableUrl(c.req.url)) return next();
    ctx.log(`refused ${c.req.method}: 400 invalid Host header ${JSON.stringify(c.req.header('host') ?? null)}`);
    return Promise.resolve(errorResponse(400, 'invalid Host header', { connection: 'close' }));
  };
}
