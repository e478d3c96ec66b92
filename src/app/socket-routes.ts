/**
 * The WebSocket side of each pattern: what a socket on `/sub`, `/pub`, `/bus`, `/push` or
 * `/pull` does when it opens, sends a frame and closes. Hono `WSEvents` (so any runtime's
 * `upgradeWebSocket` can carry them) with the transport seam's `frame` entry (transport.ts).
 */
import type { WSContext, WSMessageReceive } from 'hono/ws';
import { BrokerMessage, type MessageData } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { BrokerContext } from './context.ts';
import type { RouteKind } from './guards.ts';
import type { Session } from './sessions.ts';
import { clock } from './sessions.ts';
import { messageByteLength, toMessageData } from './socket-session.ts';
import { CLOSE_SLOW_CONSUMER } from '../core/delivery.ts';
import type { BrokerSocketEvents } from './transport.ts';
import type { PushResult } from '../core/push-pull.ts';
import type { PublishPath } from '../core/subscriptions.ts';
import type { Reservation } from './connection-limit.ts';
import { pushRefusal } from './push-refusal.ts';
import { CLOSE_TOKEN_EXPIRED, TOKEN_EXPIRED, cancelExpiry, expireAt, type Expiring } from './auth/expiry.ts';
import { RAW, type StreamOptions } from './stream-options.ts';

export const CLOSE_MESSAGE_TOO_BIG = 1009;

/**
 * What a socket on one kind of route does. One shared object per kind, not one per socket: the
 * per-socket state (topic, echo, session) is passed in, so an idle connection costs no closures.
 */
interface Role {
  /** `since`: a subscriber resuming after that id (stream-options.ts). */
  attach(ctx: BrokerContext, receiver: Receiver, topic: string, since: string | undefined): void;
  detach(ctx: BrokerContext, receiver: Receiver): void;
  /** Handles one frame from the client; absent for roles whose frames are ignored. */
  onFrame?(ctx: BrokerContext, message: BrokerMessage, session: Session, topic: string, route: FrameRoute): void;
}

/** Closes a socket for a broken rule; frames still arriving from it are then not accepted. */
interface Refuser {
  refuse(code: number, reason: string): void;
}

/** The socket a frame came from, as its role sees it. */
interface FrameRoute extends Refuser {
  /** A publisher's path to its topic's subscribers, taken at its first frame (BrokerCore.publishPath). */
  publishPath: PublishPath | undefined;
}

/**
 * The per-socket events for one route, topic already validated. `reservation` is the connection
 * slot taken before the upgrade: released when the socket opens (it then counts as a connection)
 * or when it closes without ever having opened (the handshake failed). `expiresAt` is when the
 * socket's token expires (ms since the epoch): the socket is closed then with 4001. `stream`: the
 * format and resume point the request asked for (stream-options.ts).
 */
export function socketEvents(
  ctx: BrokerContext,
  kind: RouteKind,
  topic: string,
  echo: boolean,
  reservation?: Reservation,
  expiresAt?: number,
  stream: StreamOptions = RAW,
): BrokerSocketEvents {
  return new SocketRoute(ctx, kind === 'bus' && echo ? BUS_WITH_ECHO : ROLES[kind], topic, reservation, expiresAt, stream);
}

/**
 * One socket's events as one small object (methods on the prototype). Hono's adapters call the
 * events as methods (`events.onOpen(...)`), which this relies on.
 */
