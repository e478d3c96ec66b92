/**
 * The Bun transport (transport.ts): sessions from a `base` transport (the standard one, where
 * Bun's `getBufferedAmount()` feeds the slow-consumer rule and `terminate()` drops a dead peer;
 * or native fan-out's) with pings added per `PingMode`. Each session is findable from its Bun
 * socket so that the `pong` handler can reach it.
 */
import type { WSContext } from 'hono/ws';
import { clock, type Session } from '../../app/sessions.ts';
import { standardTransport } from '../../app/socket-session.ts';
import type { SessionOptions, SocketTransport } from '../../app/transport.ts';
import { pongReceived, type PingMode } from './liveness.ts';

/** What the broker needs of Bun's `ServerWebSocket`. */
export interface BunSocket {
  ping(data?: string): number;
  terminate(): void;
  getBufferedAmount(): number;
}

export interface BunSessions {
  readonly transport: SocketTransport;
  /** The session of an open Bun socket (for the `pong` handler). */
  sessionOf(socket: object): Session | undefined;
}

export function bunTransport(mode: PingMode, base: SocketTransport = standardTransport): BunSessions {
  const bySocket = new WeakMap<object, Session>();
  const withPings = (ws: WSContext, options?: SessionOptions): Session => {
    const session = base.openSession(ws, options);
    const socket = ws.raw as BunSocket;
    session.ping =
      mode.kind === 'scripted'
        ? () => void socket.ping()
        : // Bun pings by itself and closes a peer that stops answering: a socket still open at
          // a registry tick has answered, so the tick counts as its pong.
          () => pongReceived(session, clock.now);
    return session;
  };
  return {
    transport: {
      openSession(ws: WSContext, options?: SessionOptions): Session {
        const session = withPings(ws, options);
        if (ws.raw && typeof ws.raw === 'object') bySocket.set(ws.raw, session);
        session.lastActivity = clock.now;
        return session;
      },
    },
    sessionOf: (socket) => bySocket.get(socket),
  };
}
