/**
 * The broker core in process (src/core/): the seed's API, the hierarchy, the bus's echo rules,
 * push/pull's round robin exactly as the README's Protocol pins it, the bounded queue, the
 * slow-consumer rule, the counters and a publisher's kept publish path; then the same through
 * `createBroker`'s public methods.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import { BrokerMessage, type MessageData } from '../src/message.ts';
import type { Receiver } from '../src/receiver.ts';
import { createBroker } from '../src/app/create-broker.ts';
import { upgradeWebSocket } from '../src/adapters/node/upgrade.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1000, pushQueueLimit: 3 };

/** A receiver that records what it got; `backlog` is what it reports as unsent bytes. */
class RecordingReceiver implements Receiver {
  readonly got: MessageData[] = [];
  closedWith: { code: number; reason: string } | undefined;
  lastPublish?: number;
  constructor(
    readonly name = 'r',
    public backlog = 0,
    /** Bytes each delivery adds to the backlog (a socket that never drains). */
    readonly growth = 0,
  ) {}
  deliver(message: BrokerMessage): void {
    this.got.push(message.data);
    this.backlog += this.growth;
  }
  bufferedAmount(): number {
    return this.backlog;
  }
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }
  texts(): string[] {
    return this.got.map((data) => (typeof data === 'string' ? data : `<${data.byteLength} bytes>`));
  }
}

const LIVE = ['connections', 'subscribers', 'publishers', 'peers', 'pushers', 'pullers', 'topics', 'queued'] as const;

function assertAllLiveZero(core: BrokerCore): void {
  const stats = core.stats();
  for (const name of LIVE) assert.equal(stats[name], 0, `${name} back to 0 (${JSON.stringify(stats)})`);
}

