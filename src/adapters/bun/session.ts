/**
 * Sessions for Bun sockets. Starts from the generic session (Bun's `getBufferedAmount()` feeds the
 * slow-consumer rule; `terminate()` drops a dead peer) and adds pings per `PingMode`. Each session
 * is findable from its Bun socket so that the `pong` handler can reach it.
 *
 * A faster factory (one that sends through Bun directly, or Bun's native publish) can replace
 * `base`; it keeps pings and pongs by going through `bunSocketSessions`.
 */
import type { WSContext } from 'hono/ws';
import { clock, type Session } from '../../app/sessions.ts';
import { genericSocketSession, type SocketSessionFactory } from '../../app/socket-session.ts';
import { pongReceived, type PingMode } from './liveness.ts';

/** What the broker needs of Bun's `ServerWebSocket`. */
export interface BunSocket {
  ping(data?: string): number;
  terminate(): void;
  getBufferedAmount(): number;
}

export interface BunSessions {
  readonly factory: SocketSessionFactory;
  /** The session of an open Bun socket (for the `pong` handler). */
  sessionOf(socket: object): Session | undefined;
}

export function bunSocketSessions(mode: PingMode, base: SocketSessionFactory = genericSocketSession): BunSessions {
  const bySocket = new WeakMap<object, Session>();
  const withPings: SocketSessionFactory = (ws) => {
    const session = base(ws);
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
    factory(ws: WSContext) {
      const session = withPings(ws);
      if (ws.raw && typeof ws.raw === 'object') bySocket.set(ws.raw, session);
      session.lastActivity = clock.now;
      return session;
    },
    sessionOf: (socket) => bySocket.get(socket),
  };
}
