/**
 * Pings and idle detection on Bun, as PROTOCOL.md states them (`pingInterval`: a socket that has
 * not answered one ping by the next is closed; pongs count as activity for `inactivityTimeout`).
 *
 * Bun pings natively (`sendPings` + `idleTimeout`): after a socket has been silent for a while it
 * sends a ping, and closes the socket at `idleTimeout` seconds of silence. Its clock ticks in 4 s
 * steps, takes whole seconds only, and stops at 960 s. So:
 * - `native`: `idleTimeout = 2 × pingInterval` (the protocol's latest close of a dead peer), used
 *   when that is a whole number of seconds from 8 to 960 (`pingInterval` 4 to 480, default 30);
 * - `scripted` otherwise: the session registry pings every `pingInterval` with `ws.ping()`, exactly
 *   as on Node, and Bun's `pong` event clears the wait; Bun's own idle timer is off.
 * Either way each pong Bun reports refreshes the socket's `lastActivity`.
 */
import type { Session } from '../../app/sessions.ts';

export type PingMode = { kind: 'native'; idleTimeout: number } | { kind: 'scripted'; idleTimeout: 0 };

/** Bun's idle timer cannot go below 8 s in practice (4 s ticks) nor above 960 s. */
const BUN_IDLE_MIN = 8;
const BUN_IDLE_MAX = 960;

export function pingModeFor(pingIntervalSeconds: number): PingMode {
  const idleTimeout = 2 * pingIntervalSeconds;
  if (Number.isInteger(idleTimeout) && idleTimeout >= BUN_IDLE_MIN && idleTimeout <= BUN_IDLE_MAX) {
    return { kind: 'native', idleTimeout };
  }
  return { kind: 'scripted', idleTimeout: 0 };
}

/** The socket's pong arrived: it is alive and active. */
export function pongReceived(session: Session | undefined, now: number): void {
  if (!session) return;
  session.awaitingPong = false;
  session.lastActivity = now;
}
