/**
 * The default Redis client (node-redis), for the layers allowed to pick an adapter: the
 * standalone servers and `mod.ts`. It is imported only when called, so a broker without `redis`
 * never loads it.
 */
import type { RedisTransportFactory } from '../../engine/redis/transport.ts';

export function loadNodeRedisTransport(): Promise<RedisTransportFactory> {
  return import('./node-redis-transport.ts').then((module) => module.nodeRedisTransport);
}
