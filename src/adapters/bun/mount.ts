/**
 * `broker-hono/bun`: the broker in your own Hono service on Bun.
 *
 * ```ts
 * import { mountBroker } from 'broker-hono/bun';
 *
 * const broker = mountBroker(app, '/broker');          // your Hono app, at /broker/...
 * Bun.serve({ port: 8080, fetch: broker.fetch, websocket: broker.websocket });
 * ```
 *
 * `broker.fetch` is your app's `fetch` (Bun's server passed on as Hono's `hono/bun` expects), plus
 * `server.timeout(request, 0)` for each SSE response: Bun ends a response that sends nothing for
 * its `idleTimeout` (10 s unless you set another), and an SSE stream is quiet between messages
 * and pings. `broker.websocket` is `hono/bun`'s handler (so your own `hono/bun` WebSocket routes
 * work beside the broker's) with Bun's native limits set from the broker's options, as the
 * standalone server sets them (websocket-handler.ts): `maxPayloadLength`, `backpressureLimit`,
 * Bun's pings (`sendPings`, `idleTimeout`), native pub/sub fan-out. Use them with one `Bun.serve`.
 * `serveBroker` runs the broker on its own, as `bun run mod.ts` does.
 */
import type { BunWebSocketData, BunWebSocketHandler } from 'hono/bun';
import { upgradeWebSocket } from './upgrade.ts';
import { createBroker } from '../../app/create-broker.ts';
import { EVENT_STREAM_HEADERS } from '../../app/sse.ts';
import { resolveOptions } from '../../options.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { mountInto, withShutdown, type HostApp, type MountInit, type MountedBroker } from '../mounted.ts';
import { pingModeFor } from './liveness.ts';
import { nativeFanout } from './native-fanout.ts';
import { bunTransport } from './session.ts';
import { bunWebSocketHandler } from './websocket-handler.ts';

export { serveBroker, ListenError, type RunningBroker } from './serve.ts';
export type { MountInit, MountedBroker } from '../mounted.ts';
export type { BunWebSocketData, BunWebSocketHandler } from 'hono/bun';

const EVENT_STREAM = EVENT_STREAM_HEADERS['content-type']!;

/**
 * What `fetch` uses of Bun's `Server` (Bun's own `Server` is one). Spelled out, as `hono/bun`
 * spells out its handler's type, so the published types need no `Bun` global where there is none.
 */
export interface BunServerLike {
  timeout(request: Request, seconds: number): void;
}

/** A broker mounted in a Bun service: hand `fetch` and `websocket` to `Bun.serve`. */
export interface BunBroker extends MountedBroker {
  /** Your app's `fetch`, lifting Bun's idle timeout for each SSE response. */
  readonly fetch: (request: Request, server: BunServerLike) => Promise<Response>;
  /**
   * `hono/bun`'s WebSocket handler (typed as `hono/bun` types it) with Bun's native limits set
   * from the broker's options (`maxPayloadLength`, `backpressureLimit`, pings).
   */
  readonly websocket: BunWebSocketHandler<BunWebSocketData>;
}

/** Creates the broker with Bun's pieces and mounts it at `path` of `app` (`app.route(path, broker.app)`). */
export function mountBroker(app: HostApp, path: string, init: MountInit = {}): BunBroker {
  // Bun's limits are the server's, set from the options (validated as createBroker would).
  const limits = resolveOptions({
    pingInterval: init.pingInterval,
    maxBufferedBytes: init.maxBufferedBytes,
    maxMessageSize: init.maxMessageSize,
  });
  const pingMode = pingModeFor(limits.pingInterval);
  const fanout = nativeFanout(limits.maxBufferedBytes);
  const sessions = bunTransport(pingMode, fanout.transport);
  const { broadcaster, handler } = fanout.broadcasterFor(bunWebSocketHandler(limits, pingMode));
  const broker = createBroker({
    ...init,
    loadRedisTransport: init.loadRedisTransport ?? loadNodeRedisTransport,
    readTextFile: init.readTextFile ?? ((file) => Bun.file(file).text()),
    // `broker.fetch` hands Bun's server over as the app's env.
    peerAddress: init.peerAddress ?? ((c) => (c.env as Partial<Bun.Server<BunWebSocketData>> | undefined)?.requestIP?.(c.req.raw)?.address),
    upgradeWebSocket,
    transport: sessions,
  });
  mountInto(app, path, broker);
  return Object.assign(withShutdown(broker), {
    async fetch(request: Request, server: BunServerLike): Promise<Response> {
      // Native fan-out publishes through the server whose sockets subscribed: this one.
      broadcaster.server ??= server as Bun.Server<BunWebSocketData>;
      const response = await app.fetch(request, server);
      if (response.headers.get('content-type')?.startsWith(EVENT_STREAM)) server.timeout(request, 0);
      return response;
    },
    // Bun's options ride along (Bun.serve reads them); the type names the handler's part.
    websocket: handler as BunWebSocketHandler<BunWebSocketData>,
  });
}
