/**
 * The Redis engine's transport on `@redis/client` (node-redis), the one file that knows the
 * client. It runs on Node, Deno (npm support) and Bun alike; it lives under `src/adapters/`
 * because node-redis takes and returns Node `Buffer`s, which the engine never sees.
 *
 * Commands are never queued while disconnected (`disableOfflineQueue`): a forward then fails at
 * once and the engine counts it. node-redis reconnects by itself and restores the subscriber
 * connection's channels before it reports `ready`.
 */
import { createClient, RESP_TYPES } from '@redis/client';
import type { RedisRole, RedisTransport, RedisTransportInit } from '../../engine/redis/transport.ts';

export function nodeRedisTransport({ url, name, events }: RedisTransportInit): RedisTransport {
  const options = {
    url,
    name,
    disableOfflineQueue: true,
    // No per-command timer: node-redis arms an AbortSignal per command by default (a tenth of a
    // busy publisher's CPU) and it only covers the wait before the command is written anyway.
    // The engine times its heartbeat itself to notice a Redis that stops answering.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: 2000,
      // Quick first retries, then once a second (with jitter so nodes do not retry in step).
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 50),
    },
  };
  const command = createClient(options);
  const subscriber = command.duplicate({ name: `${name}-sub` });
  const listener = (payload: Buffer, channel: Buffer) => events.message(payload, channel);

  const wire = (client: typeof command, role: RedisRole) => {
    client.on('error', (error: Error) => {
      events.error(role, error.message || String(error));
      if (!client.isReady) events.down(role);
    });
    client.on('reconnecting', () => events.down(role));
    client.on('end', () => events.down(role));
    client.on('ready', () => events.ready(role));
  };
  wire(command, 'command');
  wire(subscriber, 'subscriber');
  command.connect().catch(() => {});
  subscriber.connect().catch(() => {});

  return {
    command: (args) => command.sendCommand(args.map(toArgument)),
    binaryCommand: (args) => command.sendCommand(args.map(toArgument), BINARY_REPLIES),
    subscribe: (channels) => subscriber.subscribe(channels, listener, true),
    unsubscribe: (channels) => subscriber.unsubscribe(channels),
    async close() {
      await withTimeout(Promise.allSettled([command.close(), subscriber.close()]), 1000);
      for (const client of [command, subscriber]) {
        try {
          if (client.isOpen) client.destroy();
        } catch {
          // already closed
        }
      }
    },
  };
}

/** Bulk strings as Buffers (history payloads are bytes), and no per-command timer, as above. */
const BINARY_REPLIES = { timeout: 0, typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

/** node-redis wants strings or Buffers; a Buffer view over the same bytes costs no copy. */
function toArgument(argument: string | Uint8Array): string | Buffer {
  if (typeof argument === 'string' || Buffer.isBuffer(argument)) return argument;
  return Buffer.from(argument.buffer, argument.byteOffset, argument.byteLength);
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
