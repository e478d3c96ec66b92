/**
 * The HTTP server the Deno adapter serves a Hono app with: `node:http` from Deno's Node
 * compatibility layer, with the Node adapter's WebSocket upgrades (`attachUpgrades`: `ws`,
 * frame size refused while a frame arrives, JSON refusals) and its fast send path. Measured
 * against `Deno.serve` + `Deno.upgradeWebSocket`, where every frame to every socket is a call
 * into the runtime, this route fans out 10–80× faster (README, Benchmarks).
 *
 * What this server adds to a plain `createServer`, each a rule that `Deno.serve` could not keep:
 * - timeouts (`REQUEST_TIMEOUTS`): a request head must be complete within 10 s and the whole
 *   request within 40 s, checked every second, so half-sent heads and trickled bodies cannot hold
 *   a connection (or its descriptor) for good;
 * - near the open-file limit new connections are refused and the broker goes on (`listen` with
 *   an `AcceptGuard`, descriptors.ts), where Deno would stop accepting for good;
 * - a JSON 400 for a request that cannot become a fetch `Request` (an invalid Host, say) where
 *   `@hono/node-server` would answer an empty 400 or the app a 500;
 * - CONNECT, which no route takes, gets the 404 every unknown method gets instead of no answer;
 * - POST bodies read a socket read at a time, not a parser chunk at a time (node/incoming-body.ts).
 *
 * Usable on its own to serve any Hono app that mounts a broker (see serve-app.ts).
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { attachUpgrades } from '../node/upgrade.ts';
import { answerClientErrors } from '../node/client-errors.ts';
import { dropSilentConnections } from '../node/silent-connections.ts';
import { answerConnect, brokerRequestListener } from '../node/request-listener.ts';
import type { AcceptGuard } from './descriptors.ts';
import { assertMayListen } from './permissions.ts';

/**
 * How long a client may take to send its request (milliseconds): the head, and the head and body
 * together, checked every `checkEvery`: the head and body timeouts (10 s and 30 s) planned for
 * Node and Bun too (Go's servers set `ReadHeaderTimeout` for the same reason). A slower client gets a JSON 408 (or its
 * connection dropped when a response has already begun) and one log line.
 */
export const REQUEST_TIMEOUTS = { headers: 10_000, request: 40_000, checkEvery: 1000 } as const;

export interface AppServerOptions {
  /** Largest WebSocket frame (the broker's `maxMessageSize`): a bigger one closes with 1009 as it arrives. */
  maxPayload: number;
  /** One line per refused client or notable event. */
  log: (line: string) => void;
  /** PEM certificate chain and key: the server speaks HTTPS and WSS. */
  tls?: { readonly cert: string; readonly key: string } | undefined;
  /** The broker's `headersTimeout` and `bodyTimeout`, in seconds (default: REQUEST_TIMEOUTS). */
  headersTimeout?: number;
  bodyTimeout?: number;
}

/** A `node:http` server for `app`, its upgrades routed through `app` (not listening yet). */
export function appServer(app: Hono, options: AppServerOptions): Server {
  const { log } = options;
  const listener = brokerRequestListener(app.fetch, log);
  const headersMs = options.headersTimeout === undefined ? REQUEST_TIMEOUTS.headers : options.headersTimeout * 1000;
  const requestMs = options.bodyTimeout === undefined ? REQUEST_TIMEOUTS.request : headersMs + options.bodyTimeout * 1000;
  const timeouts: ServerOptions = {
    headersTimeout: headersMs,
    requestTimeout: requestMs,
    connectionsCheckingInterval: Math.min(REQUEST_TIMEOUTS.checkEvery, headersMs),
  };
  const server: Server = options.tls ? createHttpsServer({ ...timeouts, handshakeTimeout: headersMs, cert: options.tls.cert, key: options.tls.key }, listener) : createServer(timeouts, listener);
  answerClientErrors(server, log);
  dropSilentConnections(server, headersMs);
  answerConnect(server);
  attachUpgrades(app, [server], options);
  return server;
}

/**
 * Resolves with the port once `server` listens; rejects with the runtime's error (its `code` says
 * why), or throws Deno's `NotCapable` without the permission to listen there. With a `guard`, its
 * connections count toward the guard's cap from then on.
 */
export function listen(server: Server, host: string, port: number, guard?: AcceptGuard): Promise<number> {
  assertMayListen(host, port);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      guard?.watch(server, host, bound);
      resolve(bound);
    });
  });
}
