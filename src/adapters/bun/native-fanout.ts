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
 *   both sides, checked on Bun 1.4), so it is only a far-off backstop here. The broker's rule
 *   (close with 1013 and count: the core's `SlowConsumerRule`, handed over with each broadcast)
 *   is applied by reading members' `getBufferedAmount()`, but only when one of them could be
 *   past `maxBufferedBytes` (see `TopicBacklog`): a topic's healthy members cost no look per
 *   message, and at most half the limit more piles up than on Node.
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
  awaitingPong = false;
  ping: (() => void) | undefined = undefined;
  /** The native topic this socket subscribes to, while it does (set by the broadcaster). */
  backlog: TopicBacklog | undefined = undefined;
  #lastActivity: number = clock.now;

  constructor(
    readonly socket: BunSocket,
    readonly broadcaster: BunTopicBroadcaster | undefined,
  ) {}

  get receiver(): Receiver {
    return this;
  }

  /** Its own frames and pongs, or the last frame Bun sent it on its topic, whichever is later. */
  get lastActivity(): number {
    const published = this.backlog?.lastPublish ?? 0;
    return published > this.#lastActivity ? published : this.#lastActivity;
  }

  set lastActivity(now: number) {
    this.#lastActivity = now;
  }

  deliver(message: BrokerMessage, _topic?: string): void {
    this.lastActivity = clock.now;
    // Sent past its topic's count (a replay): its backlog is no longer known.
    this.backlog?.unknown();
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
    this.backlog?.unknown();
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

/**
 * What the broadcaster knows of one native topic's members' backlog, without asking Bun: every
 * member's unsent bytes are at most `maxSeen` (the largest found at the last look) plus `bytes`
 * (published on the topic since). A member socket subscribes to this topic only, so nothing
 * else adds to its backlog but the odd direct send (a replay, a JSON notice), which makes the
 * bound unknown until the next look. Members are looked at (`getBufferedAmount()`) only when the
 * bound passes the limit: on a topic whose members keep up that is once per `maxBufferedBytes`
 * published, where a look after every publish (within 10 ms) cost Bun 12% of its throughput
 * with 10,000 topics.
 */
export class TopicBacklog {
  maxSeen = 0;
  bytes = 0;
  /** When a frame was last published on the topic: activity for every member (`lastActivity`). */
  lastPublish = 0;
  /** A look is due (on the broadcaster's timer). */
  scheduled = false;
  slowConsumers: SlowConsumerRule | undefined = undefined;

  constructor(
    readonly members: ReadonlySet<Receiver>,
    private readonly maxBufferedBytes: number,
  ) {}

  /** A member got bytes past the topic's count: look at the next publish. */
  unknown(): void {
    this.maxSeen = this.maxBufferedBytes;
  }
}

/** One native topic's members as the core holds them, with their backlog bound beside them. */
class TopicMembers extends Set<Receiver> {
  readonly backlog: TopicBacklog;

  constructor(maxBufferedBytes: number) {
    super();
    this.backlog = new TopicBacklog(this, maxBufferedBytes);
  }
}

/**
 * How long after a publish that may have pushed a member past the limit its members are looked
 * at. Not at once: Bun writes a publish to the sockets at the end of the event-loop turn, so a
 * member's buffered amount shows it only then.
 */
const LOOK_DELAY_MS = 10;

/** Native fan-out for the sockets of one `Bun.serve` server. */
export class BunTopicBroadcaster implements TopicBroadcaster {
  server: Bun.Server<unknown> | undefined;
  /** Topics whose members are to be looked at on the timer. */
  #due: TopicBacklog[] = [];
  readonly #lookDue = () => {
    const due = this.#due;
    this.#due = [];
    for (const backlog of due) {
      backlog.scheduled = false;
      this.#look(backlog);
    }
  };

  constructor(private readonly maxBufferedBytes: number) {}

  createMembers(): Set<Receiver> {
    return new TopicMembers(this.maxBufferedBytes);
  }

  join(topic: string, receiver: Receiver, members: ReadonlySet<Receiver>): void {
    const session = receiver as BunSocketSession;
    session.socket.subscribe(receiver instanceof BunJsonSocketSession ? jsonTopic(topic) : topic);
    const backlog = (members as TopicMembers).backlog;
    // Whatever it was sent before it joined (a resume's replay) is not in the count.
    backlog.unknown();
    session.backlog = backlog;
  }

  leave(topic: string, receiver: Receiver): void {
    // Its backlog stays: the topic's last publish is its activity until it closes.
    const socket = (receiver as BunSocketSession).socket;
    if (socket.readyState === OPEN) socket.unsubscribe(receiver instanceof BunJsonSocketSession ? jsonTopic(topic) : topic);
  }

  /** JSON subscribers: the envelope published once on the topic's JSON native topic. */
  broadcastStamped(topic: string, members: ReadonlySet<Receiver>, message: StampedMessage, slowConsumers: SlowConsumerRule): void {
    const text = message.prepared(STAMPED_JSON, stampedJson);
    const name = jsonTopic(topic);
    this.server!.publish(name, text);
    this.#published(members, slowConsumers, text.length * 3 + FRAME_OVERHEAD);
  }

  broadcast(topic: string, members: ReadonlySet<Receiver>, message: BrokerMessage, slowConsumers: SlowConsumerRule): void {
    this.server!.publish(topic, message.binary ? (message.bytes as Uint8Array<ArrayBuffer>) : (message.data as string));
    // Text is counted at 3 bytes a character: an upper bound of its UTF-8, without encoding it.
    const size = (message.binary ? message.bytes.byteLength : (message.data as string).length * 3) + FRAME_OVERHEAD;
    this.#published(members, slowConsumers, size);
  }

  /** Counts a publish into its topic's bound, and looks at the members when they may be past the limit. */
  #published(members: ReadonlySet<Receiver>, slowConsumers: SlowConsumerRule, size: number): void {
    const backlog = (members as TopicMembers).backlog;
    backlog.lastPublish = clock.now;
    backlog.bytes += size;
    if (backlog.maxSeen + backlog.bytes <= this.maxBufferedBytes) return;
    backlog.slowConsumers = slowConsumers;
    // However fast a topic is published on, no member gets more than half the limit past it
    // before a look. This one sees the backlogs as of the last turn, so the timer's look
    // follows all the same.
    if (backlog.bytes * 2 > this.maxBufferedBytes) this.#look(backlog);
    if (backlog.scheduled) return;
    backlog.scheduled = true;
    if (this.#due.push(backlog) === 1) setTimeout(this.#lookDue, LOOK_DELAY_MS);
  }

  /** The slow-consumer rule for every member; the largest backlog left is the new bound. */
  #look(backlog: TopicBacklog): void {
    let maxSeen = 0;
    for (const member of backlog.members) {
      const buffered = member.bufferedAmount();
      if (buffered > this.maxBufferedBytes) backlog.slowConsumers!.dropSlowConsumer(member);
      else if (buffered > maxSeen) maxSeen = buffered;
    }
    backlog.maxSeen = maxSeen;
    backlog.bytes = 0;
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