describe('core: addTopicSubscriber / removeTopicSubscriber / publishTopicMessage', () => {
  it('returns how many local receivers got the message, walking the hierarchy', () => {
    const core = new BrokerCore(LIMITS);
    const receivers = Object.fromEntries(['a', 'a/b', 'a/b/c', 'a/x', 'ab', 'b'].map((t) => [t, new RecordingReceiver(t)]));
    for (const [topic, receiver] of Object.entries(receivers)) core.addTopicSubscriber(topic, receiver);
    assert.equal(core.publishTopicMessage('a/b', 'm1'), 2);
    assert.equal(core.publishTopicMessage('a/b/c/d', 'm2'), 3);
    assert.equal(core.publishTopicMessage('a', 'm3'), 1);
    assert.equal(core.publishTopicMessage('nobody', 'm4'), 0);
    assert.equal(core.publishTopicMessage('a/x', 'm5'), 2);
    assert.deepEqual(receivers['a']!.texts(), ['m1', 'm2', 'm3', 'm5']);
    assert.deepEqual(receivers['a/b']!.texts(), ['m1', 'm2']);
    assert.deepEqual(receivers['a/b/c']!.texts(), ['m2']);
    assert.deepEqual(receivers['a/x']!.texts(), ['m5']);
    // 'ab' is not a child of 'a', and 'b' is unrelated.
    assert.deepEqual(receivers['ab']!.texts(), []);
    assert.deepEqual(receivers['b']!.texts(), []);
    const stats = core.stats();
    assert.equal(stats.subscribers, 6);
    assert.equal(stats.topics, 6);
    assert.equal(stats.messagesIn, 5);
    assert.equal(stats.messagesOut, 8);
  });

  it('a callback subscriber gets the data and the published topic', () => {
    const core = new BrokerCore(LIMITS);
    const calls: Array<[MessageData, string]> = [];
    const callback = (data: MessageData, topic: string) => void calls.push([data, topic]);
    core.addTopicSubscriber('wong', callback);
    assert.equal(core.publishTopicMessage('wong/amy', 'hi'), 1);
    assert.equal(core.publishTopicMessage('wong', new Uint8Array([1, 2])), 1);
    assert.deepEqual(calls, [['hi', 'wong/amy'], [new Uint8Array([1, 2]), 'wong']]);
    assert.equal(core.removeTopicSubscriber('wong', callback), true);
    assert.equal(core.publishTopicMessage('wong', 'gone'), 0);
    assert.equal(calls.length, 2);
    assertAllLiveZero(core);
  });

  it('a callback that publishes from inside its callback does not change the topic the next callback is told', () => {
    const core = new BrokerCore(LIMITS);
    const calls: Array<[string, MessageData, string]> = [];
    // The relay republishes to another topic before the outer publish reaches its next callback.
    const relay = (data: MessageData, topic: string) => {
      calls.push(['relay', data, topic]);
      core.publishTopicMessage('audit', `seen on ${topic}`);
    };
    const auditor = (data: MessageData, topic: string) => void calls.push(['auditor', data, topic]);
    const reader = (data: MessageData, topic: string) => void calls.push(['reader', data, topic]);
    core.addTopicSubscriber('news', relay);
    core.addTopicSubscriber('audit', auditor);
    core.addTopicSubscriber('news', reader);
    assert.equal(core.publishTopicMessage('news/today', 'headline'), 2);
    assert.deepEqual(calls, [
      ['relay', 'headline', 'news/today'],
      ['auditor', 'seen on news/today', 'audit'],
      ['reader', 'headline', 'news/today'],
    ]);
  });

  it('a { send } subscriber gets text as a string and binary as bytes', () => {
    const core = new BrokerCore(LIMITS);
    const sent: MessageData[] = [];
    const subscriber = { send: (data: MessageData) => void sent.push(data) };
    core.addTopicSubscriber('t', subscriber);
    core.publishTopicMessage('t/u', 'text');
    core.publishTopicMessage('t', new Uint8Array([0, 255]));
    core.publishTopicMessage('t', new BrokerMessage('prebuilt'));
    assert.deepEqual(sent, ['text', new Uint8Array([0, 255]), 'prebuilt']);
    assert.equal(typeof sent[0], 'string');
    assert.ok(sent[1] instanceof Uint8Array);
    assert.equal(core.removeTopicSubscriber('t', subscriber), true);
    assert.equal(core.removeTopicSubscriber('t', subscriber), false);
    assertAllLiveZero(core);
  });

  it('a subscriber on two ancestors of the topic gets each message once', () => {
    const core = new BrokerCore(LIMITS);
    const sent: MessageData[] = [];
    const subscriber = { send: (data: MessageData) => void sent.push(data) };
    core.addTopicSubscriber('a', subscriber);
    core.addTopicSubscriber('a/b', subscriber);
    core.addTopicSubscriber('a/b/c', subscriber);
    assert.equal(core.publishTopicMessage('a/b/c', 'once'), 1);
    assert.equal(core.publishTopicMessage('a/b/c', 'twice'), 1);
    assert.deepEqual(sent, ['once', 'twice']);
    assert.equal(core.stats().subscribers, 3);
    core.removeTopicSubscriber('a/b', subscriber);
    assert.equal(core.publishTopicMessage('a/b', 'parent only'), 1);
    assert.deepEqual(sent, ['once', 'twice', 'parent only']);
  });

  it('adding the same subscriber to the same topic twice subscribes it once', () => {
    const core = new BrokerCore(LIMITS);
    const receiver = new RecordingReceiver();
    core.addTopicSubscriber('t', receiver);
    core.addTopicSubscriber('t', receiver);
    assert.equal(core.stats().subscribers, 1);
    assert.equal(core.publishTopicMessage('t', 'x'), 1);
    assert.equal(core.removeTopicSubscriber('t', receiver), true);
    assertAllLiveZero(core);
  });

  it('an invalid topic throws a TypeError naming the rule', () => {
    const core = new BrokerCore(LIMITS);
    const receiver = new RecordingReceiver();
    for (const topic of ['', 'a//b', '/a', 'a/', '.', 'a/..', 'a\u0000', 'a\u007f', '\uD800', 'x'.repeat(1025), Array(33).fill('s').join('/')]) {
      assert.throws(() => core.addTopicSubscriber(topic, receiver), TypeError, JSON.stringify(topic));
      assert.throws(() => core.publishTopicMessage(topic, 'x'), TypeError, JSON.stringify(topic));
    }
    assert.throws(() => core.addTopicSubscriber('a//b', receiver), /empty segment/);
    assert.throws(() => core.publishTopicMessage('a\u0001', 'x'), /control character/);
    // Topics in the API are already decoded: no percent-decoding happens here.
    core.addTopicSubscriber('caf%C3%A9', receiver);
    assert.equal(core.publishTopicMessage('café', 'x'), 0);
    assert.equal(core.publishTopicMessage('caf%C3%A9', 'x'), 1);
    assert.equal(core.stats().messagesIn, 2);
  });

  it('respects configured topic limits', () => {
    const core = new BrokerCore({ ...LIMITS, maxTopicDepth: 2, maxTopicLength: 5 });
    core.addTopicSubscriber('a/b', new RecordingReceiver());
    assert.throws(() => core.addTopicSubscriber('a/b/c', new RecordingReceiver()), /more than 2 segments/);
    assert.throws(() => core.publishTopicMessage('abcdef', 'x'), /longer than 5 bytes/);
  });
});

