/**
 * Pub/sub with the topic hierarchy: receivers subscribe to one topic and get what is published
 * to it or any descendant. Publishing walks the publish topic's ancestors and looks each up in
 * one map, so its cost is the topic's depth whatever the number of topics (as NATS's sublist).
 *
 * Receivers with a `broadcaster` (sockets whose runtime fans out natively) are kept apart, per
 * broadcaster: a publish reaches all of them on a topic with one `broadcast` call.
 *
 * Receivers that want ids (`deliverStamped`) are kept apart too, so the raw path does not look at
 * them: they get each message stamped with its position in their topic's stream (stamped.ts).
 * The positions come from the engine when it keeps history; otherwise each topic that has
 * subscribers counts its own, which lasts as long as it has subscribers (an epoch each time).
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver, TopicBroadcaster } from '../receiver.ts';
import { formatStreamId, parseStreamId, StampedMessage, type StreamPosition } from '../stamped.ts';
import type { Delivery } from './delivery.ts';
import type { Recovery } from './engine.ts';
import { newEpoch } from './epochs.ts';
import type { TopicEvents } from './topic-count.ts';

let publishSequence = 0;

/** The members of a topic one broadcaster reaches. */
interface Group {
  readonly broadcaster: TopicBroadcaster;
  readonly members: Set<Receiver>;
}

function groupOf(groups: Group[] | undefined, broadcaster: TopicBroadcaster): Group | undefined {
  if (groups) for (let i = 0; i < groups.length; i++) if (groups[i]!.broadcaster === broadcaster) return groups[i];
  return undefined;
}

/** One topic's subscribers: delivered one by one, and reached through broadcasters. */
class TopicSubscribers {
  readonly each: Set<Receiver> = new Set();
  /** One group per broadcaster (one per server a runtime listens with): a short list. */
  groups: Group[] | undefined = undefined;
  /** Receivers that want ids, one by one and per broadcaster. */
  stamped: Set<Receiver> | undefined = undefined;
  stampedGroups: Group[] | undefined = undefined;
  size = 0;
  /** The topic's own stream positions, used when the engine gives none (no history). */
  offset = 0;
  epoch: string | undefined = undefined;

  has(receiver: Receiver): boolean {
    const broadcaster = receiver.broadcaster;
    if (receiver.deliverStamped === undefined) {
      return broadcaster ? (groupOf(this.groups, broadcaster)?.members.has(receiver) ?? false) : this.each.has(receiver);
    }
    if (this.stamped?.has(receiver)) return true;
    return broadcaster ? (groupOf(this.stampedGroups, broadcaster)?.members.has(receiver) ?? false) : false;
  }

  /** The message at this topic's current position (no history: the topic counts itself). */
  stamp(message: BrokerMessage, topic: string): StampedMessage {
    return new StampedMessage(message, topic, (this.epoch ??= newEpoch()), this.offset, Date.now());
  }
}

/**
 * A topic and its ancestors (`ancestors`, the topic first). A path that `remembers` also keeps
 * the subscribers `publish` last found for each: a publisher socket holds one, so that its
 * frames reach their subscribers without a map lookup per ancestor (each a hash and a probe into
 * a map of every topic: with 10,000 topics the lookups were 6% of the Bun broker's JavaScript
 * samples). What it found holds while no topic has been created or removed since
 * (`generation`). Paths that outlive their publisher (the core's cache, for POSTs) do not
 * remember: they would keep the subscriber sets of topics long gone.
 */
export class PublishPath {
  /** Per ancestor, its subscribers when `generation` was current (undefined: none). */
  entries: readonly (TopicSubscribers | undefined)[] = [];
  generation: number = -1;

  constructor(
    readonly topic: string,
    readonly ancestors: readonly string[],
    readonly remembers: boolean = false,
  ) {}
}

export class Subscriptions {
  readonly #byTopic = new Map<string, TopicSubscribers>();
  /** Grows whenever a topic gets its first subscriber or loses its last (see PublishPath). */
  #generation = 0;

  constructor(
    private readonly delivery: Delivery,
    private readonly topics?: TopicEvents,
  ) {}

  /**
   * Returns false if the receiver was already subscribed to this topic. `individually`: not
   * through its broadcaster even if it has one (a resuming subscriber, until `promote`).
   */
  add(topic: string, receiver: Receiver, individually = false): boolean {
    let entry = this.#byTopic.get(topic);
    if (!entry) {
      this.#byTopic.set(topic, (entry = new TopicSubscribers()));
      this.#generation++;
      this.topics?.created(topic);
    }
    if (entry.has(receiver)) return false;
    const stamped = receiver.deliverStamped !== undefined;
    const broadcaster = individually ? undefined : receiver.broadcaster;
    if (broadcaster) {
      const groups = stamped ? (entry.stampedGroups ??= []) : (entry.groups ??= []);
      let group = groupOf(groups, broadcaster);
      if (!group) groups.push((group = { broadcaster, members: broadcaster.createMembers?.() ?? new Set() }));
      group.members.add(receiver);
      broadcaster.join(topic, receiver, group.members);
    } else if (stamped) {
      (entry.stamped ??= new Set()).add(receiver);
    } else {
      entry.each.add(receiver);
    }
    entry.size++;
    return true;
  }

  /** A receiver added `individually` joins its broadcaster now (it has caught up). */
  promote(topic: string, receiver: Receiver): void {
    const entry = this.#byTopic.get(topic);
    if (!receiver.broadcaster || !entry?.stamped?.delete(receiver)) return;
    if (entry.stamped.size === 0) entry.stamped = undefined;
    entry.size--;
    this.add(topic, receiver);
  }

