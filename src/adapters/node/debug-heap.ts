/**
 * An opt-in endpoint for leak tests: with `BROKER_DEBUG_HEAP=1` in the environment,
 * `GET /debug/heap` answers `process.memoryUsage()` taken after a full garbage collection (start
 * Node with `--expose-gc`, or the figures include garbage). Off unless the variable is set, so a
 * production broker never exposes it.
 */
type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

export const DEBUG_HEAP_PATH = '/debug/heap';

export function withDebugHeap<F extends Fetch>(fetch: F, env: Record<string, string | undefined> = process.env): F {
  if (env.BROKER_DEBUG_HEAP !== '1') return fetch;
  return ((request: Request, ...rest: unknown[]) => {
    if (request.method === 'GET' && new URL(request.url).pathname === DEBUG_HEAP_PATH) return heapResponse();
    return fetch(request, ...(rest as [unknown]));
  }) as F;
}

function heapResponse(): Response {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    // Twice: the first pass can leave objects that only become unreachable after finalizers ran.
    gc();
    gc();
  }
  return Response.json({ gc: Boolean(gc), ...process.memoryUsage() });
}
