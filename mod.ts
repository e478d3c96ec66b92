/**
 * broker-hono: a WebSocket message broker on Hono.
 *
 * As a library (Node, Deno, Bun):
 * ```ts
 * import { createBroker } from 'broker-hono';
 * const broker = createBroker({ upgradeWebSocket });
 * app.route('/broker', broker.app);
 * ```
 * As a program: `npx broker-hono` on Node, `deno task start` on Deno, `bun run mod.ts` on Bun.
 */
export { createBroker, type Broker, type CreateBrokerInit } from './src/app/create-broker.ts';
export { BrokerCore, type ClusterHooks } from './src/core/broker-core.ts';
export type { ClusterEngine } from './src/engine/engine.ts';
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

// Run as a program (`deno run -P mod.ts`, `bun run mod.ts`): start that runtime's command line.
// Imported as a library, `import.meta.main` is false and nothing starts.
if ((import.meta as ImportMeta & { main?: boolean }).main) {
  void import('./src/adapters/start-cli.ts').then((cli) => cli.startRuntimeCli());
}
