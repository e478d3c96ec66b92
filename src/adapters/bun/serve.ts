/**
 * The standalone broker on Bun: one `Bun.serve` per listen address with `hono/bun`'s WebSocket
 * handler and Bun's native limits set from the broker's options:
 * - `maxPayloadLength = maxMessageSize`: Bun closes a socket that sends a bigger frame with 1009
 *   before buffering it;
 * - `backpressureLimit` (`bunBackpressureLimit`), `closeOnBackpressureLimit: false`: the broker's
 *   own slow-consumer rule (close with 1013, counted) acts first, so Bun never drops a message for
 *   a receiver that is not being closed;
 * - subscribers on Bun's native pub/sub (`native-fanout.ts`): one `server.publish` per topic.
 * - `sendPings`/`idleTimeout` per `pingModeFor` (see liveness.ts).
 * Shutdown closes every socket with 1001 and returns within a deadline.
 */
import { upgradeWebSocket, websocket, type BunWebSocketData } from 'hono/bun';
import { createBroker, type Broker, type CreateBrokerInit } from '../../app/create-broker.ts';
import { clock } from '../../app/sessions.ts';
import { joinClusterBeforeListening } from '../../engine/join-cluster.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { resolveOptions, type BrokerOptionsInput } from '../../options.ts';
import { ListenError, type ServingBroker } from '../../cli/run.ts';
import { listeningUrl, splitListen } from '../listen-address.ts';
import { pingModeFor, pongReceived } from './liveness.ts';
import { bunTransport } from './session.ts';
import { EVENT_STREAM_HEADERS } from '../../app/sse.ts';
import { bunBackpressureLimit, nativeFanout } from './native-fanout.ts';

const EVENT_STREAM = EVENT_STREAM_HEADERS['content-type'];

export interface RunningBroker extends ServingBroker {
  readonly broker: Broker;
}

export interface BunServeInit extends BrokerOptionsInput, Partial<Pick<CreateBrokerInit, 'log' | 'transport'>> {}

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export async function serveBroker(input: BunServeInit = {}): Promise<RunningBroker> {
  const { log, transport, ...optionInput } = input;
  const options = resolveOptions(optionInput);
  const pingMode = pingModeFor(options.pingInterval);
  const fanout = nativeFanout(options.maxBufferedBytes);
  const sessions = bunTransport(pingMode, transport ?? fanout.transport);
  const broker = createBroker({ ...options, upgradeWebSocket, transport: sessions.transport, log, loadRedisTransport: loadNodeRedisTransport });
  await joinClusterBeforeListening(broker);
  const websocketHandler = {
    ...websocket,
    maxPayloadLength: options.maxMessageSize,
    backpressureLimit: bunBackpressureLimit(options.maxBufferedBytes, options.maxMessageSize),
    closeOnBackpressureLimit: false,
    sendPings: true,
    idleTimeout: pingMode.idleTimeout,
    perMessageDeflate: false,
    pong(socket) {
      pongReceived(sessions.sessionOf(socket), (clock.now = Date.now()));
    },
  } satisfies Bun.WebSocketHandler<BunWebSocketData>;
  const servers: Bun.Server<BunWebSocketData>[] = [];
  const urls: string[] = [];
  try {
    for (const address of options.listen) {
      const { host, port } = splitListen(address);
      const { broadcaster, handler } = fanout.broadcasterFor(websocketHandler);
      const serve = (hostname: string) =>
        Bun.serve({
          hostname,
          port,
          fetch: async (request, server) => {
            const response = await broker.app.fetch(request, { server });
            // Bun ends a response that sends nothing for `idleTimeout` (10 s); an SSE stream is
            // quiet between messages and pings, and its liveness is the broker's (see sse.ts).
            if (response.headers.get('content-type') === EVENT_STREAM) server.timeout(request, 0);
            return response;
          },
          websocket: handler,
        });
      let server: Bun.Server<BunWebSocketData>;
      try {
        // `*`: every interface, IPv6 and IPv4 alike, as Node's default listen does; IPv4 alone
        // where the machine has no IPv6.
        server = host !== undefined ? serve(host) : serveEverywhere(serve);
      } catch (error) {
        throw new ListenError(`cannot listen at ${address}: ${listenReason(error)}`);
      }
      broadcaster.server = server;
      servers.push(server);
      urls.push(listeningUrl(host, server.port ?? port));
    }
  } catch (error) {
    for (const server of servers) void server.stop(true);
    broker.close();
    throw error;
  }
  return {
    broker,
    urls,
    close: (deadlineMs = 4000) => shutdown(broker, servers, deadlineMs),
  };
}

function serveEverywhere<T>(serve: (hostname: string) => T): T {
  try {
    return serve('::');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EADDRINUSE') throw error;
    return serve('0.0.0.0');
  }
}

function listenReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') return 'address already in use';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return 'address not available on this machine';
  return error instanceof Error ? error.message : String(error);
}

async function shutdown(broker: Broker, servers: Bun.Server<BunWebSocketData>[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  // Stop accepting first, then close every socket with 1001 and end SSE streams.
  for (const server of servers) void server.stop(false);
  broker.close();
  // Wait for the close handshakes, then cut whatever is left.
  while (broker.context.sessions.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  broker.context.sessions.terminateAll();
  await Promise.race([
    Promise.all(servers.map((server) => server.stop(true))),
    new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
  ]);
  await broker.engine?.close();
}
