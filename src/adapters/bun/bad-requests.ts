/**
 * What `Bun.serve` lets through that the broker must refuse itself, and what replaces Bun's own
 * error page.
 *
 * - A request whose URL Bun could not build from its Host header (`Host: a b` reaches the app as
 *   the bare path `/stats`; `Host: x:99999` as `http://x:99999/...`, which no URL parser takes):
 *   400, as RFC 9112 §3.2 asks and as Node answers it. Before this the app's 404 handler threw on
 *   such URLs and Bun answered with its development error page (50 KB of source lines and paths).
 * - Anything that still throws out of the app: a JSON 500 and one log line, never Bun's page
 *   (the server also runs with `development: false`, which keeps that page off).
 */
import { errorResponse } from '../../app/context.ts';

/** The 400 for a request with an unusable URL, or undefined for a request the app can route. */
export function refuseUnroutable(request: Request, log: (line: string) => void): Response | undefined {
  if (URL.canParse(request.url)) return undefined;
  log(`refused request: 400 invalid Host header ${JSON.stringify(request.headers.get('host'))}`);
  return errorResponse(400, 'invalid Host header', { connection: 'close' });
}

/** `Bun.serve`'s `error` handler: one line, no stack trace, a JSON 500. */
export function internalError(log: (line: string) => void): (error: Error) => Response {
  return (error) => {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    return errorResponse(500, 'internal error', { connection: 'close' });
  };
}
