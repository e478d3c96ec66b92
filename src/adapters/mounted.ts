/**
 * What the per-runtime entry points (`broker-hono/node`, `/deno`, `/bun`) share: the options a
 * mounted broker takes, mounting it in the host's app, and a shutdown the host can await.
 */
import type { Hono } from 'hono';
import type { Broker, CreateBrokerInit } from '../app/create-broker.ts';
import { shutdown } from '../serve/shutdown.ts';

/**
 * Options of a broker mounted by an entry point: every broker option but `listen` (the host's
 * server listens), a `log` and, for cluster mode, another Redis client. The entry point brings
 * the runtime's own pieces (upgrade helper, fast paths, node-redis).
 */
export interface MountInit extends Omit<CreateBrokerInit, 'upgradeWebSocket' | 'transport' | 'debugHeap' | 'listen'> {}

/** A mounted broker: the broker, plus a shutdown that waits for the close handshakes. */
export interface MountedBroker extends Broker {
  /**
   * Closes every socket with 1001 and ends every SSE stream, waits for the close handshakes (at
   * most `deadlineMs`, default 3000), cuts whatever is left and leaves the cluster. Resolves
   * when done: exit the process after it, and every client has heard 1001.
   */
  shutdown(deadlineMs?: number): Promise<void>;
}

/** Closing must fit in PROTOCOL.md's 5 s with room for the host's own shutdown. */
const SHUTDOWN_DEADLINE_MS = 3000;

/** Adds `shutdown` to `broker` (the same object, so `broker.app` and the rest stay as they are). */
export function withShutdown<B extends Broker>(broker: B): B & MountedBroker {
  // The host's servers are the host's to stop: none are handed to the shared shutdown.
  const shutdownBroker = (deadlineMs: number = SHUTDOWN_DEADLINE_MS) => shutdown(broker, [], deadlineMs);
  return Object.assign(broker, { shutdown: shutdownBroker });
}

/**
 * Any host app, whatever its own bindings and routes: only `route` is used.
 */
// deno-lint-ignore no-explicit-any
export type HostApp = Hono<any, any, any>;

/** `app.route(path, broker.app)`, with the path checked so a typo fails at start, not at the first request. */
export function mountInto(app: HostApp, path: string, broker: Broker): void {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`mountBroker: the path to mount at must start with "/", got ${JSON.stringify(path)}`);
  }
  app.route(path, broker.app);
}
