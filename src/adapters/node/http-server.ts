/**
 * The Node HTTP server for plain requests: `@hono/node-server`'s request listener on Node's
 * `http`, with two things its `createAdaptorServer` does not let the broker set:
 *
 * - Timeouts, so a client cannot hold a request open by sending it slowly. Node's defaults (60 s
 *   for the head, 300 s for the whole request, checked only every 30 s) let 2,000 POSTs that
 *   held back their last byte keep 2 GB for five minutes. Here the head must arrive within
 *   `headersTimeout` and the whole request within `headersTimeout + bodyTimeout`, checked every
 *   second (Node scans only the connections with a request still arriving). The app's own body
 *   deadline (read-body.ts) answers 408 first; Node's is the backstop for what the app never
 *   sees.
 *   A connection that sends nothing at all is closed at `headersTimeout` too
 *   (silent-connections.ts): Node's head timer starts only at the first byte.
 * - What request-listener.ts adds: POST bodies read a socket read at a time, JSON refusals for
 *   requests node-server cannot turn into a fetch `Request`, a 404 for CONNECT.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsMaterial } from '../../serve/serve-runtime.ts';
import type { BrokerOptions } from '../../options.ts';
import { answerConnect, brokerRequestListener, type AppFetch } from './request-listener.ts';
import { dropSilentConnections } from './silent-connections.ts';

/** How often Node looks for requests past their deadline: the timeouts' granularity. */
const TIMEOUT_CHECK_MS = 1000;

/** The server for one listen address; with `tls` it speaks HTTPS (and WSS once upgrades are attached). */
export function brokerHttpServer(fetch: AppFetch, options: BrokerOptions, log: (line: string) => void, tls?: TlsMaterial): Server {
  const listener = brokerRequestListener(fetch, log);
  const headersMs = options.headersTimeout * 1000;
  const timeouts = {
    headersTimeout: headersMs,
    requestTimeout: headersMs + options.bodyTimeout * 1000,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, headersMs),
  };
  // An https.Server is an http.Server as far as listening, upgrades and shutdown go.
  const server = tls ? (createHttpsServer({ ...timeouts, handshakeTimeout: headersMs, cert: tls.cert, key: tls.key }, listener) as unknown as Server) : createServer(timeouts, listener);
  answerConnect(server);
  dropSilentConnections(server, headersMs);
  return server;
}
