/**
 * Pub/sub with the topic hierarchy: receivers subscribe to one topic and get what is published
 * to it or any descendant. Publishing walks the publish topic's ancestors and looks each up in
 * one map, so its cost is the topic's depth whatever the number of topics (as NATS's sublist).
 */
import { ancestors } from '../topic.ts';
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { Delivery } from './delivery.ts';

let publishSequence = 0;

export class Subscriptions {
  readonly #byTopic = new Map<string, Set<Receiver>>();

  constructor(private readonly delivery: Delivery) {}

  /** Returns false if the receiver was already subscribed to this topic. */
  add(topic: string, receiver: Receiver): boolean {
    let receivers = this.#byTopic.get(topic);
    if (!receivers) this.#byTopic.set(topic, (receivers = new Set()));
    if (receivers.has(receiver)) return false;
    receivers.add(receiver);
    return true;
  }

  /** Returns false if the receiver was not subscribed to this topic. */
  remove(topic: string, receiver: Receiver): boolean {
    const receivers = this.#byTopic.get(topic);
    if (!receivers?.delete(receiver)) return false;
    if (receivers.size === 0) this.#byTopic.delete(topic);
    return true;
  }

  /** Local receivers of `topic` or any of its ancestors, summed. */
  countFor(topicAncestors: readonly string[]): number {
    let count = 0;
    for (const name of topicAncestors) count += this.#byTopic.get(name)?.size ?? 0;
    return count;
  }

  has(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  /** Delivers to the subscribers of each ancestor; returns how many receivers got it. */
  publish(topicAncestors: readonly string[], message: BrokerMessage): number {
    const sequence = ++publishSequence;
    let delivered = 0;
    for (const name of topicAncestors) {
      const receivers = this.#byTopic.get(name);
      if (!receivers) continue;
      for (const receiver of receivers) {
        // A receiver subscribed under two ancestors (possible through the API) gets it once.
        if (receiver.lastPublish === sequence) continue;
        receiver.lastPublish = sequence;
        delivered += this.delivery.deliver(receiver, message);
      }
    }
    return delivered;
  }

  topicNames(): IterableIterator<string> {
    return this.#byTopic.keys();
  }

  get topicCount(): number {
    return this.#byTopic.size;
  }
}

export { ancestors };
