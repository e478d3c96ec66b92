/**
 * Fan-out on Bun's native pub/sub. uWebSockets, under `Bun.serve`, builds a published frame once
 * and writes every subscribed socket once per event-loop turn; JavaScript that sends to each
 * socket in turn cannot come near it. So a subscriber socket subscribes natively to its topic
 * (`ws.subscribe`), and a publish becomes one `server.publish` per ancestor topic that has
 * subscribers here, with the broker's semantics kept around it:
 *
 * - hierarchy: the core walks the ancestors as always and calls `broadcast` once per topic;
 * - each message once per socket: a subscriber socket is subscribed to exactly one topic;
 * - counters: `messagesOut` grows by the topic's member count (the core does it);
 * - slow consumers: Bun's own limit cuts a connection without a close frame (close code 1006 on
 *   both sides, checked on Bun 1.4), so it is only a far-off backstop here. The broker's rule is
 *   applied by reading each member's `getBufferedAmount()` within 10 ms of its topic being
 *   published on, and at once whenever half of `maxBufferedBytes` has gone out on the topic
 *   since the last look: a member past the limit is closed with 1013 and counted
 *   (the core's `SlowConsumerRule`, handed over with each broadcast), with at most half the limit more piled up than on Node.
 *   Bun's `backpressureLimit` is set above what that allows (see `bunBackpressureLimit`).
 *
 * Frames from clients come in through the transport seam's `frame` entry (websocket-handler.ts):
 * no MessageEvent and no WSContext per frame, as `hono/bun`'s handler makes. The broadcaster of
 * the server that accepted a socket reaches its session through the `WSContext` of its open.
 */
import type { WSContext } from 'hono/ws';
import { BrokerMessage } from '../../message.ts';
import type { Receiver, SlowConsumerRule, TopicBroadcaster } from '../../receiver.ts';
import { clock, type Session } from '../../app/sessions.ts';
import type { SessionOptions, SocketTransport } from '../../app/transport.ts';
import type { StampedMessage, StartPosition, StreamGap } from '../../stamped.ts';
import { gapJson, localJson, positionJson, STAMPED_JSON, stampedJson } from '../../app/json-envelope.ts';
import { BunBrokerContext, isBrokerSocket, openBrokerSocket } from './upgrade.ts';

const OPEN = 1;
/** Bytes a frame adds to its payload, at most (a server frame's header). */
const FRAME_OVERHEAD = 10;

type BunSocket = Bun.ServerWebSocket<unknown>;

/**
 * Bun's own `backpressureLimit` for the sockets: above anything the broker's check lets pile up
 * (the limit, half of it more between two looks, one more message), so Bun never drops a message
 * for a socket the broker is not closing.
 */
export function bunBackpressureLimit(maxBufferedBytes: number, maxMessageSize: number): number {
  return 2 * maxBufferedBytes + maxMessageSize + 64 * 1024;
}

/** One open Bun socket as the broker sees it: a session and a receiver in one small object. */
export class BunSocketSession implements Session, Receiver {
  lastPublish = 0;
  lastActivity: number = clock.now;
  awaitingPong = false;
  ping: (() => void) | undefined = undefined;

  constructor(
    readonly socket: BunSocket,
    readonly broadcaster: BunTopicBroadcaster | undefined,
  ) {}

  get receiver(): Receiver {
    return this;
  }

  deliver(message: BrokerMessage, _topic?: string): void {
    this.lastActivity = clock.now;
    try {
      if (message.binary) this.socket.sendBinary(message.bytes);
      else this.socket.sendText(message.data as string);
    } catch {
      // The socket is closing; its close handler detaches it.
    }
  }

  bufferedAmount(): number {
    return this.socket.getBufferedAmount();
  }

  close(code: number, reason: string): void {
    try {
      this.socket.close(code, reason);
    } catch {
      this.terminate();
    }
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/**
 * A `?format=json` socket: every message as its JSON envelope, text made once per stream
 * position (or message) and shared. As a subscriber it joins the native topic `jsonTopic(topic)`,
 * on which the broadcaster publishes the envelopes, beside the raw topic's frames.
 */
export class BunJsonSocketSession extends BunSocketSession {
  override deliver(message: BrokerMessage, topic: string): void {
    this.#send(localJson(message, topic));
  }

  deliverStamped(message: StampedMessage): void {
    this.#send(message.prepared(STAMPED_JSON, stampedJson));
  }

  deliverGap(gap: StreamGap): void {
    this.#send(gapJson(gap));
  }

  deliverPosition(position: StartPosition): void {
    this.#send(positionJson(position));
  }

  #send(text: string): void {
    this.lastActivity = clock.now;
    try {
      this.socket.sendText(text);
    } catch {
      // The socket is closing; its close handler detaches it.
    }
  }
}

/**
 * The native topic of a topic's JSON subscribers. A control character cannot be in a broker
 * topic (topic.ts), so it never names a raw topic.
 */
export function jsonTopic(topic: string): string {
  return `\u0001json:${topic}`;
}

interface Touched {
  members: ReadonlySet<Receiver>;
  slowConsumers: SlowConsumerRule;
  /** Bytes published on the topic since its members were last looked at. */
  bytes: number;
}

/**
 * How often, at most, the members of a topic that was published on are looked at (their
 * backlog): often enough that a slow consumer is closed promptly, seldom enough that a topic
 * published hundreds of times a second costs no work per member per message.
 */
const LOOK_INTERVAL_MS = 10;

/** Native fan-out for the sockets of one `Bun.serve` server. */
export class BunTopicBroadcaster implements TopicBroadcaster {
  server: Bun.Server<unknown> | undefined;
  /** Topics published on since their members were last looked at. */
  readonly #touched = new Map<string, Touched>();
  #scheduled = false;
  readonly #lookAll = () => {
    this.#scheduled = false;
    for (const { members, slowConsumers } of this.#touched.values()) this.#look(members, slowConsumers);
    this.#touched.clear();
  };

