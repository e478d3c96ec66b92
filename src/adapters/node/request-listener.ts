/**
 * What the broker's `node:http` servers (Node's, and Deno's on its Node compatibility layer) put
 * around an app beyond `@hono/node-server`'s request listener:
 *
 * - POST bodies read a socket read at a time, not a parser chunk at a time (incoming-body.ts):
 *   through node-server's own conversion a body of 1-byte chunks cost Node about 3 times and
 *   Deno 5 times as much per chunk;
 * - what the listener could not hand to the app, or what escaped the app, answered as JSON with
 *   one log line, where node-server would answer an empty 400 or 500;
 * - CONNECT, which Node hands to a 'connect' listener and otherwise drops unanswered, answered
 *   with the 404 every other unknown method gets (no route takes it).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { errorResponse } from '../../app/context.ts';
import { withIncomingBody } from './incoming-body.ts';
import { writeResponse } from './raw-response.ts';

/** An app's `fetch`, given node-server's bindings (`incoming`, `outgoing`) as its env. */
export type AppFetch = (request: Request, env: { incoming: IncomingMessage }) => Response | Promise<Response>;

/** node-server's request listener for `fetch`, with the body reader and JSON errors above. */
export function brokerRequestListener(fetch: AppFetch, log: (line: string) => void): ReturnType<typeof getRequestListener> {
  const fetchWithBodies = (request: Request, env: unknown) => {
    const bindings = env as { incoming: IncomingMessage };
    return fetch(withIncomingBody(request, bindings.incoming), bindings);
  };
  return getRequestListener(fetchWithBodies, { errorHandler: listenerErrorHandler(log) });
}

function listenerErrorHandler(log: (line: string) => void): (error: unknown) => Response {
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

/** CONNECT gets a JSON 404 instead of no answer. */
export function answerConnect(server: Server): void {
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    void writeResponse(socket, errorResponse(404, `no route for ${request.method} ${request.url}`));
  });
}
