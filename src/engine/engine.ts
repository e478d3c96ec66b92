/**
 * The engine contract: how a broker process reaches the others. With none (the default, the
 * memory engine) a broker is one process and the core delivers locally. The Redis engine joins
 * processes into a cluster; like Centrifuge's `Broker`, its guarantee is written on it:
 *
 * - pub/sub and bus across nodes: **at most once**, in publish order per publisher while the
 *   engine stays connected. A message published on a node reaches that node's own receivers
 *   directly, exactly once; other nodes get it through Redis.
 * - push/pull: each message goes to exactly one puller in the cluster, round robin over every
 *   node's pullers. While no puller is reachable it waits in Redis (bounded by
 *   `pushQueueLimit`) and is not lost; once handed to a node it is at most once.
 *
 * The Redis client is loaded only when cluster mode is on (`import()` below), so a broker
 * without `redis` never loads it. The engine is runtime-neutral; the client behind it is
 * `src/adapters/redis/node-redis-transport.ts`.
 */
import type { BrokerCore } from '../core/broker-core.ts';

export interface ClusterEngine {
  /** A short reason, naming the engine, when other nodes cannot be reached; else undefined. */
  problem(): string | undefined;
  /** Resolves true once connected (and resynchronised), false if `timeoutMs` passes first. */
  connected(timeoutMs: number): Promise<boolean>;
  /** Leaves the cluster cleanly (this node's pullers are withdrawn) and closes connections. */
  close(): Promise<void>;
}

export interface EngineInit {
  /** `redis://HOST:PORT/DB` */
  url: string;
  core: BrokerCore;
  pushQueueLimit: number;
  log(line: string): void;
}

/** Starts the Redis engine and attaches it to `core`; usable at once, connected later. */
export function startRedisEngine(init: EngineInit): ClusterEngine {
  let engine: ClusterEngine | undefined;
  let failure: string | undefined;
  // The client is Node-API code (it runs on Deno and Bun too), so it sits with the adapters.
  const loading = Promise.all([import('./redis-engine.ts'), import('../adapters/redis/node-redis-transport.ts')]).then(
    ([engineModule, transportModule]) => (engine = new engineModule.RedisEngine(init, transportModule.nodeRedisTransport)),
    (error: unknown) => {
      failure = error instanceof Error ? error.message : String(error);
      init.log(`redis: cannot load the Redis client: ${failure}`);
      return undefined;
    },
  );
  return {
    problem: () => (engine ? engine.problem() : failure ? `redis: ${failure}` : 'redis: starting'),
    async connected(timeoutMs) {
      const started = Date.now();
      const loaded = await loading;
      return loaded ? loaded.connected(Math.max(0, timeoutMs - (Date.now() - started))) : false;
    },
    close: async () => {
      const loaded = await loading;
      await loaded?.close();
    },
  };
}

/** How long a starting standalone node waits for Redis before it listens anyway. */
export const CLUSTER_CONNECT_WAIT_MS = 3000;

/**
 * What every runtime's standalone server does before it listens: join the cluster first, so the
 * first clients already reach the other nodes, but never refuse to start because Redis is down
 * (the node then serves its own clients and `/healthz` says why it is unhealthy).
 */
export async function joinClusterBeforeListening(broker: { readonly engine: ClusterEngine | undefined; readonly context: { log(line: string): void } }): Promise<void> {
  const engine = broker.engine;
  if (!engine || (await engine.connected(CLUSTER_CONNECT_WAIT_MS))) return;
  broker.context.log(`starting without the cluster: ${engine.problem() ?? 'redis: not connected'}`);
}