  constructor(private readonly maxBufferedBytes: number) {}

  join(topic: string, receiver: Receiver): void {
    (receiver as BunSocketSession).socket.subscribe(receiver instanceof BunJsonSocketSession ? jsonTopic(topic) : topic);
  }

  leave(topic: string, receiver: Receiver): void {
    const socket = (receiver as BunSocketSession).socket;
    if (socket.readyState === OPEN) socket.unsubscribe(receiver instanceof BunJsonSocketSession ? jsonTopic(topic) : topic);
  }

  /** JSON subscribers: the envelope published once on the topic's JSON native topic. */
  broadcastStamped(topic: string, members: ReadonlySet<Receiver>, message: StampedMessage, slowConsumers: SlowConsumerRule): void {
    const text = message.prepared(STAMPED_JSON, stampedJson);
    const name = jsonTopic(topic);
    this.server!.publish(name, text);
    this.#touch(name, members, slowConsumers, text.length * 3 + FRAME_OVERHEAD);
  }

  broadcast(topic: string, members: ReadonlySet<Receiver>, message: BrokerMessage, slowConsumers: SlowConsumerRule): void {
    this.server!.publish(topic, message.binary ? (message.bytes as Uint8Array<ArrayBuffer>) : (message.data as string));
    // Text is counted at 3 bytes a character: an upper bound of its UTF-8, without encoding it.
    const size = (message.binary ? message.bytes.byteLength : (message.data as string).length * 3) + FRAME_OVERHEAD;
    this.#touch(topic, members, slowConsumers, size);
  }

  /** Schedules a look at the members of a native topic just published on (see above). */
  #touch(topic: string, members: ReadonlySet<Receiver>, slowConsumers: SlowConsumerRule, size: number): void {
    let touched = this.#touched.get(topic);
    if (!touched) {
      this.#touched.set(topic, (touched = { members, slowConsumers, bytes: 0 }));
      if (!this.#scheduled) {
        this.#scheduled = true;
        setTimeout(this.#lookAll, LOOK_INTERVAL_MS);
      }
    }
    // However fast a topic is published on, no member gets more than half the limit past it
    // between two looks.
    touched.bytes += size;
    if (touched.bytes * 2 > this.maxBufferedBytes) {
      touched.bytes = 0;
      this.#look(members, slowConsumers);
    }
  }

  /** The slow-consumer rule for every member, and their activity (frames went out to them). */
  #look(members: ReadonlySet<Receiver>, slowConsumers: SlowConsumerRule): void {
    const now = clock.now;
    for (const member of members) {
      (member as BunSocketSession).lastActivity = now;
      if (member.bufferedAmount() > this.maxBufferedBytes) slowConsumers.dropSlowConsumer(member);
    }
  }
}

export interface NativeFanout {
  /** The transport for `createBroker` (wrapped by `bunTransport` for pings). */
  readonly transport: SocketTransport;
  /** A new broadcaster for one server; give its handler to `Bun.serve`, then set `server`. */
  broadcasterFor<T>(handler: Bun.WebSocketHandler<T>): { broadcaster: BunTopicBroadcaster; handler: Bun.WebSocketHandler<T> };
}

export function nativeFanout(maxBufferedBytes: number): NativeFanout {
  return {
    transport: {
      openSession(ws: WSContext, options?: SessionOptions): Session {
        const socket = ws.raw as BunSocket;
        const broadcaster = ws instanceof BunBrokerContext ? ws.broadcaster : undefined;
        return options?.json ? new BunJsonSocketSession(socket, broadcaster) : new BunSocketSession(socket, broadcaster);
      },
    },
    broadcasterFor(handler) {
      const broadcaster = new BunTopicBroadcaster(maxBufferedBytes);
      return {
        broadcaster,
        handler: {
          ...handler,
          open(socket) {
            if (isBrokerSocket(socket)) openBrokerSocket(socket, broadcaster);
            else return handler.open?.(socket);
          },
        },
      };
    },
  };
}
