/**
 * The broker's WebSocket upgrade on Bun, and the `WSContext` its sockets' events get. The
 * broker's own routes hand over `BrokerSocketEvents` (socket-routes.ts): those become the Bun
 * socket's `data` as they are, one object per socket. `hono/bun`'s helper would wrap them in
 * `{ events, url: new URL(...), protocol }`, a parsed URL kept for the socket's whole life that
 * the broker never reads, and make a `WSContext` (parsing that URL again) for every event. Any
 * other events (a host's own `hono/bun` routes beside a mounted broker) go through `hono/bun`
 * unchanged; `websocket-handler.ts` tells the two kinds of socket apart by their `data`.
 */
import { upgradeWebSocket as honoUpgradeWebSocket } from 'hono/bun';
import type { Context } from 'hono';
import { WSContext, type UpgradeWebSocket, type WSEvents } from 'hono/ws';
import { isBrokerSocketEvents, type BrokerSocketEvents } from '../../app/transport.ts';
import type { BunTopicBroadcaster } from './native-fanout.ts';

/** What the broker needs of Bun's server here. */
interface UpgradingServer {
  upgrade(request: Request, options: { data: unknown }): boolean;
}

/** `hono/bun`'s `upgradeWebSocket`, with the broker's own sockets' `data` kept to their events. */
export const upgradeWebSocket = ((...args: unknown[]) => {
  const [c, events] = args as [Context, WSEvents | undefined];
  if (typeof args[0] === 'function' || !events || !isBrokerSocketEvents(events)) {
    return (honoUpgradeWebSocket as (...rest: unknown[]) => unknown)(...args);
  }
  return upgradeBrokerSocket(c, events);
}) as UpgradeWebSocket;

async function upgradeBrokerSocket(c: Context, events: BrokerSocketEvents): Promise<Response> {
  // As `hono/bun` finds it: the server is the app's env, or its `server`.
  const env = c.env as { server?: UpgradingServer } | UpgradingServer | undefined;
  const server = env && 'server' in env ? env.server : (env as UpgradingServer | undefined);
  if (!server) throw new TypeError('env has to include the 2nd argument of fetch.');
  if (!server.upgrade(c.req.raw, { data: events })) throw new Error('Failed to upgrade WebSocket');
  return new Response(null);
}

/** A Bun socket whose `data` is the broker's events for it. */
export type BrokerBunSocket = Bun.ServerWebSocket<BrokerSocketEvents>;

/**
 * The `WSContext` of one event of a broker socket (made per event, kept by no one: the session
 * keeps the Bun socket), carrying the broadcaster of the server that accepted the socket.
 */
export class BunBrokerContext extends WSContext<BrokerBunSocket> {
  constructor(
    socket: BrokerBunSocket,
    readonly broadcaster?: BunTopicBroadcaster,
  ) {
    super({
      send: (source, options) => void socket.send(source, options?.compress),
      close: (code, reason) => socket.close(code, reason),
      raw: socket,
      readyState: socket.readyState as 0 | 1 | 2 | 3,
      protocol: '',
    });
  }
}

/** True for a socket the broker's own routes upgraded (its `data` is its events). */
export function isBrokerSocket(socket: Bun.ServerWebSocket<unknown>): socket is BrokerBunSocket {
  const data = socket.data;
  return typeof data === 'object' && data !== null && isBrokerSocketEvents(data as WSEvents);
}

/** A broker socket opened (`broadcaster`: the native fan-out of the server that accepted it). */
export function openBrokerSocket(socket: BrokerBunSocket, broadcaster?: BunTopicBroadcaster): void {
  // As `hono/bun` runs events: an error goes to `onError` (the broker's ignores it: the close follows).
  try {
    socket.data.onOpen?.(new Event('open'), new BunBrokerContext(socket, broadcaster));
  } catch (error) {
    socket.data.onError?.(errorEvent(error), new BunBrokerContext(socket, broadcaster));
  }
}

export function errorEvent(error: unknown): Event {
  return Object.assign(new Event('error'), { error });
}
