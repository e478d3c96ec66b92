/**
 * Push/pull: each message goes to exactly one puller of exactly its topic, round robin in
 * connect order (the cursor rules Mercury's tests pin, see PROTOCOL.md). While no puller is
 * connected messages wait in a bounded per-topic queue; a full queue rejects, never drops.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { Delivery } from './delivery.ts';

interface PushTopic {
  pullers: Receiver[];
  cursor: number;
  queue: BrokerMessage[];
  /** Index of the first message still waiting (shifting a big array per message is O(n)). */
  head: number;
}

/** `unavailable`: the cluster engine lost the message's fate (Redis went away mid-push). */
export type PushResult = 'delivered' | 'queued' | 'full' | 'unavailable';

export class PushPull {
  readonly #topics = new Map<string, PushTopic>();
  #queued = 0;

  constructor(
    private readonly delivery: Delivery,
    private readonly queueLimit: number,
  ) {}

  get queued(): number {
    return this.#queued;
  }

  push(topic: string, message: BrokerMessage): PushResult {
    let entry = this.#topics.get(topic);
    if (!entry) {
      if (this.queueLimit === 0) return 'full';
      entry = { pullers: [], cursor: 0, queue: [], head: 0 };
      this.#topics.set(topic, entry);
    }
    while (entry.pullers.length > 0) {
      if (this.#deliverToNext(entry, topic, message)) return 'delivered';
    }
    if (entry.queue.length - entry.head >= this.queueLimit) {
      this.#forgetIfEmpty(topic, entry);
      return 'full';
    }
    entry.queue.push(message);
    this.#queued++;
    return 'queued';
  }

  addPuller(topic: string, puller: Receiver): void {
    let entry = this.#topics.get(topic);
    if (!entry) this.#topics.set(topic, (entry = { pullers: [], cursor: 0, queue: [], head: 0 }));
    entry.pullers.push(puller);
    this.#drain(topic, entry);
  }

  removePuller(topic: string, puller: Receiver): boolean {
    const entry = this.#topics.get(topic);
    if (!entry) return false;
    const index = entry.pullers.indexOf(puller);
    if (index === -1) return false;
    entry.pullers.splice(index, 1);
    // Mercury: the list closes up; a cursor past the end wraps to 0.
    if (entry.cursor >= entry.pullers.length) entry.cursor = 0;
    this.#forgetIfEmpty(topic, entry);
    return true;
  }

  topicNames(): IterableIterator<string> {
    return this.#topics.keys();
  }

  /**
   * Removes and returns the waiting messages of every topic that has no puller, oldest first
   * (a cluster engine moves what queued here while Redis was away to the shared queue).
   */
  takeWaiting(): Array<[topic: string, messages: BrokerMessage[]]> {
    const taken: Array<[string, BrokerMessage[]]> = [];
    for (const [topic, entry] of this.#topics) {
      if (entry.pullers.length > 0 || entry.head === entry.queue.length) continue;
      const messages = entry.queue.slice(entry.head);
      this.#queued -= messages.length;
      entry.queue = [];
      entry.head = 0;
      this.#topics.delete(topic);
      taken.push([topic, messages]);
    }
    return taken;
  }

  /** Returns true if delivered; false if the puller at the cursor was a slow consumer (removed). */
  #deliverToNext(entry: PushTopic, topic: string, message: BrokerMessage): boolean {
    const puller = entry.pullers[entry.cursor]!;
    entry.cursor = (entry.cursor + 1) % entry.pullers.length;
    // A slow puller is removed by the delivery's callback before this returns 0.
    return this.delivery.deliver(puller, message, topic) === 1;
  }

  #drain(topic: string, entry: PushTopic): void {
    while (entry.head < entry.queue.length && entry.pullers.length > 0) {
      const message = entry.queue[entry.head]!;
      if (!this.#deliverToNext(entry, topic, message)) continue;
      entry.queue[entry.head] = undefined as unknown as BrokerMessage;
      entry.head++;
      this.#queued--;
    }
    if (entry.head === entry.queue.length) {
      entry.queue = [];
      entry.head = 0;
    } else if (entry.head > 1024 && entry.head * 2 > entry.queue.length) {
      entry.queue = entry.queue.slice(entry.head);
      entry.head = 0;
    }
    this.#forgetIfEmpty(topic, entry);
  }

  #forgetIfEmpty(topic: string, entry: PushTopic): void {
    if (entry.pullers.length === 0 && entry.head === entry.queue.length) this.#topics.delete(topic);
  }
}
