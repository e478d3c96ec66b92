/**
 * Sessions for runtimes that ping by themselves (Deno's `idleTimeout`, Bun's `sendPings`).
 *
 * PROTOCOL.md counts pongs as activity, so a peer that answers pings is never closed for
 * inactivity while `pingInterval < inactivityTimeout`. Where the runtime pings natively, a dead
 * peer is closed by the runtime, so a socket still open at a ping tick has answered: each tick of
 * the session registry counts as that pong (it refreshes `lastActivity` and never leaves
 * `awaitingPong` set). Where the runtime also reports pongs (Bun), the adapter refreshes
 * `lastActivity` on each one as well.
 */
import { genericSocketSession, type SocketSessionFactory } from '../app/socket-session.ts';
import { clock } from '../app/sessions.ts';

export function nativePingSessions(base: SocketSessionFactory = genericSocketSession): SocketSessionFactory {
  return (ws) => {
    const session = base(ws);
    session.ping = () => {
      session.awaitingPong = false;
      session.lastActivity = clock.now;
    };
    return session;
  };
}
