/**
 * Bun's WebSocket handler as the broker sets it up, for the standalone server (serve.ts) and a
 * broker mounted in your own Bun service (mount.ts) alike: `hono/bun`'s handler (so other
 * `hono/bun` WebSocket routes work beside the broker's) with Bun's native limits set from the
 * broker's options:
 * - `maxPayloadLength = maxMessageSize`: Bun closes a socket that sends a bigger frame with 1009
 *   before buffering it;
 * - `backpressureLimit` (`bunBackpressureLimit`), `closeOnBackpressureLimit: false`: the broker's
 *   own slow-consumer rule (close with 1013, counted) acts first, so Bun never drops a message for
 *   a receiver that is not being closed;
 * - `sendPings`/`idleTimeout` per `pingModeFor`, and each pong refreshes its session (see
 *   liveness.ts).
 * The broker's own sockets (their `data` is their `BrokerSocketEvents`, upgrade.ts) are handled
 * here without `hono/bun`; any other socket goes to `hono/bun`'s handler as before.
 * Native fan-out (`nativeFanout(...).broadcasterFor`) wraps the result per server.
 */
import { websocket, type BunWebSocketData } from 'hono/bun';
import { clock } from '../../app/sessions.ts';
import { BrokerMessage } from '../../message.ts';
import type { BrokerOptions } from '../../options.ts';
import { pongReceived, type PingMode } from './liveness.ts';
import { bunBackpressureLimit } from './native-fanout.ts';
import { BunBrokerContext, errorEvent, isBrokerSocket, openBrokerSocket } from './upgrade.ts';
import { isBrokerSocketEvents } from '../../app/transport.ts';
import type { WSEvents } from 'hono/ws';

/** A Bun socket's `data`: `hono/bun`'s, or the broker's events (upgrade.ts). */
type SocketData = BunWebSocketData | object;

export function bunWebSocketHandler(
  limits: Pick<BrokerOptions, 'maxMessageSize' | 'maxBufferedBytes'>,
  pingMode: PingMode,
): Bun.WebSocketHandler<SocketData> {
  const honoHandler = websocket as unknown as Bun.WebSocketHandler<SocketData>;
  return {
    ...honoHandler,
    open(socket) {
      if (isBrokerSocket(socket)) openBrokerSocket(socket);
      else return honoHandler.open?.(socket);
    },
    close(socket, code, reason) {
      if (!isBrokerSocket(socket)) return honoHandler.close?.(socket, code, reason);
      try {
        socket.data.onClose?.(new CloseEvent('close', { code, reason }), new BunBrokerContext(socket));
      } catch (error) {
        socket.data.onError?.(errorEvent(error), new BunBrokerContext(socket));
      }
    },
    maxPayloadLength: limits.maxMessageSize,
    backpressureLimit: bunBackpressureLimit(limits.maxBufferedBytes, limits.maxMessageSize),
    closeOnBackpressureLimit: false,
    sendPings: true,
    idleTimeout: pingMode.idleTimeout,
    perMessageDeflate: false,
    message(socket, message) {
      // `data` read once: each read is a call into Bun, and this runs for every frame.
      const events = socket.data as WSEvents | undefined;
      if (!events || !isBrokerSocketEvents(events)) return honoHandler.message?.(socket, message);
      // The transport seam's fast entry (transport.ts): Bun has checked the size
      // (maxPayloadLength) and decoded text already. A Buffer is a Uint8Array: kept as it is
      // (reading `.buffer` would make Bun copy it out).
      events.frame(new BrokerMessage(message));
    },
    pong(socket) {
      if (isBrokerSocket(socket)) pongReceived(socket.data.session, (clock.now = Date.now()));
    },
  };
}
