/**
 * The standalone broker on Bun: one `Bun.serve` per listen address with `hono/bun`'s WebSocket
 * handler and Bun's native limits set from the broker's options (websocket-handler.ts), and
 * subscribers on Bun's native pub/sub (`native-fanout.ts`): one `server.publish` per topic.
 * The lifecycle (listen errors, `*`, the cluster, shutdown) is src/serve's.
 */
import { readFileSync } from 'node:fs';
import type { BunWebSocketData } from 'hono/bun';
import { upgradeWebSocket } from './upgrade.ts';
import type { CreateBrokerInit } from '../../app/create-broker.ts';
import { serveOnRuntime, type RunningBroker, type ServeInput } from '../../serve/serve-on-runtime.ts';
import type { BoundServer } from '../../serve/serve-runtime.ts';
import { pingModeFor } from './liveness.ts';
import { bunTransport } from './session.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { EVENT_STREAM_HEADERS } from '../../app/sse.ts';
import { nativeFanout } from './native-fanout.ts';
import { bunWebSocketHandler } from './websocket-handler.ts';
import { internalError } from './error-page.ts';
import { debugHeapFromEnvironment } from './debug-heap.ts';

export { ListenError } from '../../serve/listen-error.ts';
export type { RunningBroker };

const EVENT_STREAM = EVENT_STREAM_HEADERS['content-type'];

export interface BunServeInit extends ServeInput, Partial<Pick<CreateBrokerInit, 'transport'>> {}

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export function serveBroker(input: BunServeInit = {}): Promise<RunningBroker> {
  const { transport, ...serveInput } = input;
  return serveOnRuntime(serveInput, (options, log) => {
    const pingMode = pingModeFor(options.pingInterval);
    const fanout = nativeFanout(options.maxBufferedBytes);
    const sessions = bunTransport(pingMode, transport ?? fanout.transport);
    const websocketHandler = bunWebSocketHandler(options, pingMode);
    return {
      upgradeWebSocket,
      transport: sessions,
      loadRedisTransport: loadNodeRedisTransport,
      readTextFile: (path) => readFileSync(path, 'utf8'),
      peerAddress: (c) => (c.env as { server?: Bun.Server<BunWebSocketData> } | undefined)?.server?.requestIP(c.req.raw)?.address,
      debugHeap: debugHeapFromEnvironment(),
      listen(broker, hostname, port, tls) {
        const { broadcaster, handler } = fanout.broadcasterFor(websocketHandler);
        const server = Bun.serve({
          hostname,
          port,
          // `tls`: the same server speaking HTTPS and WSS.
          ...(tls && { tls: { cert: tls.cert, key: tls.key } }),
          // Never Bun's development error page (source lines and paths) to a client.
          development: false,
          error: internalError(log),
          // Bun ends a request whose body has not fully arrived after about this many seconds,
          // however it trickles in (checked every 4 s), and closes keep-alive connections idle as
          // long. A second past `bodyTimeout`, so the app's own 408 (read-body.ts) comes first.
          // Heads are Bun's alone: it drops an unfinished head after 10 to 12 s, whatever is set.
          idleTimeout: bunIdleTimeout(options.bodyTimeout + 1),
          fetch: async (request, server) => {
            const response = await broker.app.fetch(request, { server });
            // Bun ends a response that sends nothing for `idleTimeout` (10 s); an SSE stream is
            // quiet between messages and pings, and its liveness is the broker's (see sse.ts).
            if (response.headers.get('content-type') === EVENT_STREAM) server.timeout(request, 0);
            return response;
          },
          websocket: handler,
        });
        broadcaster.server = server;
        return boundServer(server, port);
      },
    };
  });
}

/** Bun takes whole seconds, 1 to 255 (0 would turn the timer off). */
function bunIdleTimeout(seconds: number): number {
  return Math.min(255, Math.max(1, Math.ceil(seconds)));
}

function boundServer(server: Bun.Server<BunWebSocketData>, port: number): BoundServer {
  return {
    port: server.port ?? port,
    stopAccepting: () => void server.stop(false),
    close: () => server.stop(true),
  };
}
