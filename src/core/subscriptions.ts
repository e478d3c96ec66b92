/**
 * Pub/sub with the topic hierarchy: receivers subscribe to one topic and get what is published
 * to it or any descendant. Publishing walks the publish topic's ancestors and looks each up in
 * one map, so its cost is the topic's depth whatever the number of topics (as NATS's sublist).
 *
 * Receivers with a `broadcaster` (sockets whose runtime fans out natively) are kept apart, per
 * broadcaster: a publish reaches all of them on a topic with one `broadcast` call.
 */
import { ancestors } from '../topic.ts';
import type { BrokerMessage } from '../message.ts';
import type { Receiver, TopicBroadcaster } from '../receiver.ts';
import type { Delivery } from './delivery.ts';

let publishSequence = 0;

/** One topic's subscribers: delivered one by one, and reached through broadcasters. */
class TopicSubscribers {
  readonly each = new Set<Receiver>();
  groups: Map<TopicBroadcaster, Set<Receiver>> | undefined;
  size = 0;

  has(receiver: Receiver): boolean {
    const broadcaster = receiver.broadcaster;
    return broadcaster ? (this.groups?.get(broadcaster)?.has(receiver) ?? false) : this.each.has(receiver);
  }
}

export class Subscriptions {
  readonly #byTopic = new Map<string, TopicSubscribers>();

  constructor(private readonly delivery: Delivery) {}

  /** Returns false if the receiver was already subscribed to this topic. */
  add(topic: string, receiver: Receiver): boolean {
    let entry = this.#byTopic.get(topic);
    if (!entry) this.#byTopic.set(topic, (entry = new TopicSubscribers()));
    if (entry.has(receiver)) return false;
    const broadcaster = receiver.broadcaster;
    if (broadcaster) {
      const groups = (entry.groups ??= new Map());
      let members = groups.get(broadcaster);
      if (!members) groups.set(broadcaster, (members = new Set()));
      members.add(receiver);
      broadcaster.join(topic, receiver);
    } else {
      entry.each.add(receiver);
    }
    entry.size++;
    return true;
  }

  /** Returns false if the receiver was not subscribed to this topic. */
  remove(topic: string, receiver: Receiver): boolean {
    const entry = this.#byTopic.get(topic);
    if (!entry) return false;
    const broadcaster = receiver.broadcaster;
    if (broadcaster) {
      const members = entry.groups?.get(broadcaster);
      if (!members?.delete(receiver)) return false;
      if (members.size === 0) entry.groups!.delete(broadcaster);
      broadcaster.leave(topic, receiver);
    } else if (!entry.each.delete(receiver)) {
      return false;
    }
    if (--entry.size === 0) this.#byTopic.delete(topic);
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
      const entry = this.#byTopic.get(name);
      if (!entry) continue;
      for (const receiver of entry.each) {
        // A receiver subscribed under two ancestors (possible through the API) gets it once.
        if (receiver.lastPublish === sequence) continue;
        receiver.lastPublish = sequence;
        delivered += this.delivery.deliver(receiver, message);
      }
      if (entry.groups) {
        for (const [broadcaster, members] of entry.groups) delivered += this.delivery.broadcast(broadcaster, name, members, message);
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
