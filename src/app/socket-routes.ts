/**
 * The WebSocket side of each pattern: what a socket on `/sub`, `/pub`, `/bus`, `/push` or
 * `/pull` does when it opens, sends a frame and closes. Pure Hono `WSEvents`, so any runtime's
 * `upgradeWebSocket` can carry them.
 */
import type { WSContext, WSEvents, WSMessageReceive } from 'hono/ws';
import { BrokerMessage, type MessageData } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { BrokerContext } from './context.ts';
import type { RouteKind } from './guards.ts';
import type { Session } from './sessions.ts';
import { clock } from './sessions.ts';
import { messageByteLength, toMessageData } from './socket-session.ts';
import { CLOSE_SLOW_CONSUMER } from '../core/delivery.ts';
import { DIRECT_FRAME, type DirectFrameEvents } from './direct-frames.ts';
import type { PushResult } from '../core/push-pull.ts';

export const CLOSE_MESSAGE_TOO_BIG = 1009;

/**
 * What a socket on one kind of route does. One shared object per kind, not one per socket: the
 * per-socket state (topic, echo, session) is passed in, so an idle connection costs no closures.
 */
interface Role {
  attach(ctx: BrokerContext, receiver: Receiver, topic: string): void;
  detach(ctx: BrokerContext, receiver: Receiver): void;
  /** Handles one frame from the client; absent for roles whose frames are ignored. */
  onFrame?(ctx: BrokerContext, message: BrokerMessage, session: Session, topic: string): void;
}

/** The per-socket events for one route, topic already validated. */
export function socketEvents(ctx: BrokerContext, kind: RouteKind, topic: string, echo: boolean): WSEvents & DirectFrameEvents {
  return new SocketRoute(ctx, kind === 'bus' && echo ? BUS_WITH_ECHO : ROLES[kind], topic);
}

/**
 * One socket's events as one small object (methods on the prototype). Hono's adapters call the
 * events as methods (`events.onOpen(...)`), which this relies on.
 */
class SocketRoute implements WSEvents, DirectFrameEvents {
  #session: Session | undefined;
  // Runtimes that hand over Blobs resolve asynchronously; chain them to keep frame order.
  #pending: Promise<void> | undefined;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly role: Role,
    private readonly topic: string,
  ) {}

  onOpen(_event: Event, ws: WSContext): void {
    const session = (this.#session = this.ctx.socketSession(ws));
    this.ctx.sessions.add(session);
    this.ctx.core.counters.connections++;
    this.role.attach(this.ctx, session.receiver, this.topic);
  }

  onMessage(event: MessageEvent<WSMessageReceive>): void {
    const session = this.#session;
    if (!session) return;
    session.lastActivity = clock.now;
    if (!this.role.onFrame) return;
    const data = toMessageData(event.data);
    if (data instanceof Promise || this.#pending) {
      this.#pending = (this.#pending ?? Promise.resolve()).then(async () => this.#handle(await data)).catch(() => {});
      return;
    }
    this.#handle(data);
  }

  onClose(): void {
    const session = this.#session;
    if (!session) return;
    this.#session = undefined;
    this.ctx.sessions.delete(session);
    this.ctx.core.counters.connections--;
    this.role.detach(this.ctx, session.receiver);
  }

  onError(): void {
    // The close event follows; nothing to do twice.
  }

  /** See direct-frames.ts: the frame's size was checked by the runtime already. */
  [DIRECT_FRAME](message: BrokerMessage): void {
    const session = this.#session;
    if (!session) return;
    session.lastActivity = clock.now;
    this.role.onFrame?.(this.ctx, message, session, this.topic);
  }

  #handle(data: MessageData): void {
    const session = this.#session;
    if (!session) return;
    if (messageByteLength(data) > this.ctx.options.maxMessageSize) {
      session.receiver.close(CLOSE_MESSAGE_TOO_BIG, 'message too big');
      return;
    }
    this.role.onFrame?.(this.ctx, new BrokerMessage(data), session, this.topic);
  }
}

const ROLES: Record<RouteKind, Role> = {
  sub: {
    attach: (ctx, receiver, topic) => ctx.core.addTopicSubscriber(topic, receiver),
    // detach() also covers a subscriber already dropped as a slow consumer.
    detach: (ctx, receiver) => ctx.core.detach(receiver),
  },
  pub: {
    attach: (ctx) => void ctx.core.counters.publishers++,
    detach: (ctx) => void ctx.core.counters.publishers--,
    onFrame: (ctx, message, _session, topic) => void ctx.core.publishValidTopic(topic, message),
  },
  bus: {
    attach: (ctx, receiver, topic) => ctx.core.joinBus(topic, receiver, false),
    detach: (ctx, receiver) => ctx.core.detach(receiver),
    onFrame: (ctx, message, session, topic) => void ctx.core.sendBus(topic, message, session.receiver),
  },
  push: {
    attach: (ctx) => void ctx.core.counters.pushers++,
    detach: (ctx) => void ctx.core.counters.pushers--,
    onFrame: (ctx, message, session, topic) => {
      const refuse = (result: PushResult) => {
        if (result === 'delivered' || result === 'queued') return;
        const reason = result === 'full' ? 'push queue full' : 'cluster engine unavailable';
        ctx.log(`${reason} on ${JSON.stringify(topic)}: closing pusher with 1013`);
        session.receiver.close(CLOSE_SLOW_CONSUMER, reason);
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
