/**
 * HEAD requests on Node, answered from the GET route with the body dropped. Hono answers HEAD by
 * running the GET route and wrapping its response in `new Response(null, response)`; with
 * `@hono/node-server` 1.19's lightweight Response that throws when the GET response was never
 * touched by a middleware (a `TypeError`, seen by the client as a bare 500): `HEAD /healthz`
 * with an `Upgrade: websocket` header, which the CORS middleware leaves alone, was one such
 * request. Building the HEAD answer here keeps Hono's wrapping out of the way.
 */
type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

export function headViaGet<F extends Fetch>(fetch: F): F {
  return (async (request: Request, env?: unknown) => {
    if (request.method !== 'HEAD') return fetch(request, env);
    const response = await fetch(new Request(request.url, { method: 'GET', headers: request.headers, signal: request.signal }), env);
    // An SSE stream (or any body) is not wanted: cancelling it ends the subscription at once.
    await response.body?.cancel().catch(() => {});
    return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
  }) as F;
}
