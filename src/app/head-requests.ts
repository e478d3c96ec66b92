/**
 * HEAD, answered from the GET route with the body dropped, inside the broker app so a mounted
 * broker answers it as the standalone one does. Hono runs the GET route for a HEAD and wraps its
 * response in `new Response(null, response)`; with `@hono/node-server`'s lightweight Response
 * that wrapping throws when no middleware touched the GET response (a bare 500: `HEAD /healthz`
 * with `Upgrade: websocket` was one). The response built here is always safe to wrap, and a body
 * (an SSE stream above all) is cancelled at once instead of being left open.
 */
import type { MiddlewareHandler } from 'hono';

export const headWithoutBody: MiddlewareHandler = async (c, next) => {
  if (c.req.method !== 'HEAD') return next();
  await next();
  const response = c.res;
  // An SSE stream (or any body) is not wanted: cancelling it ends the subscription at once.
  await response.body?.cancel().catch(() => {});
  // Unset first, or Hono merges the old response's headers into the new one a second time.
  c.res = undefined;
  c.res = new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
};