describe('core: bus', () => {
  it('each message goes to every other peer of exactly that topic; echo peers hear themselves', () => {
    const core = new BrokerCore(LIMITS);
    const [a, b, echo, child, other] = ['a', 'b', 'echo', 'child', 'other'].map((name) => new RecordingReceiver(name)) as [RecordingReceiver, RecordingReceiver, RecordingReceiver, RecordingReceiver, RecordingReceiver];
    core.joinBus('room', a, false);
    core.joinBus('room', b, false);
    core.joinBus('room', echo, true);
    core.joinBus('room/child', child, false);
    core.joinBus('other', other, false);
    assert.equal(core.sendBus('room', 'from a', a), 2);
    assert.equal(core.sendBus('room', 'from echo', echo), 3);
    assert.equal(core.sendBus('room', 'posted'), 3);
    assert.deepEqual(a.texts(), ['from echo', 'posted']);
    assert.deepEqual(b.texts(), ['from a', 'from echo', 'posted']);
    assert.deepEqual(echo.texts(), ['from a', 'from echo', 'posted']);
    assert.deepEqual(child.texts(), []);
    assert.deepEqual(other.texts(), []);
    assert.equal(core.sendBus('nobody', 'x'), 0);
    const stats = core.stats();
    assert.equal(stats.peers, 5);
    assert.equal(stats.topics, 3);
    for (const peer of [a, b, echo, child, other]) core.detach(peer);
    assertAllLiveZero(core);
  });

  it('leaveBus is idempotent and a left peer hears nothing', () => {
    const core = new BrokerCore(LIMITS);
    const a = new RecordingReceiver();
    const b = new RecordingReceiver();
    core.joinBus('t', a, false);
    core.joinBus('t', b, false);
    assert.equal(core.leaveBus('t', b), true);
    assert.equal(core.leaveBus('t', b), false);
    assert.equal(core.sendBus('t', 'x', a), 0);
    assert.deepEqual(b.texts(), []);
    core.leaveBus('t', a);
    assertAllLiveZero(core);
  });
});

