/**
 * The Bun transport (transport.ts): sessions from a `base` transport (the standard one, where
 * Bun's `getBufferedAmount()` feeds the slow-consumer rule and `terminate()` drops a dead peer;
 * or native fan-out's) with pings added per `PingMode`. The `pong` handler finds a broker
 * socket's session through its events (`BrokerSocketEvents.session`, websocket-handler.ts).
 * Nothing per socket here: the ping is one shared function per mode, called as the session's
 * method (but for a `base` session that is not native fan-out's, when the registry pings).
 */
import type { WSContext } from 'hono/ws';
import { clock, type Session } from '../../app/sessions.ts';
import { standardTransport } from '../../app/socket-session.ts';
import type { SessionOptions, SocketTransport } from '../../app/transport.ts';
import { pongReceived, type PingMode } from './liveness.ts';
import { BunSocketSession } from './native-fanout.ts';

/** What the broker needs of Bun's `ServerWebSocket`. */
export interface BunSocket {
  ping(data?: string): number;
  terminate(): void;
  getBufferedAmount(): number;
}

/** `scripted`: the registry's ping goes out as a WebSocket ping. */
function scriptedPing(this: BunSocketSession): void {
  this.socket.ping();
}

/**
 * `native`: Bun pings by itself and closes a peer that stops answering: a socket still open at a
 * registry tick has answered, so the tick counts as its pong.
 */
function nativePing(this: Session): void {
  pongReceived(this, clock.now);
}

export function bunTransport(mode: PingMode, base: SocketTransport = standardTransport): SocketTransport {
  return {
    openSession(ws: WSContext, options?: SessionOptions): Session {
      const session = base.openSession(ws, options);
      if (mode.kind === 'native') session.ping = nativePing;
      else if (session instanceof BunSocketSession) session.ping = scriptedPing;
      else session.ping = () => void (ws.raw as BunSocket).ping();
      session.lastActivity = clock.now;
      return session;
    },
  };
}
