/**
 * A publisher socket keeps its topic's publish path (BrokerCore.publishPath): the subscribers
 * of the topic and of each ancestor, found once and reused while no topic has been created or
 * removed. These tests hold one path across subscribes and unsubscribes that create and remove
 * topics, and check that every publish on it reaches exactly who is subscribed at that moment.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import { BrokerMessage, type MessageData } from '../src/message.ts';
import type { Receiver } from '../src/receiver.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1000, pushQueueLimit: 3 };

class Recorder implements Receiver {
  readonly got: MessageData[] = [];
  lastPublish?: number;
  closedWith: number | undefined;
  constructor(public backlog = 0) {}
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

describe('publish path held by a publisher', () => {
  it('follows topics created and removed after it was taken', () => {
    const core = new BrokerCore(LIMITS);
    const path = core.publishPath('wong/amy');
    const send = (text: string) => core.publishOnPath(path, new BrokerMessage(text));
    assert.equal(send('nobody yet'), 0);

    const parent = new Recorder();
    core.addTopicSubscriber('wong', parent);
    assert.equal(send('to the parent'), 1, 'a topic created after the path was taken is reached');

    const exact = new Recorder();
    core.addTopicSubscriber('wong/amy', exact);
    assert.equal(send('to both'), 2);

    core.removeTopicSubscriber('wong', parent);
    assert.equal(send('exact only'), 1, 'a removed topic is no longer reached');

    core.removeTopicSubscriber('wong/amy', exact);
    assert.equal(send('gone'), 0);

    // The topic comes back with a new subscriber: it gets the message, the old one does not.
    const again = new Recorder();
    core.addTopicSubscriber('wong/amy', again);
    assert.equal(send('back'), 1);

    assert.deepEqual(parent.got, ['to the parent', 'to both']);
    assert.deepEqual(exact.got, ['to both', 'exact only']);
    assert.deepEqual(again.got, ['back']);
    assert.equal(core.stats().messagesIn, 6);
  });

  it('a subscriber joining a topic that already exists is reached without a new lookup', () => {
    const core = new BrokerCore(LIMITS);
    const first = new Recorder();
    core.addTopicSubscriber('news', first);
    const path = core.publishPath('news/today');
    assert.equal(core.publishOnPath(path, new BrokerMessage('one')), 1);
    const second = new Recorder();
    core.addTopicSubscriber('news', second);
    assert.equal(core.publishOnPath(path, new BrokerMessage('two')), 2);
    assert.deepEqual(second.got, ['two']);
  });

  it('an ancestor emptied during a publish (its only subscriber dropped as slow) is skipped, the rest still delivered', () => {
    const core = new BrokerCore(LIMITS);
    const slow = new Recorder(LIMITS.maxBufferedBytes + 1);
    const healthy = new Recorder();
    // The topic itself is delivered first, then its ancestors: the slow one is on the topic.
    core.addTopicSubscriber('a/b', slow);
    core.addTopicSubscriber('a', healthy);
    const path = core.publishPath('a/b');
    assert.equal(core.publishOnPath(path, new BrokerMessage('m1')), 1);
    assert.equal(slow.closedWith, 1013);
    assert.deepEqual(healthy.got, ['m1']);
    assert.equal(core.publishOnPath(path, new BrokerMessage('m2')), 1);
    assert.deepEqual(healthy.got, ['m1', 'm2']);
    assert.equal(core.stats().topics, 1);
  });

  it('publishValidTopic and a held path reach the same subscribers', () => {
    const core = new BrokerCore(LIMITS);
    const receivers = ['x', 'x/y', 'x/y/z', 'x/q'].map((topic) => {
      const receiver = new Recorder();
      core.addTopicSubscriber(topic, receiver);
      return receiver;
    });
    const path = core.publishPath('x/y/z');
    assert.equal(core.publishOnPath(path, new BrokerMessage('held')), 3);
    assert.equal(core.publishValidTopic('x/y/z', new BrokerMessage('looked up')), 3);
    assert.deepEqual(
      receivers.map((r) => r.got),
      [['held', 'looked up'], ['held', 'looked up'], ['held', 'looked up'], []],
    );
  });
});
