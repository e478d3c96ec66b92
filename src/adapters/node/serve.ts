/**
 * The standalone broker on Node: one HTTP(S) server per listen address (`@hono/node-server` for
 * plain requests, with the broker's timeouts, `http-server.ts`; `attachUpgrades` for WebSockets;
 * `answerClientErrors` for what Node's parser refuses). The lifecycle (listen errors, `*`, the
 * cluster, shutdown) is src/serve's.
 */
import type { IncomingMessage, Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serveOnRuntime, type RunningBroker, type ServeInput } from '../../serve/serve-on-runtime.ts';
import type { BoundServer } from '../../serve/serve-runtime.ts';
import { attachUpgrades, upgradeWebSocket } from './upgrade.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { fastTransport } from './fast-socket-session.ts';
import { standardTransport } from '../../app/socket-session.ts';
import { answerClientErrors } from './client-errors.ts';
import { brokerHttpServer } from './http-server.ts';
import { debugHeapFromEnvironment } from './debug-heap.ts';

export { ListenError } from '../../serve/listen-error.ts';
export type { RunningBroker };

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export function serveBroker(input: ServeInput = {}): Promise<RunningBroker> {
  return serveOnRuntime(input, (options, log) => {
    const servers: Server[] = [];
    return {
      upgradeWebSocket,
      // Frames written once per message and once per socket per turn (see fast-socket-session.ts).
      transport: fastTransport(standardTransport, log),
      loadRedisTransport: loadNodeRedisTransport,
      debugHeap: debugHeapFromEnvironment(),
      readTextFile: (path) => readFileSync(path, 'utf8'),
      // Plain requests (`@hono/node-server`) and upgrades (upgrade.ts) both carry Node's request.
      peerAddress: (c) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress,
      async listen(broker, host, port, tls) {
        const server = brokerHttpServer(broker.app.fetch, options, broker.context.log, tls);
        answerClientErrors(server, broker.context.log);
        await listening(server, host, port);
        servers.push(server);
        return boundServer(server);
      },
      listening(broker) {
        attachUpgrades(broker.app, servers, { maxPayload: options.maxMessageSize, log: broker.context.log });
      },
    };
  });
}

/** Resolves once `server` listens; rejects with Node's error (its `code` says why). */
function listening(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function boundServer(server: Server): BoundServer {
  return {
    port: (server.address() as AddressInfo).port,
    stopAccepting: () => void server.close(),
    // Keep-alive connections with no request in flight would hold the server open.
    drain: () => server.closeIdleConnections(),
    close: () => server.closeAllConnections(),
  };
}
