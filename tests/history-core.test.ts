/**
 * Ids, history and resume in the core with the memory engine (src/core/history/, stamped.ts):
 * each topic's stream and its offsets, replay after an id, the gap notice and its exact count,
 * expiry, the byte cap, and resumes without history.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import { MemoryEngine } from '../src/core/memory-engine.ts';
import { BrokerMessage } from '../src/message.ts';
import type { Receiver, TopicBroadcaster } from '../src/receiver.ts';
import { parseStreamId, StampedMessage, type StreamGap } from '../src/stamped.ts';
import { RELAYED, type Engine, type EngineEvents, type Recovery } from '../src/core/engine.ts';
import { stubEngine } from './helpers/stub-engine.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1 << 20, pushQueueLimit: 3 };

function coreWith(history?: { size: number; ttlMs?: number; maxBytes?: number }, limits: CoreLimits = LIMITS): BrokerCore {
  if (!history) return new BrokerCore(limits);
  return new BrokerCore(limits, (events) => new MemoryEngine(events, { size: history.size, ttlMs: history.ttlMs ?? 60_000, maxBytes: history.maxBytes ?? 1 << 30 }));
}

/** A receiver that wants ids, recording what it gets (messages as `data@id`, gaps as objects). */
class IdReceiver implements Receiver {
  readonly got: Array<string | StreamGap> = [];
  readonly stamped: StampedMessage[] = [];
  deliver(message: BrokerMessage): void {
    this.got.push(`raw ${String(message.data)}`);
  }
  deliverStamped(message: StampedMessage): void {
    this.stamped.push(message);
    this.got.push(`${String(message.message.data)}@${message.offset}`);
  }
  deliverGap(gap: StreamGap): void {
    this.got.push(gap);
  }
  bufferedAmount(): number {
    return 0;
  }
  close(_code?: number): void {}
}

function publishAll(core: BrokerCore, topic: string, from: number, to: number): void {
  for (let i = from; i <= to; i++) core.publishTopicMessage(topic, `m${i}`);
}

