/**
 * Pub/sub with the topic hierarchy: receivers subscribe to one topic and get what is published
 * to it or any descendant. Publishing walks the publish topic's ancestors and looks each up in
 * one map, so its cost is the topic's depth whatever the number of topics (as NATS's sublist).
 *
 * Receivers with a `broadcaster` (sockets whose runtime fans out natively) are kept apart, per
 * broadcaster: a publish reaches all of them on a topic with one `broadcast` call.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver, TopicBroadcaster } from '../receiver.ts';
import type { Delivery } from './delivery.ts';
import type { TopicEvents } from './topic-count.ts';

let publishSequence = 0;

/** The members of a topic one broadcaster reaches. */
interface Group {
  readonly broadcaster: TopicBroadcaster;
  readonly members: Set<Receiver>;
}

/** One topic's subscribers: delivered one by one, and reached through broadcasters. */
class TopicSubscribers {
  readonly each = new Set<Receiver>();
  /** One group per broadcaster (one per server a runtime listens with): a short list. */
  groups: Group[] | undefined = undefined;
  size = 0;

  group(broadcaster: TopicBroadcaster): Group | undefined {
    const groups = this.groups;
    if (groups) for (let i = 0; i < groups.length; i++) if (groups[i]!.broadcaster === broadcaster) return groups[i];
    return undefined;
  }

  has(receiver: Receiver): boolean {
    const broadcaster = receiver.broadcaster;
    return broadcaster ? (this.group(broadcaster)?.members.has(receiver) ?? false) : this.each.has(receiver);
  }
}

export class Subscriptions {
  readonly #byTopic = new Map<string, TopicSubscribers>();

  constructor(
    private readonly delivery: Delivery,
    private readonly topics?: TopicEvents,
  ) {}

  /** Returns false if the receiver was already subscribed to this topic. */
  add(topic: string, receiver: Receiver): boolean {
    let entry = this.#byTopic.get(topic);
    if (!entry) {
      this.#byTopic.set(topic, (entry = new TopicSubscribers()));
      this.topics?.created(topic);
    }
    if (entry.has(receiver)) return false;
    const broadcaster = receiver.broadcaster;
    if (broadcaster) {
      let group = entry.group(broadcaster);
      if (!group) (entry.groups ??= []).push((group = { broadcaster, members: new Set() }));
      group.members.add(receiver);
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
      const group = entry.group(broadcaster);
      if (!group?.members.delete(receiver)) return false;
      if (group.members.size === 0) {
        entry.groups!.splice(entry.groups!.indexOf(group), 1);
        if (entry.groups!.length === 0) entry.groups = undefined;
      }
      broadcaster.leave(topic, receiver);
    } else if (!entry.each.delete(receiver)) {
      return false;
    }
    if (--entry.size === 0) {
      this.#byTopic.delete(topic);
      this.topics?.deleted(topic);
    }
    return true;
  }

  /** Local subscribers of exactly `topic`. */
  sizeOf(topic: string): number {
    return this.#byTopic.get(topic)?.size ?? 0;
  }

  has(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  /**
   * Delivers a message published on `topic` to the subscribers of each of its ancestors
   * (`topicAncestors`, `topic` first); returns how many receivers got it.
   */
  publish(topic: string, topicAncestors: readonly string[], message: BrokerMessage): number {
    const sequence = ++publishSequence;
    let delivered = 0;
    for (const name of topicAncestors) {
      const entry = this.#byTopic.get(name);
      if (!entry) continue;
      if (entry.each.size > 0) {
        for (const receiver of entry.each) {
          // A receiver subscribed under two ancestors (possible through the API) gets it once.
          if (receiver.lastPublish === sequence) continue;
          receiver.lastPublish = sequence;
          delivered += this.delivery.deliver(receiver, message, topic);
        }
      }
      const groups = entry.groups;
      if (groups) {
        for (let i = 0; i < groups.length; i++) delivered += this.delivery.broadcast(groups[i]!.broadcaster, name, groups[i]!.members, message);
      }
    }
    return delivered;
  }
}
