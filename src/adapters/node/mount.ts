/**
 * `broker-hono/node`: the broker in your own Hono service on Node.
 *
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { mountBroker } from 'broker-hono/node';
 *
 * const broker = mountBroker(app, '/broker');                    // your Hono app, at /broker/...
 * broker.attach(serve({ fetch: app.fetch, port: 8080 }));        // the broker owns the upgrades
 * ```
 *
 * `attach` gives the server the broker's own upgrade handling (`upgrade.ts`) instead of
 * `@hono/node-ws`'s: a refused upgrade keeps its JSON body, frames over `maxMessageSize` are
 * stopped while they arrive, and every upgrade socket has an error listener from its first byte,
 * so a client that resets the connection can never crash the host. Every upgrade request goes
 * through your app, so your own WebSocket routes work on the same server with this module's
 * `upgradeWebSocket` (not `@hono/node-ws`'s, whose `injectWebSocket` would take the upgrades
 * twice). `serveBroker` runs the broker on its own, as `npx broker-hono` does.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { defaultLog } from '../../app/context.ts';
import { createBroker } from '../../app/create-broker.ts';
import { standardTransport } from '../../app/socket-session.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { mountInto, withShutdown, type HostApp, type MountInit, type MountedBroker } from '../mounted.ts';
import { fastTransport } from './fast-socket-session.ts';
import { attachUpgrades, upgradeWebSocket, type UpgradeServer } from './upgrade.ts';

export { upgradeWebSocket, type UpgradeServer } from './upgrade.ts';
export { serveBroker, ListenError, type RunningBroker } from './serve.ts';
export type { MountInit, MountedBroker } from '../mounted.ts';

/** A broker mounted in a Node service. */
export interface NodeBroker extends MountedBroker {
  /**
   * Takes over WebSocket upgrades on `server` (a `node:http` server, e.g. what
   * `@hono/node-server`'s `serve` returns), routed through the app the broker is mounted in.
   * Returns `server`. Call it once per server.
   */
  attach<S extends UpgradeServer>(server: S): S;
}

/** Creates the broker with Node's pieces and mounts it at `path` of `app` (`app.route(path, broker.app)`). */
export function mountBroker(app: HostApp, path: string, init: MountInit = {}): NodeBroker {
  const log = init.log ?? defaultLog;
  const broker = createBroker({
    ...init,
    loadRedisTransport: init.loadRedisTransport ?? loadNodeRedisTransport,
    readTextFile: init.readTextFile ?? ((file) => readFileSync(file, 'utf8')),
    // `@hono/node-server` and the upgrades (upgrade.ts) both carry Node's request.
    peerAddress: init.peerAddress ?? ((c) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress),
    log,
    upgradeWebSocket,
    // Frames written once per message and once per socket per turn (fast-socket-session.ts).
    transport: fastTransport(standardTransport, log),
  });
  mountInto(app, path, broker);
  const options = { maxPayload: broker.options.maxMessageSize, log };
  return Object.assign(withShutdown(broker), {
    attach<S extends UpgradeServer>(server: S): S {
      attachUpgrades(app, [server], options);
      return server;
    },
  });
}
