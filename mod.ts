/**
 * broker-hono: a WebSocket message broker on Hono.
 *
 * Mounted in your Hono app, through the entry point of your runtime (`broker-hono/node`,
 * `broker-hono/deno`, `broker-hono/bun`), which owns the WebSocket upgrades:
 * ```ts
 * import { mountBroker } from 'broker-hono/node';
 * const broker = mountBroker(app, '/broker');
 * broker.attach(serve({ fetch: app.fetch, port: 8080 }));
 * ```
 * Or with any runtime's `upgradeWebSocket`: `createBroker({ upgradeWebSocket })` and
 * `app.route('/broker', broker.app)`.
 * As a program: `npx broker-hono` on Node, `deno task start` on Deno, `bun run mod.ts` on Bun.
 */
import { createBroker as createAppBroker, type Broker, type CreateBrokerInit } from './src/app/create-broker.ts';
import { loadNodeRedisTransport } from './src/adapters/redis/load-node-redis.ts';

export type { Broker, CreateBrokerInit };
export { BrokerCore, type CoreLimits } from './src/core/broker-core.ts';
export { RELAYED, type Engine, type EngineEvents, type EngineFactory, type EngineLifecycle, type HistoryStats, type Publication, type Recovery } from './src/core/engine.ts';
export { StampedMessage, formatStreamId, parseStreamId, type GapReason, type StreamGap, type StreamPosition } from './src/stamped.ts';
export { MemoryEngine } from './src/core/memory-engine.ts';
export type { RedisTransport, RedisTransportFactory, RedisTransportInit } from './src/engine/redis/transport.ts';
export type { RedisTransportLoader } from './src/engine/redis/deferred-transport.ts';
export type { BrokerStats } from './src/core/counters.ts';
export type { PushResult } from './src/core/push-pull.ts';
export { BrokerMessage, type MessageData } from './src/message.ts';
export type { Receiver, Subscriber } from './src/receiver.ts';
export { brokerOptionsSchema, resolveOptions, OptionsError, type BrokerOptions, type BrokerOptionsInput } from './src/options.ts';
export { ancestors, parseTopic, parseTopicPath, type Topic, type TopicResult, type TopicLimits } from './src/topic.ts';
export { compileOriginPatterns } from './src/origin.ts';
export { brokerOptionsFromArgs } from './src/cli/options-from-args.ts';
export { UsageError } from './src/cli/args.ts';
export type { Session } from './src/app/sessions.ts';
export type { BrokerSocketEvents, SocketTransport } from './src/app/transport.ts';

/**
 * Creates the broker (see `src/app/create-broker.ts`). With `redis` set it joins the cluster
 * through node-redis, loaded only then, unless `loadRedisTransport` brings another client.
 */
export function createBroker(init: CreateBrokerInit): Broker {
  return createAppBroker({ ...init, loadRedisTransport: init.loadRedisTransport ?? loadNodeRedisTransport });
}

// Run as a program (`deno run -P mod.ts`, `bun run mod.ts`): start that runtime's command line.
// Imported as a library, `import.meta.main` is false and nothing starts.
if ((import.meta as ImportMeta & { main?: boolean }).main) {
  void import('./src/adapters/start-cli.ts').then((cli) => cli.startRuntimeCli());
}
