/**
 * What the core knows of anything that receives messages: a WebSocket, an SSE stream, or an
 * in-process callback. Transports implement this; the core never sees runtime socket types.
 */
import type { BrokerMessage, MessageData } from './message.ts';
import type { StampedMessage, StartPosition, StreamGap } from './stamped.ts';

export interface Receiver {
  /**
   * Queue the message for this receiver. Must not throw and must not block. `topic` is the
   * topic it was published, sent or pushed on (a subscriber of `a` gets `a/b`'s messages with
   * `a/b`); transports that do not need it leave the parameter out.
   */
  deliver(message: BrokerMessage, topic: string): void;
  /**
   * Present on receivers that want ids (`?format=json`, SSE with ids): as a topic subscriber
   * such a receiver is handed each message with its position in the stream of the topic it
   * subscribed to (stamped.ts), through this method instead of `deliver`. Same rules as `deliver`.
   */
  deliverStamped?(message: StampedMessage): void;
  /** A resuming subscriber's gap notice (stamped.ts), handed over before anything else. */
  deliverGap?(gap: StreamGap): void;
  /**
   * A subscriber that wants ids and gave no `since`: where it starts (stamped.ts), handed over
   * before any message, so that a cut before its first message can still be resumed.
   */
  deliverPosition?(position: StartPosition): void;
  /** Bytes accepted by `deliver` but not yet handed to the network. */
  bufferedAmount(): number;
  /** Close with a WebSocket close code (SSE streams just end). */
  close(code: number, reason: string): void;
  /** Set by the core during a publish so a receiver found under two topics gets a message once. */
  lastPublish?: number;
  /**
   * Set by a transport whose runtime can send one message to many of its sockets at once (Bun's
   * native pub/sub): as a topic subscriber this receiver is then reached through one
   * `broadcast` per topic instead of one `deliver` each. Such a receiver is subscribed to one
   * topic at most (a subscriber socket is), so it still gets each message once.
   */
  readonly broadcaster?: TopicBroadcaster;
}

/**
 * Fan-out done by the transport's runtime: receivers join a topic natively, and one call sends a
 * message to all of them. The transport keeps the slow-consumer rule for them: a member whose
 * backlog passes `maxBufferedBytes` must be handed to the `slowConsumers` rule that comes with
 * every broadcast (close 1013, counted) promptly, without reading every member's backlog on every
 * message (Bun's transport looks only when a member may be past the limit; see native-fanout.ts).
 */
export interface TopicBroadcaster {
  /**
   * Makes the set that holds one topic's members for this broadcaster (the core adds and removes
   * them): a broadcaster may keep what it knows of the topic on it, and find it again from the
   * `members` every call hands over, with no look-up per message. A plain `Set` if absent.
   */
  createMembers?(): Set<Receiver>;
  /** `receiver` (one of this broadcaster's) now subscribes to `topic`; `members` holds it already. */
  join(topic: string, receiver: Receiver, members: ReadonlySet<Receiver>): void;
  /** `receiver` no longer subscribes to `topic` (it may be closing already). */
  leave(topic: string, receiver: Receiver): void;
  /** Sends `message` once to every member of `topic` (`members`, as the core knows them). */
  broadcast(topic: string, members: ReadonlySet<Receiver>, message: BrokerMessage, slowConsumers: SlowConsumerRule): void;
  /**
   * The same for members that want ids (`Receiver.deliverStamped`): one stamped message for the
   * stream of `topic`. A broadcaster whose receivers may want ids must have it.
   */
  broadcastStamped?(topic: string, members: ReadonlySet<Receiver>, message: StampedMessage, slowConsumers: SlowConsumerRule): void;
}

/** The core's slow-consumer rule, as a broadcaster applies it to its members. */
export interface SlowConsumerRule {
  /** Closes `receiver` with 1013 and counts it (at most once per receiver). */
  dropSlowConsumer(receiver: Receiver): void;
}

/** A subscriber passed to `addTopicSubscriber`: a callback, or anything with `send`. */
export type Subscriber =
  | ((data: MessageData, topic: string) => void)
  | { send(data: MessageData): void; close?(code?: number, reason?: string): void };

const wrappers = new WeakMap<object, Receiver>();

/**
 * The receiver that stands for a public subscriber; the same object every time, so
 * `removeTopicSubscriber` finds what `addTopicSubscriber` added.
 */
export function receiverFor(subscriber: Subscriber | Receiver): Receiver {
  if (isReceiver(subscriber)) return subscriber;
  let receiver = wrappers.get(subscriber);
  if (!receiver) {
    receiver = typeof subscriber === 'function' ? callbackReceiver(subscriber) : sendReceiver(subscriber);
    wrappers.set(subscriber, receiver);
  }
  return receiver;
}

function isReceiver(value: object): value is Receiver {
  return typeof (value as Receiver).deliver === 'function' && typeof (value as Receiver).bufferedAmount === 'function';
}

function callbackReceiver(callback: (data: MessageData, topic: string) => void): Receiver {
  return {
    deliver(message, topic) {
      try {
        callback(message.data, topic);
      } catch (error) {
        // A throwing callback must not stop delivery to the others.
        queueMicrotask(() => {
          throw error;
        });
      }
    },
    bufferedAmount: () => 0,
    close() {},
  };
}

function sendReceiver(target: { send(data: MessageData): void; close?(code?: number, reason?: string): void }): Receiver {
  return {
    deliver(message) {
      try {
        target.send(message.data);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    },
    bufferedAmount: () => {
      const amount = (target as { bufferedAmount?: unknown }).bufferedAmount;
      return typeof amount === 'number' ? amount : 0;
    },
    close(code, reason) {
      target.close?.(code, reason);
    },
  };
}
