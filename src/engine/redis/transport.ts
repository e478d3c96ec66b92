/**
 * What the Redis engine needs from a Redis client, in web-standard types only: one connection
 * for commands, one for subscriptions, bytes as `Uint8Array`. The client itself (node-redis,
 * whose commands take Node `Buffer`s) lives in `src/adapters/redis/`, so the engine stays
 * runtime-neutral and another client could stand in without touching it.
 */
export type RedisRole = 'command' | 'subscriber';

export interface RedisTransportEvents {
  /** A message on a subscribed channel. */
  message(payload: Uint8Array, channel: Uint8Array): void;
  /** The connection is (again) ready; a subscriber connection has restored its channels. */
  ready(role: RedisRole): void;
  /** The connection was lost; the transport reconnects by itself. */
  down(role: RedisRole): void;
  /** Something went wrong (kept for `/healthz`). */
  error(role: RedisRole, message: string): void;
}

export interface RedisTransport {
  /** Sends one command on the command connection; fails at once while it is down. */
  command(args: ReadonlyArray<string | Uint8Array>): Promise<unknown>;
  /**
   * `command` with bulk strings answered as bytes (`Uint8Array`), for answers that hold
   * payloads (history). Without it they come as `command` gives them, which only suits text.
   */
  binaryCommand?(args: ReadonlyArray<string | Uint8Array>): Promise<unknown>;
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  /** Closes both connections (gracefully, then by force). */
  close(): Promise<void>;
}

export interface RedisTransportInit {
  /** `redis://HOST:PORT/DB` */
  url: string;
  /** Connection name (`CLIENT SETNAME`), so operators can tell nodes apart in `CLIENT LIST`. */
  name: string;
  events: RedisTransportEvents;
}

export type RedisTransportFactory = (init: RedisTransportInit) => RedisTransport;