describe('core: push/pull', () => {
  it('round robin exactly as the README (Protocol) pins it', () => {
    const core = new BrokerCore(LIMITS);
    const p0 = new RecordingReceiver('p0');
    const p1 = new RecordingReceiver('p1');
    core.addPuller('jobs', p0);
    core.addPuller('jobs', p1);
    for (const m of ['m1', 'm2', 'm3']) assert.equal(core.push('jobs', m), 'delivered');
    assert.deepEqual(p0.texts(), ['m1', 'm3']);
    assert.deepEqual(p1.texts(), ['m2']);
    assert.equal(core.removePuller('jobs', p1), true);
    core.push('jobs', 'm4');
    assert.deepEqual(p0.texts(), ['m1', 'm3', 'm4']);
    const p2 = new RecordingReceiver('p2');
    core.addPuller('jobs', p2);
    core.push('jobs', 'm5');
    core.push('jobs', 'm6');
    assert.deepEqual(p0.texts(), ['m1', 'm3', 'm4', 'm5']);
    assert.deepEqual(p2.texts(), ['m6']);
    assert.deepEqual(p1.texts(), ['m2']);
  });

  it('a cursor past the end wraps to 0 when a puller leaves', () => {
    const core = new BrokerCore(LIMITS);
    const [p0, p1, p2] = ['p0', 'p1', 'p2'].map((name) => new RecordingReceiver(name)) as [RecordingReceiver, RecordingReceiver, RecordingReceiver];
    for (const p of [p0, p1, p2]) core.addPuller('t', p);
    core.push('t', 'm1'); // p0, cursor → 1
    core.push('t', 'm2'); // p1, cursor → 2
    core.removePuller('t', p2); // list [p0, p1], cursor 2 is past the end → 0
    core.push('t', 'm3');
    assert.deepEqual(p0.texts(), ['m1', 'm3']);
    assert.deepEqual(p1.texts(), ['m2']);
    assert.deepEqual(p2.texts(), []);
  });

  it('with no puller messages wait in a bounded queue and go out in order; a full queue refuses', () => {
    const core = new BrokerCore(LIMITS); // pushQueueLimit 3
    assert.equal(core.push('q', 'm1'), 'queued');
    assert.equal(core.push('q', 'm2'), 'queued');
    assert.equal(core.push('q', new Uint8Array([3])), 'queued');
    assert.equal(core.push('q', 'm4'), 'full');
    assert.equal(core.push('other', 'o1'), 'queued');
    let stats = core.stats();
    assert.equal(stats.queued, 4);
    assert.equal(stats.topics, 2);
    assert.equal(stats.messagesIn, 4, 'a refused push is not counted as accepted');
    const puller = new RecordingReceiver();
    core.addPuller('q', puller);
    assert.deepEqual(puller.texts(), ['m1', 'm2', '<1 bytes>']);
    assert.equal(core.stats().queued, 1);
    assert.equal(core.push('q', 'm5'), 'delivered');
    assert.deepEqual(puller.texts(), ['m1', 'm2', '<1 bytes>', 'm5']);
    core.removePuller('q', puller);
    // Draining the other queue leaves the broker empty.
    const otherPuller = new RecordingReceiver();
    core.addPuller('other', otherPuller);
    assert.deepEqual(otherPuller.texts(), ['o1']);
    core.detach(otherPuller);
    stats = core.stats();
    assertAllLiveZero(core);
  });

  it('pushQueueLimit 0 refuses when no puller is there but still delivers to pullers', () => {
    const core = new BrokerCore({ ...LIMITS, pushQueueLimit: 0 });
    assert.equal(core.push('t', 'x'), 'full');
    const puller = new RecordingReceiver();
    core.addPuller('t', puller);
    assert.equal(core.push('t', 'y'), 'delivered');
    assert.deepEqual(puller.texts(), ['y']);
    core.detach(puller);
    assertAllLiveZero(core);
  });

  it('a long queue drains in order past the compaction threshold', () => {
    const core = new BrokerCore({ ...LIMITS, pushQueueLimit: 5000 });
    for (let i = 0; i < 5000; i++) assert.equal(core.push('long', `m${i}`), 'queued');
    assert.equal(core.push('long', 'over'), 'full');
    const puller = new RecordingReceiver();
    core.addPuller('long', puller);
    assert.equal(puller.got.length, 5000);
    assert.deepEqual(puller.texts().slice(0, 3), ['m0', 'm1', 'm2']);
    assert.ok(puller.texts().every((text, i) => text === `m${i}`));
    core.detach(puller);
    assertAllLiveZero(core);
  });
});

