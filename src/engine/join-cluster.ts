/**
 * What every runtime's standalone server does before it listens: join the other nodes first, so
 * the first clients already reach them, but never refuse to start because they cannot be reached
 * (the node then serves its own clients and `/healthz` says why it is unhealthy). With the memory
 * engine there is nobody to join and this returns at once.
 */
import type { EngineLifecycle } from '../core/engine.ts';

/** How long a starting standalone node waits for its engine before it listens anyway. */
export const CLUSTER_CONNECT_WAIT_MS = 3000;

export async function joinClusterBeforeListening(broker: { readonly engine: EngineLifecycle; readonly context: { log(line: string): void } }): Promise<void> {
  const engine = broker.engine;
  if (await engine.connected(CLUSTER_CONNECT_WAIT_MS)) return;
  broker.context.log(`starting without the cluster: ${engine.problem() ?? 'redis: not connected'}`);
}
