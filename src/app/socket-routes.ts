/**
 * The WebSocket side of each pattern: what a socket on `/sub`, `/pub`, `/bus`, `/push` or
 * `/pull` does when it opens, sends a frame and closes. Pure Hono `WSEvents`, so any runtime's
 * `upgradeWebSocket` can carry them.
 */
import type { WSContext, WSEvents } from 'hono/ws';
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

interface Role {
  attach(receiver: Receiver): void;
  detach(receiver: Receiver): void;
  /** Handles one frame from the client; absent for roles whose frames are ignored. */
  onFrame?(message: BrokerMessage, session: Session): void;
}

/** The per-socket events for one route, topic already validated. */
export function socketEvents(ctx: BrokerContext, kind: RouteKind, topic: string, echo: boolean): WSEvents & DirectFrameEvents {
  const role = roleFor(ctx, kind, topic, echo);
  let session: Session | undefined;
  // Runtimes that hand over Blobs resolve asynchronously; chain them to keep frame order.
  let pending: Promise<void> | undefined;

  const handle = (data: MessageData) => {
    const current = session;
    if (!current) return;
    if (messageByteLength(data) > ctx.options.maxMessageSize) {
      current.receiver.close(CLOSE_MESSAGE_TOO_BIG, 'message too big');
      return;
    }
    role.onFrame?.(new BrokerMessage(data), current);
  };

  return {
    onOpen(_event, ws: WSContext) {
      session = ctx.socketSession(ws);
      ctx.sessions.add(session);
      ctx.core.counters.connections++;
      role.attach(session.receiver);
    },
    onMessage(event, _ws) {
      if (!session) return;
      session.lastActivity = clock.now;
      if (!role.onFrame) return;
      const data = toMessageData(event.data);
      if (data instanceof Promise || pending) {
        pending = (pending ?? Promise.resolve()).then(async () => handle(await data)).catch(() => {});
        return;
      }
      handle(data);
    },
    onClose() {
      const current = session;
      if (!current) return;
      session = undefined;
      ctx.sessions.delete(current);
      ctx.core.counters.connections--;
      role.detach(current.receiver);
    },
    onError() {
      // The close event follows; nothing to do twice.
    },
    [DIRECT_FRAME](message) {
      const current = session;
      if (!current) return;
      current.lastActivity = clock.now;
      role.onFrame?.(message, current);
    },
  };
}

function roleFor(ctx: BrokerContext, kind: RouteKind, topic: string, echo: boolean): Role {
  const { core } = ctx;
  switch (kind) {
    case 'sub':
      return {
        attach: (receiver) => core.addTopicSubscriber(topic, receiver),
        // detach() also covers a subscriber already dropped as a slow consumer.
        detach: (receiver) => core.detach(receiver),
      };
    case 'pub':
      return {
        attach: () => void core.counters.publishers++,
        detach: () => void core.counters.publishers--,
        onFrame: (message) => void core.publishValidTopic(topic, message),
      };
    case 'bus': {
      let self: Receiver | undefined;
      return {
        attach: (receiver) => {
          self = receiver;
          core.joinBus(topic, receiver, echo);
        },
        detach: (receiver) => core.detach(receiver),
        onFrame: (message) => void core.sendBus(topic, message, self),
      };
    }
    case 'push':
      return {
        attach: () => void core.counters.pushers++,
        detach: () => void core.counters.pushers--,
        onFrame: (message, session) => {
          const refuse = (result: PushResult) => {
            if (result === 'delivered' || result === 'queued') return;
            const reason = result === 'full' ? 'push queue full' : 'cluster engine unavailable';
            ctx.log(`${reason} on ${JSON.stringify(topic)}: closing pusher with 1013`);
            session.receiver.close(CLOSE_SLOW_CONSUMER, reason);
          };
          const result = core.push(topic, message);
          // In cluster mode Redis answers; frames still go out in order on one connection.
          if (typeof result === 'string') refuse(result);
          else void result.then(refuse);
        },
      };
    case 'pull':
      return {
        attach: (receiver) => core.addPuller(topic, receiver),
        detach: (receiver) => core.detach(receiver),
      };
  }
}
