/**
 * The standalone broker on Deno: one `Deno.serve` per listen address, WebSockets through
 * `denoUpgradeWebSocket` (Deno's own pings via `idleTimeout`). The lifecycle (listen errors, `*`,
 * the cluster, shutdown) is src/serve's.
 */
import { serveOnRuntime, type RunningBroker, type ServeInput } from '../../serve/serve-on-runtime.ts';
import type { BoundServer } from '../../serve/serve-runtime.ts';
import { denoUpgradeWebSocket, noClientGoneSignal } from './upgrade.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';

export { ListenError } from '../../serve/listen-error.ts';
export type { RunningBroker };

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export function serveBroker(input: ServeInput = {}): Promise<RunningBroker> {
  return serveOnRuntime(input, (options) => ({
    upgradeWebSocket: denoUpgradeWebSocket({ idleTimeout: options.pingInterval }),
    loadRedisTransport: loadNodeRedisTransport,
    clientGoneSignal: noClientGoneSignal,
    // `tls`: the same server speaking HTTPS and WSS (Deno.serve takes the PEM text).
    listen: (broker, hostname, port, tls) =>
      boundServer(Deno.serve({ hostname, port, onListen() {}, ...(tls && { cert: tls.cert, key: tls.key }) }, (request, info) => broker.app.fetch(request, { info }))),
    readTextFile: (path) => Deno.readTextFile(path),
    peerAddress: (c) => (c.env as { info?: Deno.ServeHandlerInfo<Deno.NetAddr> } | undefined)?.info?.remoteAddr.hostname,
    // A permission Deno was not given: the CLI names the flag to add (see cli.ts).
    isForeignError: (error) => error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied,
  }));
}

function boundServer(server: Deno.HttpServer<Deno.NetAddr>): BoundServer {
  let stopped: Promise<void> | undefined;
  return {
    port: server.addr.port,
    // Only once sockets were told 1001 and SSE streams ended: shutdown waits for in-flight requests.
    drain: () => void (stopped ??= server.shutdown()),
    close: () => (stopped ??= server.shutdown()),
  };
}
