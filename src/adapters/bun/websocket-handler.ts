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
 * Native fan-out (`nativeFanout(...).broadcasterFor`) wraps the result per server.
 */
import { websocket, type BunWebSocketData } from 'hono/bun';
import { clock } from '../../app/sessions.ts';
import type { BrokerOptions } from '../../options.ts';
import { pongReceived, type PingMode } from './liveness.ts';
import { bunBackpressureLimit } from './native-fanout.ts';
import type { BunSessions } from './session.ts';

export function bunWebSocketHandler(
  limits: Pick<BrokerOptions, 'maxMessageSize' | 'maxBufferedBytes'>,
  pingMode: PingMode,
  sessions: BunSessions,
): Bun.WebSocketHandler<BunWebSocketData> {
  return {
    ...websocket,
    maxPayloadLength: limits.maxMessageSize,
    backpressureLimit: bunBackpressureLimit(limits.maxBufferedBytes, limits.maxMessageSize),
    closeOnBackpressureLimit: false,
    sendPings: true,
    idleTimeout: pingMode.idleTimeout,
    perMessageDeflate: false,
    pong(socket) {
      pongReceived(sessions.sessionOf(socket), (clock.now = Date.now()));
    },
  };
}