describe('core: slow consumers', () => {
  it('a receiver with a backlog past maxBufferedBytes is closed with 1013, counted and detached', () => {
    const core = new BrokerCore(LIMITS); // maxBufferedBytes 1000
    const slow = new RecordingReceiver('slow', 5000);
    const fine = new RecordingReceiver('fine');
    core.addTopicSubscriber('t', slow);
    core.addTopicSubscriber('t', fine);
    assert.equal(core.publishTopicMessage('t', 'x'), 1);
    assert.deepEqual(slow.closedWith, { code: 1013, reason: 'slow consumer' });
    assert.deepEqual(slow.texts(), []);
    assert.deepEqual(fine.texts(), ['x']);
    let stats = core.stats();
    assert.equal(stats.slowConsumerDisconnects, 1);
    assert.equal(stats.subscribers, 1);
    // Dropped once, counted once, never delivered to again.
    assert.equal(core.publishTopicMessage('t', 'y'), 1);
    assert.equal(core.stats().slowConsumerDisconnects, 1);
    core.detach(slow); // what the socket's close event does later: harmless
    core.detach(fine);
    stats = core.stats();
    assert.equal(stats.slowConsumerDisconnects, 1);
    assertAllLiveZero(core);
  });

  it('a receiver that crosses the limit while receiving gets the message that crossed it, then is dropped', () => {
    const core = new BrokerCore(LIMITS);
    const growing = new RecordingReceiver('growing', 0, 400);
    core.addTopicSubscriber('t', growing);
    assert.equal(core.publishTopicMessage('t', 'm1'), 1); // backlog 400
    assert.equal(core.publishTopicMessage('t', 'm2'), 1); // 800
    assert.equal(core.publishTopicMessage('t', 'm3'), 1); // 1200: over, dropped after delivery
    assert.equal(core.publishTopicMessage('t', 'm4'), 0);
    assert.deepEqual(growing.texts(), ['m1', 'm2', 'm3']);
    assert.equal(growing.closedWith?.code, 1013);
    assert.equal(core.stats().slowConsumerDisconnects, 1);
    assertAllLiveZero(core);
  });

  it('exactly maxBufferedBytes of backlog is still fine', () => {
    const core = new BrokerCore(LIMITS);
    const full = new RecordingReceiver('full', 1000);
    core.addTopicSubscriber('t', full);
    assert.equal(core.publishTopicMessage('t', 'x'), 1);
    assert.equal(full.closedWith, undefined);
  });

  it('a slow puller is skipped: the message goes to the next puller, not lost', () => {
    const core = new BrokerCore(LIMITS);
    const slow = new RecordingReceiver('slow', 5000);
    const fine = new RecordingReceiver('fine');
    core.addPuller('jobs', slow);
    core.addPuller('jobs', fine);
    assert.equal(core.push('jobs', 'm1'), 'delivered');
    assert.deepEqual(fine.texts(), ['m1']);
    assert.equal(slow.closedWith?.code, 1013);
    assert.equal(core.stats().pullers, 1);
    core.detach(fine);
    assertAllLiveZero(core);
  });

  it('a slow bus peer is dropped without holding up the others', () => {
    const core = new BrokerCore(LIMITS);
    const slow = new RecordingReceiver('slow', 1001);
    const fine = new RecordingReceiver('fine');
    core.joinBus('b', slow, false);
    core.joinBus('b', fine, false);
    assert.equal(core.sendBus('b', 'x'), 1);
    assert.deepEqual(fine.texts(), ['x']);
    assert.equal(slow.closedWith?.code, 1013);
    assert.equal(core.stats().peers, 1);
    assert.equal(core.stats().slowConsumerDisconnects, 1);
  });

  it('a { send } subscriber exposing bufferedAmount (a raw socket) is held to the same rule', () => {
    const core = new BrokerCore(LIMITS);
    const closed: Array<[number | undefined, string | undefined]> = [];
    const socket = { bufferedAmount: 2000, send() {}, close: (code?: number, reason?: string) => void closed.push([code, reason]) };
    core.addTopicSubscriber('t', socket);
    assert.equal(core.publishTopicMessage('t', 'x'), 0);
    assert.deepEqual(closed, [[1013, 'slow consumer']]);
    assertAllLiveZero(core);
  });
});

describe('core: slow consumers added again', () => {
  it('an in-process subscriber dropped as slow gets messages again once it is added again', () => {
    const core = new BrokerCore(LIMITS);
    const socket = { bufferedAmount: 2000, got: [] as unknown[], send(data: unknown) { this.got.push(data); }, close() {} };
    core.addTopicSubscriber('t', socket);
    assert.equal(core.publishTopicMessage('t', 'lost'), 0);
    socket.bufferedAmount = 0;
    core.addTopicSubscriber('t', socket);
    assert.equal(core.stats().subscribers, 1);
    assert.equal(core.publishTopicMessage('t', 'back'), 1);
    assert.deepEqual(socket.got, ['back']);
    assert.equal(core.stats().slowConsumerDisconnects, 1);
    core.removeTopicSubscriber('t', socket);
    assertAllLiveZero(core);
  });
});

