/**
 * The standalone broker on Deno: Deno's `node:http` and the Node adapter's WebSocket upgrades
 * and fast send path (http-server.ts says why and what it adds), one server per listen address,
 * behind one accept guard for the process's open-file limit (descriptors.ts). The lifecycle
 * (listen errors, `*`, the cluster, shutdown) is src/serve's.
 */
import type { IncomingMessage, Server } from 'node:http';
import { serveOnRuntime, type RunningBroker, type ServeInput } from '../../serve/serve-on-runtime.ts';
import type { BoundServer } from '../../serve/serve-runtime.ts';
import { standardTransport } from '../../app/socket-session.ts';
import { upgradeWebSocket } from '../node/upgrade.ts';
import { fastTransport } from '../node/fast-socket-session.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { appServer, listen } from './http-server.ts';
import { acceptGuardFor, descriptorsFor, type AcceptGuard } from './descriptors.ts';
import { isPermissionError } from './permissions.ts';
import { debugHeapFromEnvironment } from './debug-heap.ts';

export { ListenError } from '../../serve/listen-error.ts';
export type { RunningBroker };

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export function serveBroker(input: ServeInput = {}): Promise<RunningBroker> {
  return serveOnRuntime(input, (options, log) => {
    let guard: AcceptGuard | undefined | null = null;
    return {
      upgradeWebSocket,
      // Frames written once per message and once per socket per turn (node/fast-socket-session.ts).
      // A task's burst is judged in the next task, up to maxBufferedBytes (see taskAllowance there).
      transport: fastTransport(standardTransport, log, { taskAllowance: options.maxBufferedBytes }),
      loadRedisTransport: loadNodeRedisTransport,
      readTextFile: (path) => Deno.readTextFile(path),
      debugHeap: debugHeapFromEnvironment(),
      // Plain requests (`@hono/node-server`) and upgrades (node/upgrade.ts) both carry Node's request.
      peerAddress: (c) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress,
      // `tls`: the same server speaking HTTPS and WSS.
      async listen(broker, host, port, tls) {
        // One guard for every address: descriptors are the process's.
        if (guard === null) guard = acceptGuardFor(descriptorsFor(options.maxConnections), broker.context.log);
        const server = appServer(broker.app, { maxPayload: options.maxMessageSize, log: broker.context.log, tls, headersTimeout: options.headersTimeout, bodyTimeout: options.bodyTimeout });
        return boundServer(server, await listen(server, host, port, guard), guard);
      },
      // A permission Deno was not given: the CLI names the flag to add (see cli.ts).
      isForeignError: isPermissionError,
    };
  });
}

function boundServer(server: Server, port: number, guard: AcceptGuard | undefined): BoundServer {
  return {
    port,
    stopAccepting() {
      guard?.stop();
      server.close();
    },
    // Keep-alive connections with no request in flight would hold the server open.
    drain: () => server.closeIdleConnections(),
    close: () => server.closeAllConnections(),
  };
}
