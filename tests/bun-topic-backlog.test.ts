/**
 * The slow-consumer rule of Bun's native fan-out (src/adapters/bun/native-fanout.ts), on its
 * own with stand-in sockets: members' backlogs are read only when one of them may be past
 * `maxBufferedBytes` (a bound kept from what was published), never once per message, and a
 * member past the limit is still dropped promptly, including after a direct send (a replay)
 * the bound does not know of. The real thing on Bun: bun-native-fanout.test.ts.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerMessage } from '../src/message.ts';
import { clock } from '../src/app/sessions.ts';
import type { Receiver, SlowConsumerRule } from '../src/receiver.ts';

// The module imports `hono/bun`, which reads the `Bun` global as it loads: a bare one does here.
(globalThis as { Bun?: object }).Bun ??= {};
const { BunSocketSession, BunTopicBroadcaster } = await import('../src/adapters/bun/native-fanout.ts');
type BunSocketSession = InstanceType<typeof BunSocketSession>;

const LIMIT = 64 * 1024;

class StandInSocket {
  buffered = 0;
  looks = 0;
  readyState = 1;
  sent = 0;
  subscribe() {}
  unsubscribe() {}
  getBufferedAmount() {
    this.looks++;
    return this.buffered;
  }
  sendText(text: string) {
    this.sent += text.length;
  }
  sendBinary(bytes: Uint8Array) {
    this.sent += bytes.byteLength;
  }
}

function setUp(memberCount: number) {
  const broadcaster = new BunTopicBroadcaster(LIMIT);
  let published = 0;
  broadcaster.server = { publish: () => void published++ } as never;
  const members = broadcaster.createMembers();
  const sockets: StandInSocket[] = [];
  const dropped: Receiver[] = [];
  const rule: SlowConsumerRule = {
    dropSlowConsumer(receiver) {
      dropped.push(receiver);
      members.delete(receiver);
    },
  };
  for (let i = 0; i < memberCount; i++) {
    const socket = new StandInSocket();
    const session = new BunSocketSession(socket as never, broadcaster);
    members.add(session);
    broadcaster.join('t', session, members);
    sockets.push(socket);
  }
  const message = new BrokerMessage(new Uint8Array(1000));
  const publish = (times = 1) => {
    for (let i = 0; i < times; i++) broadcaster.broadcast('t', members, message, rule);
  };
  const looks = () => sockets.reduce((sum, socket) => sum + socket.looks, 0);
  return { broadcaster, members, sockets, dropped, publish, looks, published: () => published };
}

describe('Bun native fan-out: the backlog bound', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('members that keep up are looked at once per limit published, not once per message', () => {
    const { publish, looks, published } = setUp(100);
    // A join makes the bound unknown: the first publish brings one look at everyone.
    publish(1);
    mock.timers.tick(10);
    assert.equal(looks(), 100, 'one look per member after the joins');
    // 1,010 bytes a message (frame header counted): 64 publishes stay within 64 KiB.
    publish(64);
    mock.timers.tick(10);
    assert.equal(looks(), 100, 'no look while nobody can be past the limit');
    publish(64 * 10);
    mock.timers.tick(10);
    assert.equal(published(), 1 + 64 + 640);
    assert.ok(looks() <= 100 + 100 * 11, `about one look per member per 64 KiB published, not per message (${looks()} looks)`);
  });

  it('a member that stops reading is dropped once its backlog passes the limit, and the others stay', () => {
    const { publish, sockets, dropped, members } = setUp(10);
    publish(1);
    mock.timers.tick(10);
    // The runtime's buffer of member 3 grows with everything published; the rest drain.
    for (let i = 0; i < 80; i++) {
      publish(1);
      sockets[3]!.buffered += 1010;
    }
    mock.timers.tick(10);
    assert.equal(dropped.length, 1);
    assert.equal((dropped[0] as BunSocketSession).socket, sockets[3] as never);
    assert.equal(members.size, 9);
  });

  it('a burst within one turn is looked at once half the limit has gone out, without waiting for the timer', () => {
    const { publish, sockets, dropped } = setUp(2);
    publish(1);
    // Member 0 lags: close to the limit at this look, so the bound stays close to it.
    sockets[0]!.buffered = LIMIT - 100;
    mock.timers.tick(10);
    assert.equal(dropped.length, 0);
    // It falls further behind (earlier turns written out), and a burst comes, all in one turn.
    sockets[0]!.buffered = LIMIT + 5000;
    publish(40); // 40,400 bytes: past half the limit
    assert.equal(dropped.length, 1, 'dropped within the burst, before any timer');
  });

  it('a burst past the limit is looked at again once Bun has written the turn out', () => {
    const { publish, sockets, dropped } = setUp(2);
    publish(1);
    mock.timers.tick(10);
    // Within one turn nothing shows in the buffers yet (Bun writes a publish at the turn's end).
    publish(70);
    assert.equal(dropped.length, 0, 'the look during the burst saw empty buffers');
    // The turn is written out: member 0 did not read any of it, member 1 did.
    sockets[0]!.buffered = 70 * 1010;
    mock.timers.tick(10);
    assert.equal(dropped.length, 1, 'the timer look found it');
  });

  it('a direct send (a replay) makes the bound unknown: the next publish brings a look', () => {
    const { publish, sockets, dropped, members } = setUp(3);
    publish(1);
    mock.timers.tick(10);
    const replayed = [...members][1] as BunSocketSession;
    // A replay the topic's count never saw fills member 1's buffer past the limit.
    replayed.deliver(new BrokerMessage(new Uint8Array(100)), 't');
    sockets[1]!.buffered = LIMIT + 100;
    publish(1);
    mock.timers.tick(10);
    assert.deepEqual(dropped, [replayed]);
  });

  it('frames published on its topic count as a member\'s activity', () => {
    const { publish, members } = setUp(1);
    const session = [...members][0] as BunSocketSession;
    session.lastActivity = 1000;
    clock.now = 5000;
    publish(1);
    assert.equal(session.lastActivity, 5000);
    session.lastActivity = 9000;
    assert.equal(session.lastActivity, 9000, 'its own later activity counts too');
  });
});
