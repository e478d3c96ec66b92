/**
 * The transport seam: the one place where the broker's socket routes and a runtime adapter meet.
 * Both directions are named types, so a reader can follow a frame by name from the wire to the
 * core and a message from the core back to a socket write:
 *
 * ```
 * in:  runtime socket ─► adapter ─► BrokerSocketEvents.frame(message)  (socket-routes.ts) ─► core
 *      (a host's own upgradeWebSocket, which knows nothing of `frame`, calls onMessage instead)
 * out: core ─► Receiver.deliver(message) ─► the Session that SocketTransport.openSession made
 *      (the adapter's fast one, or standardTransport's) ─► socket write
 * ```
 *
 * The handshake: the route's guards accept, then call the host's `upgradeWebSocket(c, events)`
 * with the socket's `BrokerSocketEvents`; the runtime completes the upgrade and calls
 * `events.onOpen(event, ws)`, where the route asks the `SocketTransport` for the socket's
 * `Session` and attaches its receiver to the core.
 */
import type { WSContext, WSEvents } from 'hono/ws';
import type { BrokerMessage } from '../message.ts';
import type { Session } from './sessions.ts';

/**
 * The events the broker's own socket routes give `upgradeWebSocket`: Hono's `WSEvents`, plus a
 * cheaper entry for whole frames. An adapter that knows this interface (`isBrokerSocketEvents`)
 * calls `frame` with each message instead of building a `MessageEvent` for `onMessage`, and in
 * return must enforce `maxMessageSize` itself before the frame is buffered (as `ws`'s
 * `maxPayload` and Bun's `maxPayloadLength` do): `frame` does not check size again.
 *
 * Events used through `frame` ask less of the adapter: `onClose` may be given a new `WSContext`
 * for the same socket (the route keeps what it needs from `onOpen`), and `onMessage` is never
 * called.
 */
export interface BrokerSocketEvents<T = unknown> extends WSEvents<T> {
  /** One whole frame from the client, size already checked by the runtime. */
  frame(message: BrokerMessage): void;
  /** The socket's session from `onOpen` to `onClose` (for an adapter's pong handler). */
  readonly session: Session | undefined;
}

export function isBrokerSocketEvents<T>(events: WSEvents<T>): events is BrokerSocketEvents<T> {
  return typeof (events as Partial<BrokerSocketEvents<T>>).frame === 'function';
}

/**
 * How a runtime turns an open socket into the `Session` the broker delivers to and keeps alive.
 * `standardTransport` (socket-session.ts) works on any runtime through `WSContext`; an adapter
 * may give `createBroker` a faster one (Node: frames built once and written once per turn; Bun:
 * native pub/sub through `Receiver.broadcaster`).
 */
export interface SocketTransport {
  /** The session for one socket that has just opened (called from the route's `onOpen`). */
  openSession(ws: WSContext, options?: SessionOptions): Session;
}

/** What a socket asked of its messages (stream-options.ts). */
export interface SessionOptions {
  /**
   * `?format=json`: each message as a JSON envelope with its id (json-envelope.ts). The
   * session's receiver then has `deliverStamped` and `deliverGap` (receiver.ts), and its
   * `deliver` (bus, pull) sends envelopes too.
   */
  readonly json: boolean;
}