class SocketRoute implements BrokerSocketEvents, FrameRoute, Expiring {
  #session: Session | undefined;
  publishPath: PublishPath | undefined = undefined;
  // Runtimes that hand over Blobs resolve asynchronously; chain them to keep frame order.
  #pending: Promise<void> | undefined;
  #reservation: Reservation | undefined;
  // Set once the server closed this socket for a broken rule (1009, a full push queue): frames
  // still in flight from the client are not accepted, so a refused pusher knows that nothing
  // from the refused frame on went through.
  #refusing = false;
  /** When the token expires (ms since the epoch); the shared expiry clock calls `expire` then. */
  readonly #expiresAt: number | undefined;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly role: Role,
    private readonly topic: string,
    reservation: Reservation | undefined,
    expiresAt: number | undefined,
    private readonly stream: StreamOptions,
  ) {
    this.#reservation = reservation;
    this.#expiresAt = expiresAt;
  }

  get session(): Session | undefined {
    return this.#session;
  }

  onOpen(_event: Event, ws: WSContext): void {
    this.#releaseReservation();
    const stream = this.stream;
    const session = (this.#session = this.ctx.transport.openSession(ws, stream.json ? stream : undefined));
    this.ctx.sessions.add(session);
    this.ctx.core.counters.connections++;
    this.role.attach(this.ctx, session.receiver, this.topic, stream.since);
    if (this.#expiresAt !== undefined) expireAt(this.#expiresAt, this);
  }

  onMessage(event: MessageEvent<WSMessageReceive>): void {
    const session = this.#session;
    if (!session || this.#refusing || this.ctx.sessions.closing) return;
    session.lastActivity = clock.now;
    if (!this.role.onFrame) {
      // Frames are ignored on this route, but the size rule holds on every socket.
      if (rawByteLength(event.data) > this.ctx.options.maxMessageSize) this.refuse(CLOSE_MESSAGE_TOO_BIG, 'message too big');
      return;
    }
    const data = toMessageData(event.data);
    if (data instanceof Promise || this.#pending) {
      this.#pending = (this.#pending ?? Promise.resolve()).then(async () => this.#handle(await data)).catch(() => {});
      return;
    }
    this.#handle(data);
  }

  onClose(): void {
    const session = this.#session;
    if (!session) {
      // Closed without ever having opened: the handshake failed; give the slot back.
      this.#releaseReservation();
      return;
    }
    this.#session = undefined;
    if (this.#expiresAt !== undefined) cancelExpiry(this.#expiresAt, this);
    this.ctx.sessions.delete(session);
    this.ctx.core.counters.connections--;
    this.role.detach(this.ctx, session.receiver);
  }

  onError(): void {
    // The close event follows; nothing to do twice.
  }

  /** The adapter's fast entry (transport.ts): the frame's size was checked by the runtime already. */
  frame(message: BrokerMessage): void {
    const session = this.#session;
    // Refused, or the broker is shutting down (SessionRegistry.closing): not taken.
    if (!session || this.#refusing || this.ctx.sessions.closing) return;
    session.lastActivity = clock.now;
    this.role.onFrame?.(this.ctx, message, session, this.topic, this);
  }

  /** The token expired (auth/expiry.ts). */
  expire(): void {
    this.refuse(CLOSE_TOKEN_EXPIRED, TOKEN_EXPIRED);
  }

  refuse(code: number, reason: string): void {
    const session = this.#session;
    if (!session || this.#refusing) return;
    this.#refusing = true;
    this.ctx.log(`closing ${JSON.stringify(this.topic)} socket with ${code}: ${reason}`);
    session.receiver.close(code, reason);
  }

  #handle(data: MessageData): void {
    const session = this.#session;
    if (!session || this.#refusing) return;
    if (messageByteLength(data) > this.ctx.options.maxMessageSize) {
      this.refuse(CLOSE_MESSAGE_TOO_BIG, 'message too big');
      return;
    }
    this.role.onFrame?.(this.ctx, new BrokerMessage(data), session, this.topic, this);
  }

  #releaseReservation(): void {
    this.#reservation?.release();
    this.#reservation = undefined;
  }
}

/** Size of a frame as the runtime handed it over, without converting it. */
function rawByteLength(data: unknown): number {
  if (typeof data === 'string') return messageByteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data.size;
  return 0;
}

const ROLES: Record<RouteKind, Role> = {
  sub: {
    // A JSON subscriber (it wants ids) without `since` is told its start position first.
    attach: (ctx, receiver, topic, since) =>
      since === undefined && !receiver.deliverStamped ? ctx.core.subscribeValidTopic(topic, receiver) : ctx.core.subscribeFrom(topic, receiver, since),
    // detach() also covers a subscriber already dropped as a slow consumer.
    detach: (ctx, receiver) => ctx.core.detach(receiver),
  },
  pub: {
    attach: (ctx) => void ctx.core.counters.publishers++,
    detach: (ctx) => void ctx.core.counters.publishers--,
    onFrame: (ctx, message, _session, topic, route) => void ctx.core.publishOnPath((route.publishPath ??= ctx.core.publishPath(topic)), message),
  },
  bus: {
    attach: (ctx, receiver, topic) => ctx.core.joinBus(topic, receiver, false),
    detach: (ctx, receiver) => ctx.core.detach(receiver),
    onFrame: (ctx, message, session, topic) => void ctx.core.sendBus(topic, message, session.receiver),
  },
  push: {
    attach: (ctx) => void ctx.core.counters.pushers++,
    detach: (ctx) => void ctx.core.counters.pushers--,
    onFrame: (ctx, message, _session, topic, route) => {
      const refuse = (result: PushResult) => {
        const refusal = pushRefusal(result, topic, ctx.options, ctx.engineProblem);
        // 1013 "try again later", with the limit named (push-refusal.ts).
        if (refusal) route.refuse(CLOSE_SLOW_CONSUMER, refusal.closeReason);
      };
      const result = ctx.core.push(topic, message);
      // In cluster mode Redis answers; frames still go out in order on one connection.
      if (typeof result === 'string') refuse(result);
      else void result.then(refuse);
    },
  },
  pull: {
    attach: (ctx, receiver, topic) => ctx.core.addPuller(topic, receiver),
    detach: (ctx, receiver) => ctx.core.detach(receiver),
  },
};

/** A bus peer that asked for its own frames back (`?echo=1`). */
const BUS_WITH_ECHO: Role = { ...ROLES.bus, attach: (ctx, receiver, topic) => ctx.core.joinBus(topic, receiver, true) };
