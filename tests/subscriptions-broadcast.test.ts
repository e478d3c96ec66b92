/**
 * Receivers with a `broadcaster` (src/receiver.ts `TopicBroadcaster`, used for Bun's native
 * pub/sub): the core reaches them with one `broadcast` per topic, beside receivers it delivers to
 * one by one, and keeps every count as if each had been delivered to. The broadcaster here is an
 * in-process one that hands each message to its members, as Bun's `server.publish` does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import type { BrokerMessage, MessageData } from '../src/message.ts';
import type { Receiver, SlowConsumerRule, TopicBroadcaster } from '../src/receiver.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1000, pushQueueLimit: 3 };

class Member implements Receiver {
  readonly got: MessageData[] = [];
  closedWith: number | undefined;
  lastPublish?: number;
  backlog = 0;
  constructor(readonly broadcaster: InProcessBroadcaster | undefined) {}
  deliver(message: BrokerMessage): void {
    this.got.push(message.data);
  }
  bufferedAmount(): number {
    return this.backlog;
  }
  close(code: number): void {
    this.closedWith ??= code;
  }
}

/** Native subscriptions kept in a map, a broadcast handed to each native member. */
class InProcessBroadcaster implements TopicBroadcaster {
  readonly native = new Map<string, Set<Member>>();
  broadcasts: string[] = [];
  /** The slow-consumer rule the core handed over with the last broadcast. */
  rule: SlowConsumerRule | undefined;
  join(topic: string, receiver: Receiver): void {
    if (!this.native.has(topic)) this.native.set(topic, new Set());
    this.native.get(topic)!.add(receiver as Member);
  }
  leave(topic: string, receiver: Receiver): void {
    this.native.get(topic)?.delete(receiver as Member);
    if (this.native.get(topic)?.size === 0) this.native.delete(topic);
  }
  broadcast(topic: string, members: ReadonlySet<Receiver>, message: BrokerMessage, slowConsumers: SlowConsumerRule): void {
    this.rule = slowConsumers;
    assert.deepEqual([...members].sort(), [...(this.native.get(topic) ?? [])].sort(), 'the core and the runtime agree on who subscribes');
    this.broadcasts.push(topic);
    for (const member of this.native.get(topic) ?? []) member.deliver(message);
  }
}

describe('subscribers reached through a broadcaster', () => {
  it('get each message once, beside one-by-one receivers, with counts as if delivered one by one', () => {
    const core = new BrokerCore(LIMITS);
    const native = new InProcessBroadcaster();
    const top = new Member(native);
    const middle = new Member(native);
    const middleToo = new Member(native);
    const plain = new Member(undefined);
    core.addTopicSubscriber('a', top);
    core.addTopicSubscriber('a/b', middle);
    core.addTopicSubscriber('a/b', middleToo);
    core.addTopicSubscriber('a/b', plain);

    assert.equal(core.publishTopicMessage('a/b/c', 'one'), 4);
    assert.equal(core.publishTopicMessage('a', 'two'), 1);
    assert.deepEqual(top.got, ['one', 'two']);
    assert.deepEqual(middle.got, ['one']);
    assert.deepEqual(middleToo.got, ['one']);
    assert.deepEqual(plain.got, ['one']);
    // One broadcast per topic, however many members it has.
    assert.deepEqual(native.broadcasts, ['a/b', 'a', 'a']);
    const stats = core.stats();
    assert.equal(stats.messagesOut, 5);
    assert.equal(stats.subscribers, 4);
    assert.equal(stats.topics, 2);
  });

  it('leave the runtime subscription when removed or detached, and the counters return to 0', () => {
    const core = new BrokerCore(LIMITS);
    const native = new InProcessBroadcaster();
    const first = new Member(native);
    const second = new Member(native);
    core.addTopicSubscriber('t', first);
    core.addTopicSubscriber('t', second);
    assert.equal(core.removeTopicSubscriber('t', first), true);
    assert.equal(core.removeTopicSubscriber('t', first), false);
    assert.deepEqual([...native.native.get('t')!], [second]);
    assert.equal(core.publishTopicMessage('t', 'after'), 1);
    assert.deepEqual(first.got, []);
    core.detach(second);
    assert.equal(native.native.size, 0);
    assert.equal(core.publishTopicMessage('t', 'nobody'), 0);
    const stats = core.stats();
    assert.equal(stats.subscribers, 0);
    assert.equal(stats.topics, 0);
  });

  it('a member dropped as a slow consumer is counted, closed with 1013 and leaves the runtime subscription', () => {
    const core = new BrokerCore(LIMITS);
    const native = new InProcessBroadcaster();
    const slow = new Member(native);
    const fine = new Member(native);
    core.addTopicSubscriber('t', slow);
    core.addTopicSubscriber('t', fine);
    assert.equal(core.publishTopicMessage('t', 'before'), 2);
    slow.backlog = LIMITS.maxBufferedBytes + 1;
    // What the Bun transport does after a turn's broadcasts: the rule that came with them, for
    // each member past the limit.
    for (const member of [slow, fine]) if (member.bufferedAmount() > LIMITS.maxBufferedBytes) native.rule!.dropSlowConsumer(member);
    assert.equal(slow.closedWith, 1013);
    assert.equal(core.stats().slowConsumerDisconnects, 1);
    assert.deepEqual([...native.native.get('t')!], [fine]);
    assert.equal(core.publishTopicMessage('t', 'on'), 1);
    assert.deepEqual(fine.got, ['before', 'on']);
  });
});