describe('ids and history (memory engine)', () => {
  it('each topic stream counts its own offsets: a publish on a/b is at one offset of a/b and another of a', () => {
    const core = coreWith({ size: 10 });
    const onA = new IdReceiver();
    const onAB = new IdReceiver();
    core.subscribeValidTopic('a', onA);
    core.subscribeValidTopic('a/b', onAB);
    core.publishTopicMessage('a', 'x');
    core.publishTopicMessage('a/b', 'y');
    core.publishTopicMessage('a/b/c', 'z');
    assert.deepEqual(onA.got, ['x@1', 'y@2', 'z@3']);
    assert.deepEqual(onAB.got, ['y@1', 'z@2']);
    assert.deepEqual(onA.stamped.map((m) => m.topic), ['a', 'a/b', 'a/b/c']);
    assert.notEqual(onA.stamped[0]!.epoch, onAB.stamped[0]!.epoch, 'each stream has its own epoch');
    const id = onA.stamped[2]!.id;
    assert.deepEqual(parseStreamId(id), { epoch: onA.stamped[2]!.epoch, offset: 3 });
    assert.ok(onA.stamped.every((m) => m.time >= Date.now() - 5000 && m.time <= Date.now()));
  });

  it('resume: the stream after the id, then live, each once and in order', () => {
    const core = coreWith({ size: 100 });
    const first = new IdReceiver();
    core.subscribeValidTopic('room', first);
    publishAll(core, 'room/x', 1, 5);
    core.detach(first);
    publishAll(core, 'room/y', 6, 8);
    const again = new IdReceiver();
    core.subscribeFrom('room', again, first.stamped[2]!.id);
    publishAll(core, 'room', 9, 9);
    assert.deepEqual(again.got, ['m4@4', 'm5@5', 'm6@6', 'm7@7', 'm8@8', 'm9@9']);
  });

  it('resume from the newest id replays nothing and reports nothing', () => {
    const core = coreWith({ size: 5 });
    const first = new IdReceiver();
    core.subscribeValidTopic('t', first);
    publishAll(core, 't', 1, 3);
    const again = new IdReceiver();
    core.subscribeFrom('t', again, first.stamped.at(-1)!.id);
    assert.deepEqual(again.got, []);
  });

  it('history too small: a gap with the exact count first, then what history holds; the two add up', () => {
    const core = coreWith({ size: 3 });
    const first = new IdReceiver();
    core.subscribeValidTopic('t', first);
    publishAll(core, 't', 1, 2);
    const since = first.stamped[1]!.id;
    core.detach(first);
    publishAll(core, 't', 3, 10);
    const again = new IdReceiver();
    core.subscribeFrom('t', again, since);
    const until = `${first.stamped[0]!.epoch}-7`;
    assert.deepEqual(again.got, [{ topic: 't', since, reason: 'trimmed', missed: 5, until }, 'm8@8', 'm9@9', 'm10@10']);
    // Cut off again before anything arrived, it resumes after `until`: the loss is not reported twice.
    const third = new IdReceiver();
    core.subscribeFrom('t', third, until);
    assert.deepEqual(third.got, ['m8@8', 'm9@9', 'm10@10']);
  });

  it('an id of another epoch, of another topic, from the future or malformed: a gap with no count, then what the epoch holds', () => {
    const core = coreWith({ size: 3 });
    const onA = new IdReceiver();
    const onB = new IdReceiver();
    core.subscribeValidTopic('a', onA);
    core.subscribeValidTopic('b', onB);
    publishAll(core, 'a', 1, 2);
    publishAll(core, 'b', 1, 1);
    const epoch = onA.stamped[0]!.epoch;
    for (const since of [onB.stamped[0]!.id, `${epoch}-99`, 'zzzz-1', 'not an id']) {
      const again = new IdReceiver();
      core.subscribeFrom('a', again, since);
      assert.deepEqual(again.got, [{ topic: 'a', since, reason: 'epoch' }, 'm1@1', 'm2@2'], since);
    }
    publishAll(core, 'a', 3, 5);
    const afterTrim = new IdReceiver();
    core.subscribeFrom('a', afterTrim, 'zzzz-1');
    assert.deepEqual(afterTrim.got, [{ topic: 'a', since: 'zzzz-1', reason: 'epoch', until: `${epoch}-2` }, 'm3@3', 'm4@4', 'm5@5']);
    const nowhere = new IdReceiver();
    core.subscribeFrom('never/published', nowhere, 'zzzz-1');
    assert.deepEqual(nowhere.got, [{ topic: 'never/published', since: 'zzzz-1', reason: 'epoch' }]);
  });

  it('expired messages leave history and count as missed', async () => {
    const core = coreWith({ size: 100, ttlMs: 150 });
    const first = new IdReceiver();
    core.subscribeValidTopic('t', first);
    publishAll(core, 't', 1, 3);
    core.detach(first);
    await new Promise((resolve) => setTimeout(resolve, 250));
    publishAll(core, 't', 4, 4);
    assert.deepEqual(core.stats().historyMessages, 1);
    const again = new IdReceiver();
    core.subscribeFrom('t', again, first.stamped[0]!.id);
    assert.deepEqual(again.got, [{ topic: 't', since: first.stamped[0]!.id, reason: 'trimmed', missed: 2, until: `${first.stamped[0]!.epoch}-3` }, 'm4@4']);
    // A quiet topic whose history expired still knows its position: nothing missed since m4.
    const stamped4 = again.stamped[0]!;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(core.stats().historyMessages, 0);
    assert.equal(core.stats().historyTopics, 0);
    const later = new IdReceiver();
    core.subscribeFrom('t', later, stamped4.id);
    assert.deepEqual(later.got, []);
    void core.engine.close();
  });

  it('the byte cap takes the oldest messages first, across topics, and the stats show what is held', () => {
    const core = coreWith({ size: 1000, maxBytes: 20_000 });
    const watcher = new IdReceiver();
    core.subscribeValidTopic('a', watcher);
    const payload = 'x'.repeat(1000);
    for (let i = 1; i <= 40; i++) core.publishTopicMessage(i % 2 ? 'a/odd' : 'a/even', `${i} ${payload}`);
    const stats = core.stats();
    assert.ok(stats.historyBytes <= 20_000 && stats.historyBytes > 15_000, JSON.stringify(stats));
    assert.equal(stats.historyTopics, 3);
    assert.ok(stats.historyMessages >= 15 && stats.historyMessages < 20, JSON.stringify(stats));
    const again = new IdReceiver();
    core.subscribeFrom('a', again, watcher.stamped[0]!.id);
    const gap = again.got[0] as StreamGap;
    assert.equal(gap.reason, 'trimmed');
    assert.equal(gap.missed! + again.stamped.length, 39, 'missed + replayed = everything after the id');
    assert.deepEqual(again.stamped.map((m) => m.offset), Array.from({ length: again.stamped.length }, (_, i) => 41 - again.stamped.length + i));
  });

  it("history reserves from the broker's byte budget (maxHeldBytes): when that is full it gives up its oldest, refusing no client", () => {
    const core = coreWith({ size: 1000 }, { ...LIMITS, maxHeldBytes: 30_000 });
    for (let i = 1; i <= 60; i++) core.publishTopicMessage(`t/${i % 3}`, 'x'.repeat(1000));
    const stats = core.stats();
    assert.ok(stats.historyBytes <= 30_000 && stats.historyBytes > 25_000, JSON.stringify(stats));
    assert.equal(stats.heldBytes, stats.historyBytes, 'what history holds is held by the broker');
    assert.equal(stats.budgetRefusals, 0, 'history making room for itself is no refusal');
    void core.engine.close();
  });

  it('a message bigger than the whole cap is not kept, and a resume says it was lost', () => {
    const core = coreWith({ size: 10, maxBytes: 2000 });
    const first = new IdReceiver();
    core.subscribeValidTopic('t', first);
    core.publishTopicMessage('t', 'small');
    core.publishTopicMessage('t', 'y'.repeat(5000));
    core.publishTopicMessage('t', 'small again');
    const again = new IdReceiver();
    core.subscribeFrom('t', again, first.stamped[0]!.id);
    assert.deepEqual(again.got, [{ topic: 't', since: first.stamped[0]!.id, reason: 'trimmed', missed: 1, until: `${first.stamped[0]!.epoch}-2` }, 'small again@3']);
  });

  it('raw subscribers are untouched: they get the message itself, through deliver', () => {
    const core = coreWith({ size: 10 });
    const raw = new IdReceiver();
    // Without deliverStamped it is a raw receiver.
    const plain: Receiver = { deliver: (m) => raw.got.push(`raw ${String(m.data)}`), bufferedAmount: () => 0, close() {} };
    core.subscribeValidTopic('t', plain);
    core.publishTopicMessage('t/u', 'hello');
    assert.deepEqual(raw.got, ['raw hello']);
  });
});

