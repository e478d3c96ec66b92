/**
 * Start positions in the core (stamped.ts, StartPosition; resume.ts): a subscriber that wants ids
 * and gives no `since` is told first the id of its stream's last message, and then gets exactly
 * what follows it: with the memory engine's history, without history (the topic's own count),
 * and with an engine that answers later (as Redis does) while publishes race the read.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import { MemoryEngine } from '../src/core/memory-engine.ts';
import { BrokerMessage } from '../src/message.ts';
import type { Receiver, TopicBroadcaster } from '../src/receiver.ts';
import { parseStreamId, StampedMessage, type StartPosition, type StreamGap } from '../src/stamped.ts';
import { RELAYED, type Engine, type EngineEvents, type Recovery } from '../src/core/engine.ts';
import { stubEngine } from './helpers/stub-engine.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1 << 20, pushQueueLimit: 3 };

function coreWith(historySize: number): BrokerCore {
  if (historySize === 0) return new BrokerCore(LIMITS);
  return new BrokerCore(LIMITS, (events) => new MemoryEngine(events, { size: historySize, ttlMs: 60_000, maxBytes: 1 << 30 }));
}

/** Records positions as `position@OFFSET`, messages as `data@OFFSET`, gaps as objects. */
class Subscriber implements Receiver {
  readonly got: Array<string | StreamGap> = [];
  readonly positions: StartPosition[] = [];
  readonly epochs = new Set<string>();
  constructor(readonly broadcaster?: TopicBroadcaster) {}
  deliver(message: BrokerMessage): void {
    this.got.push(`raw ${String(message.data)}`);
  }
  deliverStamped(message: StampedMessage): void {
    this.epochs.add(message.epoch);
    this.got.push(`${String(message.message.data)}@${message.offset}`);
  }
  deliverGap(gap: StreamGap): void {
    this.got.push(gap);
  }
  deliverPosition(position: StartPosition): void {
    this.positions.push(position);
    const parsed = parseStreamId(position.id)!;
    this.epochs.add(parsed.epoch);
    this.got.push(`position@${parsed.offset}`);
  }
  get position(): string {
    return this.positions[0]!.id;
  }
  bufferedAmount(): number {
    return 0;
  }
  close(): void {}
}

const epochOf = (id: string) => parseStreamId(id)!.epoch;

function publishAll(core: BrokerCore, topic: string, from: number, to: number): void {
  for (let i = from; i <= to; i++) core.publishTopicMessage(topic, `m${i}`);
}

describe('ids with offset 0', () => {
  it('EPOCH-0 is an id (a start position before any message); leading zeros are not', () => {
    assert.deepEqual(parseStreamId('k3x9-0'), { epoch: 'k3x9', offset: 0 });
    assert.equal(parseStreamId('k3x9-00'), undefined);
    assert.equal(parseStreamId('k3x9-01'), undefined);
    assert.equal(parseStreamId('k3x9-'), undefined);
  });
});

for (const historySize of [100, 0]) {
  describe(`start position, memory engine, ${historySize ? 'history on' : 'history off'}`, () => {
    it('comes first, names the last offset of the stream, and the next message is the one after it', () => {
      const core = coreWith(historySize);
      const keeper = new Subscriber(); // keeps the topic counted without history
      core.subscribeValidTopic('wong', keeper);
      const fresh = new Subscriber();
      core.subscribeFrom('wong', fresh, undefined);
      assert.deepEqual(fresh.positions, [{ topic: 'wong', id: fresh.position }]);
      assert.equal(parseStreamId(fresh.position)!.offset, 0, 'nothing published yet');
      publishAll(core, 'wong/amy', 1, 3);
      const later = new Subscriber();
      core.subscribeFrom('wong', later, undefined);
      core.publishTopicMessage('wong', 'm4');
      assert.deepEqual(fresh.got, ['position@0', 'm1@1', 'm2@2', 'm3@3', 'm4@4']);
      assert.deepEqual(later.got, ['position@3', 'm4@4']);
      assert.deepEqual([...fresh.epochs], [epochOf(later.position)], 'one epoch: the position names the stream the messages are in');
    });

    it('cut right after it: a resume from it gets exactly what was published meanwhile, or hears how much was lost', () => {
      const core = coreWith(historySize);
      const keeper = new Subscriber();
      core.subscribeValidTopic('t', keeper);
      const first = new Subscriber();
      core.subscribeFrom('t', first, undefined);
      core.detach(first);
      publishAll(core, 't', 1, 2);
      const again = new Subscriber();
      core.subscribeFrom('t', again, first.position);
      const epoch = epochOf(first.position);
      if (historySize) assert.deepEqual(again.got, ['m1@1', 'm2@2']);
      else assert.deepEqual(again.got, [{ topic: 't', since: first.position, reason: 'off', missed: 2, until: `${epoch}-2` }]);
    });
  });
}

