/**
 * What one runtime (Node, Deno, Bun) hands the serve lifecycle (`serve-on-runtime.ts`): the
 * pieces `createBroker` takes from it, and how to bind one address and stop it again. Everything
 * else (options, the cluster, the addresses, listen errors, the `*` fallback, the order and
 * deadline of shutdown) is the lifecycle's, the same on every runtime.
 */
import type { Broker, CreateBrokerInit } from '../app/create-broker.ts';
import type { BrokerOptions } from '../options.ts';

/** Made once per start, from the resolved options and the broker's log. */
export type ServeRuntimeFor = (options: BrokerOptions, log: (line: string) => void) => ServeRuntime;

export interface ServeRuntime extends Pick<CreateBrokerInit, 'upgradeWebSocket' | 'transport' | 'debugHeap' | 'loadRedisTransport' | 'peerAddress' | 'clientGoneSignal'> {
  /** The broker exists; nothing listens yet. */
  brokerCreated?(broker: Broker): void;
  /**
   * Binds `host:port` (`::` or `0.0.0.0` for every interface), serving HTTPS and WSS when `tls`
   * is given; throws or rejects with the runtime's own error, its `code` naming the problem
   * (`EADDRINUSE`, ...).
   */
  listen(broker: Broker, host: string, port: number, tls?: TlsMaterial): BoundServer | Promise<BoundServer>;
  /**
   * Reads a file the options name (a listener's certificate and key, `jwtPublicKey`, a `jwks`
   * file); throws with the runtime's error (its `code`, e.g. `ENOENT`, says why). Without it such
   * options cannot be used.
   */
  readTextFile?(path: string): string | Promise<string>;
  /** Every address is bound. */
  listening?(broker: Broker): void;
  /**
   * An error `listen` threw that is not about the address and must reach the caller as it is
   * (Deno: a permission the program was not given, which its CLI explains).
   */
  isForeignError?(error: unknown): boolean;
}

/** A TLS listener's certificate chain and private key, PEM text read from its files. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/**
 * One bound address. Shutdown calls, in this order: `stopAccepting`, then (once every socket
 * was told 1001 and SSE streams ended) `drain`, then (once every session is gone or the
 * deadline passed) `close`, waited for until the deadline.
 */
export interface BoundServer {
  /** The port bound (the system's pick for port 0). */
  readonly port: number;
  /** Refuse new connections; the open ones stay for their close handshake. */
  stopAccepting?(): void;
  /** Sockets were told 1001 and SSE streams ended: let finished connections go. */
  drain?(): void;
  /** Cut whatever is still open; resolves when the server is down. */
  close(): void | Promise<void>;
}