describe('ids without history', () => {
  it('a topic with subscribers counts positions; a resume learns exactly how many it missed, or that nothing was', () => {
    const core = coreWith();
    const stays = new IdReceiver();
    core.subscribeValidTopic('t', stays);
    const leaves = new IdReceiver();
    core.subscribeValidTopic('t', leaves);
    publishAll(core, 't/x', 1, 2);
    const since = leaves.stamped[1]!.id;
    core.detach(leaves);
    const back = new IdReceiver();
    core.subscribeFrom('t', back, since);
    assert.deepEqual(back.got, []);
    core.detach(back);
    publishAll(core, 't', 3, 6);
    const late = new IdReceiver();
    core.subscribeFrom('t', late, since);
    publishAll(core, 't', 7, 7);
    assert.deepEqual(late.got, [{ topic: 't', since, reason: 'off', missed: 4, until: `${stays.stamped[0]!.epoch}-6` }, 'm7@7']);
    assert.equal(core.stats().historyMessages, 0);
  });

  it('once the last subscriber has gone the topic forgets its positions: a resume hears of another epoch', () => {
    const core = coreWith();
    const only = new IdReceiver();
    core.subscribeValidTopic('t', only);
    publishAll(core, 't', 1, 1);
    core.detach(only);
    const back = new IdReceiver();
    core.subscribeFrom('t', back, only.stamped[0]!.id);
    assert.deepEqual(back.got, [{ topic: 't', since: only.stamped[0]!.id, reason: 'epoch' }]);
  });
});

/** A broadcaster (as Bun's native pub/sub) that records what goes through it. */
class RecordingBroadcaster implements TopicBroadcaster {
  readonly log: string[] = [];
  join(topic: string, receiver: Receiver): void {
    this.log.push(`join ${topic} ${(receiver as NamedReceiver).name}`);
  }
  leave(topic: string, receiver: Receiver): void {
    this.log.push(`leave ${topic} ${(receiver as NamedReceiver).name}`);
  }
  broadcast(topic: string, _members: ReadonlySet<Receiver>, message: BrokerMessage): void {
    this.log.push(`raw ${topic} ${String(message.data)}`);
  }
  broadcastStamped(topic: string, members: ReadonlySet<Receiver>, message: StampedMessage): void {
    this.log.push(`stamped ${topic} ${String(message.message.data)}@${message.offset} to ${[...members].map((m) => (m as NamedReceiver).name).join(',')}`);
  }
}

class NamedReceiver extends IdReceiver {
  constructor(
    readonly name: string,
    readonly broadcaster?: TopicBroadcaster,
  ) {
    super();
  }
}

