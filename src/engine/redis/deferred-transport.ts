/**
 * A Redis transport usable at once whose client comes later. The client is imported only when
 * cluster mode is on (a broker without `redis` never loads it), while the engine is built with
 * the core, synchronously. Until the client is there the transport behaves as a connection that
 * is down: commands fail at once and no `ready` comes.
 */
import type { RedisTransport, RedisTransportFactory, RedisTransportInit } from './transport.ts';

/** Supplies the Redis client, loading it on first use (e.g. a dynamic `import()`). */
export type RedisTransportLoader = () => Promise<RedisTransportFactory>;

export function deferredTransport(load: RedisTransportLoader, init: RedisTransportInit, loadFailed: (message: string) => void): RedisTransport {
  let transport: RedisTransport | undefined;
  const loading = load().then(
    (factory) => (transport = factory(init)),
    (error: unknown) => {
      loadFailed(`cannot load the Redis client: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    },
  );
  const notLoaded = () => Promise.reject(new Error('the Redis client is not loaded yet'));
  return {
    command: (args) => (transport ? transport.command(args) : notLoaded()),
    binaryCommand: (args) => (!transport ? notLoaded() : transport.binaryCommand ? transport.binaryCommand(args) : transport.command(args)),
    subscribe: (channels) => (transport ? transport.subscribe(channels) : notLoaded()),
    unsubscribe: (channels) => (transport ? transport.unsubscribe(channels) : notLoaded()),
    async close() {
      await (await loading)?.close();
    },
  };
}
