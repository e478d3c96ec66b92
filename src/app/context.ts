/**
 * What every route handler shares: the validated options, the core, the open sessions, the
 * compiled origin check and, with auth on, the token verifier.
 */
import type { Context } from 'hono';
import type { BrokerOptions } from '../options.ts';
import type { BrokerCore } from '../core/broker-core.ts';
import type { OriginMatcher } from '../origin.ts';
import type { SessionRegistry } from './sessions.ts';
import type { SocketTransport } from './transport.ts';
import type { ConnectionLimit } from './connection-limit.ts';
import type { Authenticator } from './auth/verifier.ts';

export interface BrokerContext {
  readonly options: BrokerOptions;
  readonly core: BrokerCore;
  readonly sessions: SessionRegistry;
  readonly originAllowed: OriginMatcher;
  /** The origin check for requests that came over TLS (origin-over-tls.ts). */
  readonly originAllowedOverTls: OriginMatcher;
  /** Turns an open socket into a session (transport.ts). */
  readonly transport: SocketTransport;
  /** `maxConnections`, counting handshakes in flight (see connection-limit.ts). */
  readonly connectionLimit: ConnectionLimit;
  /** Verifies tokens; undefined when auth is off (no `jwtSecret`, `jwtPublicKey` or `jwks`). */
  readonly auth: Authenticator | undefined;
  /** The runtime's peer address of a request, for log lines (forwarded.ts); absent when unknown. */
  readonly peerAddress?: (c: Context) => string | undefined;
  /** Reason the cluster engine is unhealthy, or undefined when all is well. */
  engineProblem(): string | undefined;
  /** Logs one line about a refused client or a notable event. */
  log(line: string): void;
}

/** Where the broker's one-line notices go unless its host gives a `log`. */
export function defaultLog(line: string): void {
  console.warn(`broker-hono: ${line}`);
}

/** The `{"error": "..."}` body every refusal carries. */
export function errorResponse(status: number, error: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
