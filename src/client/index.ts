/**
 * broker-hono's client library: `import { createClient } from 'broker-hono/client'`. Runs in
 * browsers (as the package's own ESM, no bundler needed), Deno, Bun and Node (20: pass the `ws`
 * package's WebSocket).
 */
export { createClient, type BusPeer, type Client, type Subscription } from './client.ts';
export { MessageStream } from './message-stream.ts';
export type {
  BusOptions,
  ClientOptions,
  Data,
  Gap,
  Message,
  MessageHandler,
  MessageMeta,
  PullOptions,
  ReconnectOptions,
  Status,
  SubscribeOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './types.ts';