describe('resuming subscribers of a broadcaster (Bun native pub/sub)', () => {
  it('get their replay one by one, then join the broadcaster for what follows', () => {
    const core = coreWith({ size: 10 });
    const broadcaster = new RecordingBroadcaster();
    const first = new IdReceiver();
    core.subscribeValidTopic('t', first);
    publishAll(core, 't', 1, 3);
    const resuming = new NamedReceiver('r', broadcaster);
    core.subscribeFrom('t', resuming, first.stamped[0]!.id);
    core.publishTopicMessage('t', 'live');
    assert.deepEqual(resuming.got, ['m2@2', 'm3@3']);
    assert.deepEqual(broadcaster.log, ['join t r', 'stamped t live@4 to r']);
    core.detach(resuming);
    assert.deepEqual(broadcaster.log.at(-1), 'leave t r');
  });
});

describe('a replay answered later (as from Redis)', () => {
  /** An engine whose history is read asynchronously, and which relays publishes back (RELAYED). */
  function relayingCore() {
    let events!: EngineEvents;
    const pending: Array<() => void> = [];
    const engine = (ev: EngineEvents): Engine => {
      events = ev;
      return stubEngine({
        stamp: () => RELAYED,
        recover: (topic, since) =>
          new Promise<Recovery>((resolve) =>
            pending.push(() =>
              resolve(
                since === undefined
                  ? // From the current end: Redis's last offset when the read ran.
                    { entries: [], position: { epoch: 'e', offset: 5 } }
                  : { entries: [stamp(topic, 'h4', 4), stamp(topic, 'h5', 5)], gap: { topic, since, reason: 'trimmed', missed: 1, until: 'e-3' } },
              ),
            ),
          ),
      });
    };
    const core = new BrokerCore(LIMITS, engine);
    const stamp = (topic: string, data: string, offset: number) => new StampedMessage(new BrokerMessage(data), topic, 'e', offset, 0);
    /** A relayed message arriving live on the topic's channel. */
    const live = (offset: number) => events.deliverStamped('t', stamp('t', `l${offset}`, offset), false);
    return { core, live, answer: () => pending.shift()!() };
  }

  it('what arrives meanwhile waits; copies of what the replay had are skipped, even after it; then it joins its broadcaster', async () => {
    const { core, live, answer } = relayingCore();
    const broadcaster = new RecordingBroadcaster();
    const resuming = new NamedReceiver('r', broadcaster);
    core.subscribeFrom('t', resuming, 'e-2');
    live(5); // on its way while the history is read: held, and the replay has it too
    live(6);
    answer();
    await Promise.resolve();
    live(5); // a live copy of what the replay had, arriving after it: skipped
    live(7);
    await Promise.resolve(); // the seam closed: it joins its broadcaster
    live(8);
    assert.deepEqual(resuming.got, [{ topic: 't', since: 'e-2', reason: 'trimmed', missed: 1, until: 'e-3' }, 'h4@4', 'h5@5', 'l6@6', 'l7@7']);
    assert.deepEqual(broadcaster.log, ['join t r', 'stamped t l8@8 to r']);
  });

  it('a subscriber that leaves while its replay is read gets nothing more', async () => {
    const { core, live, answer } = relayingCore();
    const resuming = new IdReceiver();
    core.subscribeFrom('t', resuming, 'e-2');
    live(6);
    core.detach(resuming);
    answer();
    await Promise.resolve();
    assert.deepEqual(resuming.got, []);
  });
});

describe('a replay bigger than a backlog', () => {
  it('goes out as the subscriber reads it, with what is published meanwhile after it, and no slow-consumer close', async () => {
    const limits = { ...LIMITS, maxBufferedBytes: 1000 };
    const core = coreWith({ size: 100 }, limits);
    const first = new IdReceiver();
    core.subscribeValidTopic('t', first);
    for (let i = 1; i <= 30; i++) core.publishTopicMessage('t', `${i}`.padStart(100, '.'));
    /** A subscriber whose backlog is what it was sent and has not read yet. */
    class Reader extends IdReceiver {
      backlog = 0;
      closedWith: number | undefined;
      override deliverStamped(message: StampedMessage): void {
        super.deliverStamped(message);
        this.backlog += message.message.byteLength;
      }
      override bufferedAmount(): number {
        return this.backlog;
      }
      override close(code?: number): void {
        this.closedWith = code;
      }
    }
    const reader = new Reader();
    core.subscribeFrom('t', reader, first.stamped[0]!.id);
    const firstBurst = reader.stamped.length;
    assert.ok(firstBurst >= 5 && firstBurst <= 7, `sent while the backlog stayed under half the limit: ${firstBurst}`);
    core.publishTopicMessage('t', 'published during the replay');
    while (reader.stamped.length < 30) {
      reader.backlog = 0; // it reads
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    assert.equal(reader.closedWith, undefined);
    assert.deepEqual(reader.stamped.map((m) => m.offset), Array.from({ length: 30 }, (_, i) => i + 2));
    assert.equal(reader.stamped.at(-1)!.message.data, 'published during the replay');
  });
});