  /** Returns false if the receiver was not subscribed to this topic. */
  remove(topic: string, receiver: Receiver): boolean {
    const entry = this.#byTopic.get(topic);
    if (!entry) return false;
    const stamped = receiver.deliverStamped !== undefined;
    const broadcaster = receiver.broadcaster;
    if (stamped && entry.stamped?.delete(receiver)) {
      // Held individually (it wants ids, or is still resuming). None left: publishes skip them.
      if (entry.stamped.size === 0) entry.stamped = undefined;
    } else if (broadcaster) {
      const groups = stamped ? entry.stampedGroups : entry.groups;
      const group = groupOf(groups, broadcaster);
      if (!group?.members.delete(receiver)) return false;
      if (group.members.size === 0) {
        groups!.splice(groups!.indexOf(group), 1);
        if (groups!.length === 0) {
          if (stamped) entry.stampedGroups = undefined;
          else entry.groups = undefined;
        }
      }
      broadcaster.leave(topic, receiver);
    } else if (stamped || !entry.each.delete(receiver)) {
      return false;
    }
    if (--entry.size === 0) {
      this.#byTopic.delete(topic);
      this.#generation++;
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
   * Delivers a message published on `path.topic` to the subscribers of each of its ancestors
   * (`path.ancestors`, the topic first); returns how many receivers got it. `stamps`: its
   * position in each ancestor's stream, from an engine that keeps history.
   */
  publish(path: PublishPath, message: BrokerMessage, stamps?: readonly StampedMessage[]): number {
    const entries = path.generation === this.#generation ? path.entries : this.#lookUp(path);
    const topic = path.topic;
    const sequence = ++publishSequence;
    let delivered = 0;
    for (let i = 0; i < entries.length; i++) {
      // An entry emptied by a delivery earlier in this loop (a slow consumer dropped) has no
      // one left to deliver to: visiting it does nothing.
      const entry = entries[i];
      if (!entry) continue;
      const name = path.ancestors[i]!;
      if (stamps === undefined) entry.offset++;
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
        for (let j = 0; j < groups.length; j++) delivered += this.delivery.broadcast(groups[j]!.broadcaster, name, groups[j]!.members, message);
      }
      if (entry.stamped !== undefined || entry.stampedGroups !== undefined) {
        delivered += this.#deliverStamped(entry, name, stamps?.[i] ?? entry.stamp(message, topic), sequence);
      }
    }
    return delivered;
  }

  #lookUp(path: PublishPath): readonly (TopicSubscribers | undefined)[] {
    const entries = path.ancestors.map((name) => this.#byTopic.get(name));
    if (path.remembers) {
      path.entries = entries;
      path.generation = this.#generation;
    }
    return entries;
  }

  /**
   * Delivers one position of the stream of `stream` (relayed by an engine that keeps history) to
   * the subscribers of exactly that topic. `samePublish`: the previous call was the same publish
   * on another ancestor, so a receiver that had it then is skipped.
   */
  deliverStream(stream: string, stamped: StampedMessage, samePublish: boolean): number {
    const sequence = samePublish ? publishSequence : ++publishSequence;
    const entry = this.#byTopic.get(stream);
    if (!entry) return 0;
    let delivered = 0;
    for (const receiver of entry.each) {
      if (receiver.lastPublish === sequence) continue;
      receiver.lastPublish = sequence;
      delivered += this.delivery.deliver(receiver, stamped.message, stamped.topic);
    }
    if (entry.groups) {
      for (const group of entry.groups) delivered += this.delivery.broadcast(group.broadcaster, stream, group.members, stamped.message);
    }
    return delivered + this.#deliverStamped(entry, stream, stamped, sequence);
  }

  #deliverStamped(entry: TopicSubscribers, name: string, stamped: StampedMessage, sequence: number): number {
    let delivered = 0;
    if (entry.stamped) {
      for (const receiver of entry.stamped) {
        if (receiver.lastPublish === sequence) continue;
        receiver.lastPublish = sequence;
        delivered += this.delivery.deliverStamped(receiver, stamped);
      }
    }
    if (entry.stampedGroups) {
      for (const group of entry.stampedGroups) delivered += this.delivery.broadcastStamped(group.broadcaster, name, group.members, stamped);
    }
    return delivered;
  }

  /**
   * Where the topic's own count stands (no history, or an engine that could not say): the start
   * position of a subscriber just attached to it, whose next message is at the next offset. The
   * count lasts while the topic has subscribers, so a resume from it after the last one left
   * hears of an `epoch` gap. Undefined when the topic has no subscriber.
   */
  position(topic: string): StreamPosition | undefined {
    const entry = this.#byTopic.get(topic);
    if (!entry) return undefined;
    return { epoch: (entry.epoch ??= newEpoch()), offset: entry.offset };
  }

  /**
   * A resume when the engine keeps no history: nothing to replay, but the topic's own positions
   * tell whether anything was missed and how much (while the topic has had subscribers all along).
   */
  recover(topic: string, since: string): Recovery {
    const position = parseStreamId(since);
    const entry = this.#byTopic.get(topic);
    if (!position || entry?.epoch === undefined || position.epoch !== entry.epoch || position.offset > entry.offset) {
      return { entries: [], gap: { topic, since, reason: 'epoch' } };
    }
    if (position.offset === entry.offset) return { entries: [] };
    const until = formatStreamId(entry.epoch, entry.offset);
    return { entries: [], gap: { topic, since, reason: 'off', missed: entry.offset - position.offset, until } };
  }
}