describe('start position, memory engine, edge cases', () => {
  it('history too small: the resume from a position hears of the exact loss, then what history holds', () => {
    const core = coreWith(2);
    const first = new Subscriber();
    core.subscribeFrom('t', first, undefined);
    core.detach(first);
    publishAll(core, 't', 1, 5);
    const again = new Subscriber();
    core.subscribeFrom('t', again, first.position);
    const epoch = epochOf(first.position);
    assert.deepEqual(again.got, [{ topic: 't', since: first.position, reason: 'trimmed', missed: 3, until: `${epoch}-3` }, 'm4@4', 'm5@5']);
  });

  it('a stream with no epoch gets one, kept as a quiet stream: no history topic counted, and its publishes continue it', () => {
    const core = coreWith(10);
    const quiet = new Subscriber();
    core.subscribeFrom('never/published', quiet, undefined);
    assert.equal(core.stats().historyTopics, 0);
    core.detach(quiet);
    core.publishTopicMessage('never/published', 'm1');
    const again = new Subscriber();
    core.subscribeFrom('never/published', again, quiet.position);
    assert.deepEqual(again.got, ['m1@1'], 'same epoch: replayed, no gap');
  });

  it('history off, the topic left by its last subscriber: its count is gone, and the resume hears of an epoch gap', () => {
    const core = coreWith(0);
    const only = new Subscriber();
    core.subscribeFrom('t', only, undefined);
    core.detach(only);
    core.publishTopicMessage('t', 'lost');
    const again = new Subscriber();
    core.subscribeFrom('t', again, only.position);
    assert.deepEqual(again.got, [{ topic: 't', since: only.position, reason: 'epoch' }]);
  });
});

/** A broadcaster (Bun's native pub/sub) that records what goes through it. */
class RecordingBroadcaster implements TopicBroadcaster {
  readonly log: string[] = [];
  join(topic: string): void {
    this.log.push(`join ${topic}`);
  }
  leave(topic: string): void {
    this.log.push(`leave ${topic}`);
  }
  broadcast(topic: string, _members: ReadonlySet<Receiver>, message: BrokerMessage): void {
    this.log.push(`raw ${topic} ${String(message.data)}`);
  }
  broadcastStamped(topic: string, _members: ReadonlySet<Receiver>, message: StampedMessage): void {
    this.log.push(`stamped ${topic} ${String(message.message.data)}@${message.offset}`);
  }
}

describe('start position read later (as from Redis), publishes racing the read', () => {
  /**
   * An engine whose position is answered when the test says, and whose publishes either come back
   * relayed on epoch `e` (as through Redis) or are left to the core (Redis away: the topic's own
   * count).
   */
  function laterCore(relay: boolean) {
    let events!: EngineEvents;
    const pending: Array<(recovery: Recovery) => void> = [];
    const engine = (ev: EngineEvents): Engine => {
      events = ev;
      return stubEngine({
        stamp: () => (relay ? RELAYED : undefined),
        recover: (_topic, since) => {
          assert.equal(since, undefined);
          return new Promise<Recovery>((resolve) => pending.push(resolve));
        },
      });
    };
    const core = new BrokerCore(LIMITS, engine);
    /** A relayed message arriving live on the topic's channel. */
    const live = (offset: number) => events.deliverStamped('t', new StampedMessage(new BrokerMessage(`l${offset}`), 't', 'e', offset, 0), false);
    return { core, live, answer: (recovery: Recovery) => pending.shift()!(recovery) };
  }

  it('what waited at or before the position is skipped, late copies of it too, then it joins its broadcaster', async () => {
    const { core, live, answer } = laterCore(true);
    const broadcaster = new RecordingBroadcaster();
    const subscriber = new Subscriber(broadcaster);
    core.subscribeFrom('t', subscriber, undefined);
    live(4); // published before the read ran in Redis, arriving after the attach: held, then skipped
    live(5);
    live(6); // published after the read: held, then delivered
    answer({ entries: [], position: { epoch: 'e', offset: 5 } });
    await Promise.resolve();
    live(5); // a copy still on its way on the other connection when the answer came: skipped
    live(7);
    await Promise.resolve(); // past the seam: it joins its broadcaster
    live(8);
    assert.deepEqual(subscriber.got, ['position@5', 'l6@6', 'l7@7']);
    assert.deepEqual(subscriber.positions, [{ topic: 't', id: 'e-5' }]);
    assert.deepEqual(broadcaster.log, ['join t', 'stamped t l8@8']);
  });

  it('an engine that cannot read it: the position is the topic count taken at attach, and what was counted after it follows', async () => {
    const { core, answer } = laterCore(false);
    const subscriber = new Subscriber();
    core.subscribeFrom('t', subscriber, undefined);
    core.publishTopicMessage('t', 'counted here'); // Redis away: the core counts, and it is held
    answer({ entries: [] });
    await Promise.resolve();
    assert.deepEqual(subscriber.got, ['position@0', 'counted here@1']);
    assert.equal(subscriber.epochs.size, 1, 'the position and the message are of the same count');
  });

  it('a subscriber that leaves while its position is read gets nothing', async () => {
    const { core, live, answer } = laterCore(true);
    const subscriber = new Subscriber();
    core.subscribeFrom('t', subscriber, undefined);
    live(1);
    core.detach(subscriber);
    answer({ entries: [], position: { epoch: 'e', offset: 0 } });
    await Promise.resolve();
    assert.deepEqual(subscriber.got, []);
  });
});
