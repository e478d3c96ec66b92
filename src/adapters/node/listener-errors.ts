/**
 * `@hono/node-server`'s `errorHandler` for the broker's `node:http` servers (Node's, and Deno's on
 * its Node compatibility layer): what its request listener could not hand to the app, or what
 * escaped the app, answered as JSON with one log line, where node-server would answer an empty
 * 400 or 500.
 */
import { errorResponse } from '../../app/context.ts';

export function listenerErrorHandler(log: (line: string) => void): (error: unknown) => Response {
  return (error) => {
    const message = error instanceof Error ? error.message : String(error);
    // node-server wraps what it could not turn into a fetch `Request` as a RequestError (a
    // backslash in the path, `OPTIONS *`, a Host that is not host[:port]): the client's fault.
    if (error instanceof Error && error.name === 'RequestError') {
      log(`refused request: 400 ${message}`);
      return errorResponse(400, `bad request (${message})`, { connection: 'close' });
    }
    log(`error: ${message}`);
    return errorResponse(500, 'internal error');
  };
}
