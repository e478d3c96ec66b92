/**
 * Hands one message to one receiver and enforces the slow-consumer rule right there: a receiver
 * whose unsent backlog passes `maxBufferedBytes` is closed with 1013 so it never holds anyone up
 * or grows the server's memory without bound.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver, SlowConsumerRule, TopicBroadcaster } from '../receiver.ts';
import type { StampedMessage, StreamPosition } from '../stamped.ts';
import type { Counters } from './counters.ts';

export const CLOSE_SLOW_CONSUMER = 1013;

export class Delivery implements SlowConsumerRule {
  /** Receivers already dropped, whose close has not been seen yet: skip them, count them once. */
  readonly #dropped = new WeakSet<Receiver>();
  /**
   * Resuming subscribers whose replay is not in yet: what reaches them meanwhile waits here, in
   * order, with its byte count (see `hold`).
   */
  readonly #held = new Map<Receiver, { messages: StampedMessage[]; bytes: number }>();
  /** Resumed subscribers that may still be sent live copies of what their replay had (see `seam`). */
  readonly #seams = new Map<Receiver, StreamPosition>();

  constructor(
    private readonly counters: Counters,
    private readonly maxBufferedBytes: number,
    /** Detaches a dropped receiver from every registry at once (not when its close event comes). */
    private readonly detach: (receiver: Receiver) => void,
    /** A receiver's seam (see `seam`) is closed: the first live message past it went out. */
    private readonly seamClosed: (receiver: Receiver) => void = () => {},
  ) {}

  /** Delivers and returns 1, or returns 0 if the receiver is (now) dropped as a slow consumer. */
  deliver(receiver: Receiver, message: BrokerMessage, topic: string): number {
    if (this.#dropped.has(receiver)) return 0;
    if (receiver.bufferedAmount() > this.maxBufferedBytes) {
      this.dropSlowConsumer(receiver);
      return 0;
    }
    receiver.deliver(message, topic);
    this.counters.messagesOut++;
    if (receiver.bufferedAmount() > this.maxBufferedBytes) this.dropSlowConsumer(receiver);
    return 1;
  }

  /**
   * `deliver` for a receiver that wants ids (Receiver.deliverStamped). `replay`: the message is
   * part of its replay (resume.ts), which goes out past the hold.
   */
  deliverStamped(receiver: Receiver, message: StampedMessage, replay = false): number {
    if (this.#dropped.has(receiver)) return 0;
    if (this.#held.size > 0 && !replay) {
      const held = this.#held.get(receiver);
      if (held) {
        held.messages.push(message);
        // A replay that takes long while the topic is busy must not pile up more than a backlog.
        if ((held.bytes += message.message.byteLength) > this.maxBufferedBytes) this.dropSlowConsumer(receiver);
        return 0;
      }
    }
    if (this.#seams.size > 0) {
      const seam = this.#seams.get(receiver);
      if (seam) {
        if (message.epoch === seam.epoch && message.offset <= seam.offset) return 0;
        this.#seams.delete(receiver);
        this.seamClosed(receiver);
      }
    }
    if (receiver.bufferedAmount() > this.maxBufferedBytes) {
      this.dropSlowConsumer(receiver);
      return 0;
    }
    receiver.deliverStamped!(message);
    this.counters.messagesOut++;
    if (receiver.bufferedAmount() > this.maxBufferedBytes) this.dropSlowConsumer(receiver);
    return 1;
  }

  /**
   * From now on, what is delivered to `receiver` with ids waits until `release` (a resuming
   * subscriber, attached before its replay is read so nothing falls between the two).
   */
  hold(receiver: Receiver): void {
    this.#held.set(receiver, { messages: [], bytes: 0 });
  }

  /**
   * After a replay read asynchronously (from Redis): a message the replay had may still arrive
   * live, its copy having been on its way on another connection when the replay was read. Until
   * the first message past `last` arrives, such copies are skipped; live messages arrive in
   * stream order, so none can follow that one.
   */
  seam(receiver: Receiver, last: StreamPosition): void {
    this.#seams.set(receiver, last);
  }

  /** Forgets a receiver's hold and seam (it is detached). */
  forget(receiver: Receiver): void {
    this.#held.delete(receiver);
    this.#seams.delete(receiver);
  }

  /** Ends `hold`; returns what waited, oldest first (nothing if it was dropped meanwhile). */
  release(receiver: Receiver): StampedMessage[] {
    const held = this.#held.get(receiver);
    this.#held.delete(receiver);
    return held?.messages ?? [];
  }

  /**
   * Hands the message to a broadcaster for all its members on `topic` at once; returns how many
   * that is. Their slow-consumer rule is the broadcaster's to apply (see TopicBroadcaster).
   */
  broadcast(broadcaster: TopicBroadcaster, topic: string, members: ReadonlySet<Receiver>, message: BrokerMessage): number {
    broadcaster.broadcast(topic, members, message, this);
    this.counters.messagesOut += members.size;
    return members.size;
  }

  /** `broadcast` for members that want ids. */
  broadcastStamped(broadcaster: TopicBroadcaster, topic: string, members: ReadonlySet<Receiver>, message: StampedMessage): number {
    broadcaster.broadcastStamped!(topic, members, message, this);
    this.counters.messagesOut += members.size;
    return members.size;
  }

  /**
   * Forgets an earlier drop: an in-process subscriber object dropped once may be added again
   * (sockets never are; they attach once, at open).
   */
  readmit(receiver: Receiver): void {
    this.#dropped.delete(receiver);
  }

  dropSlowConsumer(receiver: Receiver): void {
    if (this.#dropped.has(receiver)) return;
    this.#dropped.add(receiver);
    this.forget(receiver);
    this.counters.slowConsumerDisconnects++;
    this.detach(receiver);
    receiver.close(CLOSE_SLOW_CONSUMER, 'slow consumer');
  }
}