describe('core: detach and stats', () => {
  it('detach removes a receiver from every registry at once and every live counter returns to 0', () => {
    const core = new BrokerCore(LIMITS);
    const everywhere = new RecordingReceiver();
    core.addTopicSubscriber('a', everywhere);
    core.addTopicSubscriber('a/b', everywhere);
    core.joinBus('a', everywhere, true);
    core.addPuller('a', everywhere);
    core.push('q', 'waiting');
    let stats = core.stats();
    assert.equal(stats.subscribers, 2);
    assert.equal(stats.peers, 1);
    assert.equal(stats.pullers, 1);
    assert.equal(stats.queued, 1);
    assert.equal(stats.topics, 3, 'a (sub, bus and pull) counts once, a/b, and q with its queued message');
    core.detach(everywhere);
    core.detach(everywhere);
    stats = core.stats();
    assert.equal(stats.topics, 1);
    const puller = new RecordingReceiver();
    core.addPuller('q', puller);
    core.removePuller('q', puller);
    assertAllLiveZero(core);
    assert.equal(typeof core.stats().uptimeSeconds, 'number');
  });
});

describe('core: publish cost does not grow with the number of topics', () => {
  /**
   * Counts the Map and Set work done while `run` executes: every get/has and every step of every
   * iteration over any Map or Set in the process. An implementation that scanned all topics would
   * show it here; one that looks up each ancestor costs the same with 10 topics or 20,000.
   */
  function countCollectionWork(run: () => void): number {
    let work = 0;
    const patched: Array<[object, PropertyKey, unknown]> = [];
    const patch = (proto: object, key: PropertyKey, wrap: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown) => {
      const original = Reflect.get(proto, key) as (...args: unknown[]) => unknown;
      patched.push([proto, key, original]);
      Reflect.set(proto, key, wrap(original));
    };
    const countedIterator = (original: (...args: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        const iterator = original.apply(this, args) as Iterator<unknown>;
        return {
          next() {
            work++;
            return iterator.next();
          },
          [Symbol.iterator]() {
            return this;
          },
        };
      };
    const counted = (original: (...args: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        work++;
        return original.apply(this, args);
      };
    for (const proto of [Map.prototype, Set.prototype]) {
      patch(proto, 'has', counted);
      patch(proto, 'forEach', counted);
      for (const key of ['keys', 'values', 'entries', Symbol.iterator]) patch(proto, key, countedIterator);
    }
    patch(Map.prototype, 'get', counted);
    try {
      run();
    } finally {
      for (const [proto, key, original] of patched.reverse()) Reflect.set(proto, key, original);
    }
    return work;
  }

  /**
   * `lookUp`: a topic was created and removed since the last publish (a subscriber came and
   * went elsewhere), so the publish looks its ancestors up again; otherwise it reuses what the
   * previous publish on the same path found (PublishPath).
   */
  function publishWork(topicCount: number, publishTopic: string, lookUp: boolean): { work: number; delivered: number } {
    const core = new BrokerCore({ ...LIMITS, maxBufferedBytes: 1 << 30 });
    const receivers: RecordingReceiver[] = [];
    for (let i = 0; i < topicCount; i++) {
      const receiver = new RecordingReceiver();
      receivers.push(receiver);
      core.addTopicSubscriber(`noise/${i % 97}/topic${i}`, receiver);
    }
    const a = new RecordingReceiver('a');
    const abc = new RecordingReceiver('abc');
    core.addTopicSubscriber('a', a);
    core.addTopicSubscriber('a/b/c', abc);
    // As a publisher socket publishes: on the path it keeps (BrokerCore.publishPath).
    const path = core.publishPath(publishTopic);
    core.publishOnPath(path, new BrokerMessage('warm-up'));
    if (lookUp) {
      const passing = new RecordingReceiver('passing');
      core.addTopicSubscriber('elsewhere', passing);
      core.removeTopicSubscriber('elsewhere', passing);
    }
    let delivered = 0;
    const work = countCollectionWork(() => {
      delivered = core.publishOnPath(path, new BrokerMessage('measured'));
    });
    // Instrumented receivers: only the two subscribers on the path were touched.
    assert.ok(receivers.every((r) => r.got.length === 0));
    return { work, delivered };
  }

  it('the same Map/Set work for 10 and for 20,000 topics; more work only for a deeper topic', () => {
    const small = publishWork(10, 'a/b/c', true);
    const large = publishWork(20_000, 'a/b/c', true);
    assert.equal(small.delivered, 2);
    assert.equal(large.delivered, 2);
    assert.ok(small.work > 0, 'the instrument sees the lookups');
    assert.equal(large.work, small.work, `work with 20,000 topics (${large.work}) vs 10 topics (${small.work})`);
    // The cost follows depth: the same publish two levels deeper does more lookups.
    const deeper = publishWork(10, 'a/b/c/d/e', true);
    assert.ok(deeper.work > small.work, `depth 5 (${deeper.work}) vs depth 3 (${small.work})`);
    assert.equal(publishWork(20_000, 'a/b/c/d/e', true).work, deeper.work);
  });

  it('while no topic comes or goes, a publish on a path kept by its publisher looks nothing up', () => {
    const looked = publishWork(20_000, 'a/b/c/d/e', true);
    const reused = publishWork(20_000, 'a/b/c/d/e', false);
    assert.equal(reused.delivered, 2);
    // What is left is walking the two topics' subscribers; the five lookups are gone.
    assert.ok(reused.work < looked.work, `reused path (${reused.work}) vs looked up (${looked.work})`);
    assert.equal(reused.work, publishWork(10, 'a/b/c', false).work, 'nor does it depend on depth or the topic count');
  });
});

describe('core: a publish path held by a publisher (the subscribers of its topic and each ancestor, reused while no topic comes or goes)', () => {
  it('follows topics created and removed after it was taken', () => {
    const core = new BrokerCore(LIMITS);
    const path = core.publishPath('wong/amy');
    const send = (text: string) => core.publishOnPath(path, new BrokerMessage(text));
    assert.equal(send('nobody yet'), 0);

    const parent = new RecordingReceiver();
    core.addTopicSubscriber('wong', parent);
    assert.equal(send('to the parent'), 1, 'a topic created after the path was taken is reached');

    const exact = new RecordingReceiver();
    core.addTopicSubscriber('wong/amy', exact);
    assert.equal(send('to both'), 2);

    core.removeTopicSubscriber('wong', parent);
    assert.equal(send('exact only'), 1, 'a removed topic is no longer reached');

    core.removeTopicSubscriber('wong/amy', exact);
    assert.equal(send('gone'), 0);

    // The topic comes back with a new subscriber: it gets the message, the old one does not.
    const again = new RecordingReceiver();
    core.addTopicSubscriber('wong/amy', again);
    assert.equal(send('back'), 1);

    assert.deepEqual(parent.got, ['to the parent', 'to both']);
    assert.deepEqual(exact.got, ['to both', 'exact only']);
    assert.deepEqual(again.got, ['back']);
    assert.equal(core.stats().messagesIn, 6);
  });

  it('a subscriber joining a topic that already exists is reached without a new lookup', () => {
    const core = new BrokerCore(LIMITS);
    const first = new RecordingReceiver();
    core.addTopicSubscriber('news', first);
    const path = core.publishPath('news/today');
    assert.equal(core.publishOnPath(path, new BrokerMessage('one')), 1);
    const second = new RecordingReceiver();
    core.addTopicSubscriber('news', second);
    assert.equal(core.publishOnPath(path, new BrokerMessage('two')), 2);
    assert.deepEqual(second.got, ['two']);
  });

  it('an ancestor emptied during a publish (its only subscriber dropped as slow) is skipped, the rest still delivered', () => {
    const core = new BrokerCore(LIMITS);
    const slow = new RecordingReceiver('slow', LIMITS.maxBufferedBytes + 1);
    const healthy = new RecordingReceiver();
    // The topic itself is delivered first, then its ancestors: the slow one is on the topic.
    core.addTopicSubscriber('a/b', slow);
    core.addTopicSubscriber('a', healthy);
    const path = core.publishPath('a/b');
    assert.equal(core.publishOnPath(path, new BrokerMessage('m1')), 1);
    assert.equal(slow.closedWith?.code, 1013);
    assert.deepEqual(healthy.got, ['m1']);
    assert.equal(core.publishOnPath(path, new BrokerMessage('m2')), 1);
    assert.deepEqual(healthy.got, ['m1', 'm2']);
    assert.equal(core.stats().topics, 1);
  });

  it('publishValidTopic and a held path reach the same subscribers', () => {
    const core = new BrokerCore(LIMITS);
    const receivers = ['x', 'x/y', 'x/y/z', 'x/q'].map((topic) => {
      const receiver = new RecordingReceiver();
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

describe('createBroker: the public in-process API', () => {
  const make = (options = {}) => createBroker({ upgradeWebSocket, log: () => {}, ...options });

  it('addTopicSubscriber / publishTopicMessage / removeTopicSubscriber with stats', () => {
    const broker = make();
    const got: Array<[MessageData, string]> = [];
    const callback = (data: MessageData, topic: string) => void got.push([data, topic]);
    broker.addTopicSubscriber('news', callback);
    assert.equal(broker.stats().subscribers, 1);
    assert.equal(broker.publishTopicMessage('news/today', 'hello'), 1);
    assert.deepEqual(got, [['hello', 'news/today']]);
    assert.equal(broker.removeTopicSubscriber('news', callback), true);
    assert.equal(broker.stats().subscribers, 0);
    assert.throws(() => broker.publishTopicMessage('a//b', 'x'), TypeError);
    assert.throws(() => broker.addTopicSubscriber('', callback), TypeError);
    broker.close();
  });

  it('sendBusMessage and pushMessage validate topics like addTopicSubscriber', () => {
    const broker = make({ maxTopicDepth: 2 });
    for (const topic of ['', 'a//b', '..', 'a\u0000', '\uDC00', 'a/b/c']) {
      assert.throws(() => broker.sendBusMessage(topic, 'x'), TypeError, `sendBusMessage ${JSON.stringify(topic)}`);
      assert.throws(() => broker.pushMessage(topic, 'x'), TypeError, `pushMessage ${JSON.stringify(topic)}`);
    }
    const stats = broker.stats();
    assert.equal(stats.queued, 0);
    assert.equal(stats.topics, 0);
    assert.equal(stats.messagesIn, 0);
    assert.equal(broker.sendBusMessage('a/b', 'x'), 0);
    assert.equal(broker.pushMessage('a/b', 'x'), 'queued');
    assert.equal(broker.stats().queued, 1);
    broker.close();
  });

  it('pushMessage reports full past pushQueueLimit', () => {
    const broker = make({ pushQueueLimit: 1 });
    assert.equal(broker.pushMessage('q', 'one'), 'queued');
    assert.equal(broker.pushMessage('q', 'two'), 'full');
    broker.close();
  });

  it('cluster mode takes its Redis client from loadRedisTransport, and refuses to start without one', async () => {
    assert.throws(() => make({ redis: 'redis://127.0.0.1:1/0' }), /loadRedisTransport/);
    const made: string[] = [];
    let closed = false;
    const broker = make({
      redis: 'redis://127.0.0.1:1/0',
      loadRedisTransport: async () => (init: { url: string }) => {
        made.push(init.url);
        return {
          command: () => Promise.reject(new Error('down')),
          subscribe: () => Promise.reject(new Error('down')),
          unsubscribe: () => Promise.reject(new Error('down')),
          close: async () => void (closed = true),
        };
      },
    });
    assert.match(broker.engine.problem() ?? '', /^redis: connecting \(redis:\/\/127\.0\.0\.1:1\/0\)$/);
    // Redis is unreachable: the node serves its own clients, pushes queue locally.
    assert.equal(await broker.pushMessage('q', 'local'), 'queued');
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(made, ['redis://127.0.0.1:1/0']);
    broker.close();
    await broker.engine.close();
    assert.equal(closed, true);
    assert.equal(broker.engine.problem(), 'redis: closed');
  });

  it('refuses invalid options with a one-line error and requires upgradeWebSocket', () => {
    assert.throws(() => make({ maxConnections: 0 }), /maxConnections/);
    assert.throws(() => make({ nonsense: 1 } as never), /unknown option "nonsense"/);
    assert.throws(() => createBroker({} as never), /upgradeWebSocket is required/);
  });
});
