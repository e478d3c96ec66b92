/**
 * `broker-hono/deno`: the broker in your own Hono service on Deno.
 *
 * ```ts
 * import { mountBroker } from 'broker-hono/deno';    // or jsr:@broker-hono/broker-hono/deno
 *
 * const broker = mountBroker(app, '/broker');          // your Hono app, at /broker/...
 * Deno.serve({ port: 8080 }, app.fetch);
 * ```
 *
 * WebSockets go through the broker's own upgrade helper (`upgrade.ts`, Deno's pings from
 * `pingInterval`, binary frames as ArrayBuffers), and SSE streams never touch `request.signal`
 * (Deno would log its "legacy abort behavior" warning). `Deno.serve` answers every request in
 * its own task, so a refused or reset client cannot take the service down. `serveBroker` runs
 * the broker on its own, as `deno task start` does.
 */
import { createBroker } from '../../app/create-broker.ts';
import { resolveOptions } from '../../options.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { mountInto, withShutdown, type HostApp, type MountInit, type MountedBroker } from '../mounted.ts';
import { denoUpgradeWebSocket, noClientGoneSignal } from './upgrade.ts';
import { loadServer } from './load-server.ts';

import type { RunningBroker, ServeInput } from '../../serve/serve-on-runtime.ts';
export { ListenError } from '../../serve/listen-error.ts';
export type { RunningBroker };

/**
 * The standalone broker on Deno (serve.ts), loaded when called (load-server.ts): a program that
 * only mounts never loads its `node:http` server and `ws`.
 */
export async function serveBroker(input: ServeInput = {}): Promise<RunningBroker> {
  const serve = await loadServer();
  return serve.serveBroker(input);
}
export type { MountInit, MountedBroker } from '../mounted.ts';

/** Creates the broker with Deno's pieces and mounts it at `path` of `app` (`app.route(path, broker.app)`). */
export function mountBroker(app: HostApp, path: string, init: MountInit = {}): MountedBroker {
  // Deno's pings are set per upgrade helper, from the option (validated as createBroker would).
  const { pingInterval } = resolveOptions({ pingInterval: init.pingInterval });
  const broker = createBroker({
    ...init,
    loadRedisTransport: init.loadRedisTransport ?? loadNodeRedisTransport,
    readTextFile: init.readTextFile ?? ((file) => Deno.readTextFile(file)),
    // `Deno.serve(app.fetch)` hands the connection info over as the app's env.
    peerAddress: init.peerAddress ?? ((c) => (c.env as Partial<Deno.ServeHandlerInfo<Deno.NetAddr>> | undefined)?.remoteAddr?.hostname),
    upgradeWebSocket: denoUpgradeWebSocket({ idleTimeout: pingInterval }),
    clientGoneSignal: noClientGoneSignal,
  });
  mountInto(app, path, broker);
  return withShutdown(broker);
}
