/**
 * The engine contract (src/core/engine.ts) seen from both sides: what the core tells its engine
 * (interest appearing and disappearing, forwards after local delivery, pullers, pushes) and what
 * the engine may do through the events the core hands it (deliver what other nodes sent, use
 * the local queue, count failures), plus the memory engine the core uses by default.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerCore, type CoreLimits } from '../src/core/broker-core.ts';
import type { Engine, EngineEvents, ReceiverKind } from '../src/core/engine.ts';
import type { PushResult } from '../src/core/push-pull.ts';
import { BrokerMessage, type MessageData } from '../src/message.ts';
import type { Receiver } from '../src/receiver.ts';

const LIMITS: CoreLimits = { maxTopicDepth: 32, maxTopicLength: 1024, maxBufferedBytes: 1000, pushQueueLimit: 3 };

/** Calls the core made on its engine, and receivers' deliveries, in one ordered log. */
type Log = string[];

class RecordingEngine implements Engine {
  events!: EngineEvents;
  pushAnswer: PushResult | Promise<PushResult> | undefined;
  prepareAnswer: Promise<void> | undefined;
  constructor(readonly log: Log) {}
  topicActive(kind: 'sub' | 'bus', topic: string): void {
    this.log.push(`active ${kind} ${topic}`);
  }
  topicIdle(kind: 'sub' | 'bus', topic: string): void {
    this.log.push(`idle ${kind} ${topic}`);
  }
  prepare(kind: ReceiverKind, topic: string): Promise<void> | undefined {
    this.log.push(`prepare ${kind} ${topic}`);
    return this.prepareAnswer;
  }
  publish(topic: string, message: BrokerMessage): void {
    this.log.push(`publish ${topic} ${String(message.data)}`);
  }
  sendBus(topic: string, message: BrokerMessage): void {
    this.log.push(`sendBus ${topic} ${String(message.data)}`);
  }
  pullerAdded(topic: string, puller: Receiver): void {
    this.log.push(`pullerAdded ${topic} ${(puller as LoggingReceiver).name}`);
  }
  pullerRemoved(topic: string, puller: Receiver): void {
    this.log.push(`pullerRemoved ${topic} ${(puller as LoggingReceiver).name}`);
  }
  push(topic: string, message: BrokerMessage): PushResult | Promise<PushResult> {
    this.log.push(`push ${topic} ${String(message.data)}`);
    return this.pushAnswer ?? this.events.pushLocally(topic, message);
  }
  problem(): string | undefined {
    return 'recording: not connected';
  }
  connected(): Promise<boolean> {
    return Promise.resolve(false);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class LoggingReceiver implements Receiver {
  closedWith: number | undefined;
  constructor(
    readonly log: Log,
    readonly name: string,
    public backlog = 0,
  ) {}
  deliver(message: BrokerMessage, topic: string): void {
    this.log.push(`${this.name} got ${String(message.data)} on ${topic}`);
  }
  bufferedAmount(): number {
    return this.backlog;
  }
  close(code: number): void {
    this.closedWith ??= code;
  }
}

function setUp(limits: CoreLimits = LIMITS): { core: BrokerCore; engine: RecordingEngine; log: Log } {
  const log: Log = [];
  let engine: RecordingEngine | undefined;
  const core = new BrokerCore(limits, (events) => {
    engine = new RecordingEngine(log);
    engine.events = events;
    return engine;
  });
  return { core, engine: engine!, log };
}

describe('engine contract: what the core tells its engine', () => {
  it('interest: a topic is active with its first subscriber or peer and idle after its last', () => {
    const { core, log } = setUp();
    const [a, b] = [new LoggingReceiver([], 'a'), new LoggingReceiver([], 'b')];
    core.addTopicSubscriber('news', a);
    core.addTopicSubscriber('news', b);
    core.addTopicSubscriber('news/today', a);
    core.removeTopicSubscriber('news', a);
    core.removeTopicSubscriber('news', b);
    core.joinBus('room', a, false);
    core.joinBus('room', b, false);
    core.detach(a);
    core.detach(b);
    assert.deepEqual(log, ['active sub news', 'active sub news/today', 'idle sub news', 'active bus room', 'idle sub news/today', 'idle bus room']);
  });

  it('a publish and a bus message reach local receivers first, then the engine, once', () => {
    const { core, log } = setUp();
    const [sub, peer, sender] = [new LoggingReceiver(log, 'sub'), new LoggingReceiver(log, 'peer'), new LoggingReceiver(log, 'sender')];
    core.addTopicSubscriber('a', sub);
    core.joinBus('room', peer, false);
    core.joinBus('room', sender, false);
    log.length = 0;
    assert.equal(core.publishTopicMessage('a/b', 'm1'), 1);
    assert.equal(core.publishTopicMessage('nobody', 'm2'), 0);
    assert.equal(core.sendBus('room', 'hi', sender), 1);
    assert.deepEqual(log, ['sub got m1 on a/b', 'publish a/b m1', 'publish nobody m2', 'peer got hi on room', 'sendBus room hi']);
  });

  it('pullers joining and leaving, also when dropped as slow consumers', () => {
    const { core, log } = setUp();
    const slow = new LoggingReceiver(log, 'slow', 5000);
    const fine = new LoggingReceiver(log, 'fine');
    core.addPuller('jobs', slow);
    core.addPuller('jobs', fine);
    // The memory path of this engine (pushLocally) drops the slow one and gives the job to the next.
    assert.equal(core.push('jobs', 'j1'), 'delivered');
    core.removePuller('jobs', fine);
    assert.equal(slow.closedWith, 1013);
    assert.deepEqual(log, ['pullerAdded jobs slow', 'pullerAdded jobs fine', 'push jobs j1', 'pullerRemoved jobs slow', 'fine got j1 on jobs', 'pullerRemoved jobs fine']);
  });

  it('prepare is the engine\'s answer', async () => {
    const { core, engine, log } = setUp();
    assert.equal(core.prepare('sub', 't'), undefined);
    let release!: () => void;
    engine.prepareAnswer = new Promise<void>((resolve) => (release = resolve));
    const waiting = core.prepare('pull', 'q');
    assert.ok(waiting instanceof Promise);
    release();
    await waiting;
    assert.deepEqual(log, ['prepare sub t', 'prepare pull q']);
  });

  it('a push counts as a message in only once a puller or a queue took it, sync or async', async () => {
    const { core, engine } = setUp();
    const answers: PushResult[] = ['delivered', 'queued', 'full', 'unavailable'];
    for (const answer of answers) {
      engine.pushAnswer = answer;
      assert.equal(core.push('t', 'x'), answer);
    }
    assert.equal(core.stats().messagesIn, 2);
    for (const answer of answers) {
      engine.pushAnswer = Promise.resolve(answer);
      assert.equal(await core.push('t', 'x'), answer);
    }
    assert.equal(core.stats().messagesIn, 4);
  });

  it('the engine sees only its lifecycle through core.engine', async () => {
    const { core } = setUp();
    assert.equal(core.engine.problem(), 'recording: not connected');
    assert.equal(await core.engine.connected(10), false);
  });
});

describe('engine contract: what the engine may do through its events', () => {
  it('deliverPublish reaches local subscribers of the topic and its ancestors, and is not forwarded again', () => {
    const { core, engine, log } = setUp();
    const calls: Array<[MessageData, string]> = [];
    core.addTopicSubscriber('a', new LoggingReceiver(log, 'a'));
    core.addTopicSubscriber('a/b', (data: MessageData, topic: string) => void calls.push([data, topic]));
    log.length = 0;
    assert.equal(engine.events.deliverPublish('a/b/c', new BrokerMessage('remote')), 2);
    assert.deepEqual(log, ['a got remote on a/b/c'], 'no engine.publish: it came from another node');
    assert.deepEqual(calls, [['remote', 'a/b/c']]);
    assert.equal(core.stats().messagesIn, 0, 'counted as in on the node it was published on');
    assert.equal(core.stats().messagesOut, 2);
  });

  it('deliverBus reaches every local peer of exactly that topic, and is not forwarded again', () => {
    const { core, engine, log } = setUp();
    core.joinBus('room', new LoggingReceiver(log, 'p1'), false);
    core.joinBus('room', new LoggingReceiver(log, 'p2'), false);
    core.joinBus('room/sub', new LoggingReceiver(log, 'child'), false);
    log.length = 0;
    assert.equal(engine.events.deliverBus('room', new BrokerMessage('remote')), 2);
    assert.deepEqual(log, ['p1 got remote on room', 'p2 got remote on room']);
  });

  it('deliverToPuller applies the slow-consumer rule and says whether the puller took it', () => {
    const { core, engine, log } = setUp();
    const fine = new LoggingReceiver(log, 'fine');
    const slow = new LoggingReceiver(log, 'slow', 5000);
    core.addPuller('jobs', fine);
    core.addPuller('jobs', slow);
    log.length = 0;
    assert.equal(engine.events.deliverToPuller(fine, 'jobs', new BrokerMessage('routed')), true);
    assert.equal(engine.events.deliverToPuller(slow, 'jobs', new BrokerMessage('routed')), false);
    assert.equal(slow.closedWith, 1013);
    assert.deepEqual(log, ['fine got routed on jobs', 'pullerRemoved jobs slow']);
    assert.equal(core.stats().pullers, 1);
    assert.equal(core.stats().slowConsumerDisconnects, 1);
  });

  it('pushLocally queues while no local puller is there; takeLocalQueue hands the queue over, oldest first', () => {
    const { core, engine } = setUp();
    for (const m of ['q1', 'q2', 'q3']) assert.equal(engine.events.pushLocally('q', new BrokerMessage(m)), 'queued');
    assert.equal(engine.events.pushLocally('q', new BrokerMessage('q4')), 'full', 'pushQueueLimit 3');
    assert.equal(engine.events.pushLocally('other', new BrokerMessage('o1')), 'queued');
    const puller = new LoggingReceiver([], 'p');
    core.addPuller('served', puller);
    assert.equal(engine.events.pushLocally('served', new BrokerMessage('s1')), 'delivered');
    assert.equal(core.stats().queued, 4);
    const taken = engine.events.takeLocalQueue().map(([topic, messages]) => [topic, messages.map((m) => m.data)]);
    assert.deepEqual(taken, [['q', ['q1', 'q2', 'q3']], ['other', ['o1']]]);
    assert.equal(core.stats().queued, 0);
    assert.deepEqual(engine.events.takeLocalQueue(), []);
  });

  it('forwardFailed counts into /stats forwardFailures; ancestorsOf lists the topic first', () => {
    const { core, engine } = setUp();
    engine.events.forwardFailed(1);
    engine.events.forwardFailed(41);
    assert.equal(core.stats().forwardFailures, 42);
    assert.deepEqual(engine.events.ancestorsOf('a/b/c'), ['a/b/c', 'a/b', 'a']);
  });
});

describe('the memory engine (the default)', () => {
  it('is one process: healthy, joined at once, push is the local round robin and queue', async () => {
    const core = new BrokerCore(LIMITS);
    assert.equal(core.engine.problem(), undefined);
    assert.equal(await core.engine.connected(0), true);
    assert.equal(core.prepare('sub', 't'), undefined);
    assert.equal(core.push('q', 'waits'), 'queued');
    const log: Log = [];
    core.addPuller('q', new LoggingReceiver(log, 'p0'));
    core.addPuller('q', new LoggingReceiver(log, 'p1'));
    assert.equal(core.push('q', 'a'), 'delivered');
    assert.equal(core.push('q', 'b'), 'delivered');
    assert.deepEqual(log, ['p0 got waits on q', 'p0 got a on q', 'p1 got b on q']);
    await core.engine.close();
  });
});
