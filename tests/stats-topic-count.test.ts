/**
 * `/stats` costs the same with a million topics as with one (issue 15, finding 2: with 1M push
 * topics each `GET /stats` built a set of every topic name and blocked the event loop for
 * 714 ms). Structural, not timed: every step `stats()` takes over a Map or Set (iterator steps,
 * `forEach` callbacks) is counted, and the count must not depend on the number of topics.
 *
 * `topics` keeps its meaning (PROTOCOL.md): distinct names holding a subscriber, a bus peer, a
 * puller or a queued push, a name used by several kinds counting once. A property test checks
 * the kept count against a model after any sequence of joins, leaves and pushes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import type { Receiver } from '../src/receiver.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1 << 30, pushQueueLimit: 2 };

function receiver(): Receiver {
  return { deliver() {}, bufferedAmount: () => 0, close() {} };
}

/** Steps taken over any Map or Set while `run` runs. */
function collectionSteps(run: () => void): number {
  let steps = 0;
  const restore: Array<() => void> = [];
  const iteratorPrototypes = [
    Object.getPrototypeOf(new Map().keys()),
    Object.getPrototypeOf(new Set().values()),
  ] as Array<{ next: (this: unknown) => unknown }>;
  for (const prototype of iteratorPrototypes) {
    const next = prototype.next;
    prototype.next = function (this: unknown) {
      steps++;
      return next.call(this);
    };
    restore.push(() => (prototype.next = next));
  }
  type ForEach = (this: unknown, callback: (...args: unknown[]) => void, thisArg?: unknown) => void;
  for (const prototype of [Map.prototype, Set.prototype] as unknown as Array<{ forEach: ForEach }>) {
    const forEach = prototype.forEach;
    prototype.forEach = function (this: unknown, callback: (...args: unknown[]) => void, thisArg?: unknown) {
      return forEach.call(this, (...args: unknown[]) => {
        steps++;
        callback.apply(thisArg, args);
      });
    };
    restore.push(() => (prototype.forEach = forEach));
  }
  try {
    run();
  } finally {
    for (const undo of restore) undo();
  }
  return steps;
}

/** A core holding `count` push topics with one queued message each, plus a few of every kind. */
function coreWithTopics(count: number): BrokerCore {
  const core = new BrokerCore(LIMITS);
  for (let i = 0; i < count; i++) core.push(`jobs/${i}`, 'x');
  core.addTopicSubscriber('news', receiver());
  core.joinBus('chat', receiver(), false);
  core.addPuller('work', receiver());
  return core;
}

describe('/stats is O(1) in the number of topics', () => {
  it('stats() takes as many steps over maps and sets with 100,000 push topics as with 1', () => {
    const few = coreWithTopics(1);
    const many = coreWithTopics(100_000);
    let fewStats = few.stats();
    let manyStats = many.stats();
    const fewSteps = collectionSteps(() => (fewStats = few.stats()));
    const manySteps = collectionSteps(() => (manyStats = many.stats()));
    assert.equal(fewStats.topics, 1 + 3);
    assert.equal(manyStats.topics, 100_000 + 3);
    assert.equal(manyStats.queued, 100_000);
    assert.equal(manySteps, fewSteps, `stats() walked ${manySteps} entries with 100,000 topics, ${fewSteps} with 1`);
  });

  it('the step counter sees a walk over the topics (it would catch the old Set of names)', () => {
    const core = coreWithTopics(1000);
    const names = new Map<string, number>();
    for (let i = 0; i < 1000; i++) names.set(`jobs/${i}`, i);
    assert.ok(collectionSteps(() => void new Set(names.keys()).size) >= 1000);
    assert.ok(collectionSteps(() => names.forEach(() => {})) >= 1000);
    assert.equal(core.stats().topics, 1003);
  });
});

describe('topics: distinct names holding a subscriber, peer, puller or queued push', () => {
  it('one name on every route counts once, and leaves the count when its last use goes', () => {
    const core = new BrokerCore(LIMITS);
    const sub = receiver();
    const peer = receiver();
    const puller = receiver();
    core.addTopicSubscriber('same', sub);
    core.joinBus('same', peer, false);
    assert.equal(core.push('same', 'queued'), 'queued');
    assert.equal(core.stats().topics, 1);
    core.addPuller('same', puller); // takes the queued message
    assert.equal(core.stats().topics, 1);
    core.removeTopicSubscriber('same', sub);
    core.leaveBus('same', peer);
    assert.equal(core.stats().topics, 1, 'the puller still holds it');
    core.detach(puller);
    assert.equal(core.stats().topics, 0);
    // A refused push leaves nothing behind.
    const none = new BrokerCore({ ...LIMITS, pushQueueLimit: 0 });
    assert.equal(none.push('refused', 'x'), 'full');
    assert.equal(none.stats().topics, 0);
  });

  it('matches a model after any sequence of subscribes, joins, pulls and pushes', () => {
    const names = ['a', 'a/b', 'c'];
    const op = fc.record({
      kind: fc.constantFrom('sub', 'unsub', 'join', 'leave', 'pull', 'unpull', 'push'),
      name: fc.constantFrom(...names),
      who: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const core = new BrokerCore(LIMITS);
        const receivers = [receiver(), receiver(), receiver()];
        // The model: per name, who holds it as what, and how many pushes wait.
        const subs = new Map<string, Set<number>>();
        const peers = new Map<string, Set<number>>();
        const pullers = new Map<string, Set<number>>();
        const waiting = new Map<string, number>();
        const set = (map: Map<string, Set<number>>, name: string) => map.get(name) ?? map.set(name, new Set()).get(name)!;
        for (const { kind, name, who } of ops) {
          const r = receivers[who]!;
          if (kind === 'sub') {
            core.addTopicSubscriber(name, r);
            set(subs, name).add(who);
          } else if (kind === 'unsub') {
            core.removeTopicSubscriber(name, r);
            set(subs, name).delete(who);
          } else if (kind === 'join') {
            if (set(peers, name).has(who)) continue; // one bus membership per socket and topic
            core.joinBus(name, r, false);
            set(peers, name).add(who);
          } else if (kind === 'leave') {
            core.leaveBus(name, r);
            set(peers, name).delete(who);
          } else if (kind === 'pull') {
            if (set(pullers, name).has(who)) continue; // one pull socket per receiver and topic
            core.addPuller(name, r);
            set(pullers, name).add(who);
            waiting.set(name, 0); // a puller takes everything queued
          } else if (kind === 'unpull') {
            core.removePuller(name, r);
            set(pullers, name).delete(who);
          } else {
            const result = core.push(name, 'm');
            if (set(pullers, name).size > 0) assert.equal(result, 'delivered');
            else if ((waiting.get(name) ?? 0) < LIMITS.pushQueueLimit) {
              assert.equal(result, 'queued');
              waiting.set(name, (waiting.get(name) ?? 0) + 1);
            } else assert.equal(result, 'full');
          }
          const expected = names.filter(
            (n) => (subs.get(n)?.size ?? 0) + (peers.get(n)?.size ?? 0) + (pullers.get(n)?.size ?? 0) + (waiting.get(n) ?? 0) > 0,
          ).length;
          assert.equal(core.stats().topics, expected, JSON.stringify({ kind, name, who }));
        }
      }),
      { numRuns: 300 },
    );
  });
});
