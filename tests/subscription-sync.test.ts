/**
 * `SubscriptionSync` (src/engine/subscription-sync.ts) on its own, against a fake subscriber
 * connection that records every SUBSCRIBE and UNSUBSCRIBE, answers when the test says so and
 * can fail. What it must keep: Redis ends subscribed to exactly the channels wanted or held, one
 * command at a time, in batches; a failure is retried; a lost connection is resynchronised; a
 * hold answers once its channel is confirmed, and lapses. Timers and `Date` are node:test's mock,
 * so the retry pause and the hold time pass only when a test ticks them.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionSync, type ChannelSubscriber } from '../src/engine/subscription-sync.ts';

// The module's constants (not exported): how long a hold lasts, the batch size, the retry pause.
const HOLD_MS = 5000;
const BATCH = 1000;
const RETRY_MS = 500;

type Command = { kind: 'subscribe' | 'unsubscribe'; channels: string[] };

/** A subscriber connection: what Redis holds, every command sent, and when each one answers. */
class FakeConnection implements ChannelSubscriber {
  readonly subscribed = new Set<string>();
  readonly commands: Command[] = [];
  /** Commands sent and not answered yet (answered at once unless `manual`). */
  readonly waiting: Array<{ command: Command; answer: (ok: boolean) => void }> = [];
  manual = false;
  failures = 0;
  inFlight = 0;
  maxInFlight = 0;

  subscribe(channels: string[]): Promise<void> {
    return this.#send({ kind: 'subscribe', channels: [...channels] });
  }

  unsubscribe(channels: string[]): Promise<void> {
    return this.#send({ kind: 'unsubscribe', channels: [...channels] });
  }

  /** Answers the oldest waiting command (it fails unless `ok`). */
  answer(ok = true): Command {
    const next = this.waiting.shift();
    assert.ok(next, 'no command is waiting for an answer');
    next.answer(ok);
    return next.command;
  }

  #send(command: Command): Promise<void> {
    this.commands.push(command);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const answer = (ok: boolean) => {
        this.inFlight--;
        if (!ok) return reject(new Error('connection trouble'));
        for (const channel of command.channels) {
          if (command.kind === 'subscribe') this.subscribed.add(channel);
          else this.subscribed.delete(channel);
        }
        resolve();
      };
      if (this.manual) this.waiting.push({ command, answer });
      else if (this.failures > 0) {
        this.failures--;
        queueMicrotask(() => answer(false));
      } else queueMicrotask(() => answer(true));
    });
  }
}

/** Lets the sync loop run until it waits on something (an answer, a timer): every microtask. */
const idle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `promise` has resolved once everything that could run has run (never hangs a test). */
async function resolved(promise: Promise<unknown> | undefined): Promise<boolean> {
  let done = false;
  void promise?.then(() => (done = true));
  await idle();
  return done;
}

function setup() {
  const connection = new FakeConnection();
  let settledChanges = 0;
  const sync = new SubscriptionSync(connection, () => settledChanges++);
  return { connection, sync, settledChanges: () => settledChanges };
}

/** A sync whose connection is up and has answered the (empty) resync; `manual`: answers wait. */
async function online(manual = false) {
  const parts = setup();
  parts.sync.setOnline(true);
  await idle();
  parts.connection.manual = manual;
  return parts;
}

const sorted = (channels: Iterable<string>) => [...channels].sort();

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe('SubscriptionSync: want and unwant', () => {
  it('offline it sends nothing; online it subscribes everything wanted in one command and is settled', async () => {
    const { connection, sync, settledChanges } = setup();
    sync.want('a');
    sync.want('b');
    await idle();
    assert.equal(connection.commands.length, 0);
    assert.equal(sync.settled, false);
    sync.setOnline(true);
    await idle();
    assert.deepEqual(connection.commands.map((c) => [c.kind, sorted(c.channels)]), [['subscribe', ['a', 'b']]]);
    assert.deepEqual(sorted(connection.subscribed), ['a', 'b']);
    assert.equal(sync.settled, true);
    assert.equal(settledChanges(), 1);
  });

  it('online, a channel wanted is subscribed and one no longer wanted unsubscribed', async () => {
    const { connection, sync } = await online();
    sync.want('news');
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['news']);
    sync.unwant('news');
    await idle();
    assert.deepEqual(sorted(connection.subscribed), []);
    assert.deepEqual(connection.commands, [
      { kind: 'subscribe', channels: ['news'] },
      { kind: 'unsubscribe', channels: ['news'] },
    ]);
  });

  it('wanting what is subscribed, or unwanting what is not, sends nothing', async () => {
    const { connection, sync } = setup();
    sync.setOnline(true);
    sync.want('x');
    await idle();
    sync.want('x');
    sync.unwant('never');
    await idle();
    assert.deepEqual(connection.commands, [{ kind: 'subscribe', channels: ['x'] }]);
  });

  it('one command at a time: joined, left and joined again while a command is out ends subscribed', async () => {
    const { connection, sync } = await online(true);
    sync.want('t');
    sync.unwant('t');
    sync.want('t');
    sync.unwant('t');
    sync.want('t');
    await idle();
    assert.equal(connection.waiting.length, 1, 'the first SUBSCRIBE is out; the rest waits for its answer');
    connection.answer();
    await idle();
    assert.equal(connection.waiting.length, 0, 'nothing more to send: the last word was "want"');
    assert.deepEqual(sorted(connection.subscribed), ['t']);
    assert.equal(connection.maxInFlight, 1);
  });

  it('left while its SUBSCRIBE is out: unsubscribed right after the answer', async () => {
    const { connection, sync } = await online(true);
    sync.want('t');
    await idle();
    sync.unwant('t');
    connection.answer();
    await idle();
    assert.deepEqual(connection.answer(), { kind: 'unsubscribe', channels: ['t'] });
    await idle();
    assert.deepEqual(sorted(connection.subscribed), []);
    assert.equal(connection.maxInFlight, 1);
  });

  it('many channels go in batches of at most 1000', async () => {
    const { connection, sync } = setup();
    const channels = Array.from({ length: 2 * BATCH + 500 }, (_, i) => `c${i}`);
    for (const channel of channels) sync.want(channel);
    sync.setOnline(true);
    await idle();
    assert.deepEqual(connection.commands.map((c) => [c.kind, c.channels.length]), [['subscribe', BATCH], ['subscribe', BATCH], ['subscribe', 500]]);
    assert.equal(connection.subscribed.size, channels.length);
    assert.equal(sync.settled, true);
    // Online, the first change goes out at once and the ones made meanwhile follow in batches.
    for (const channel of channels) sync.unwant(channel);
    await idle();
    assert.deepEqual(connection.commands.slice(3).map((c) => [c.kind, c.channels.length]), [['unsubscribe', 1], ['unsubscribe', BATCH], ['unsubscribe', BATCH], ['unsubscribe', 499]]);
    assert.equal(connection.subscribed.size, 0);
  });
});

describe('SubscriptionSync: failures and reconnects', () => {
  it('a failed SUBSCRIBE is retried after a pause, and only then is the sync settled', async () => {
    const { connection, sync, settledChanges } = setup();
    sync.want('a');
    connection.failures = 1;
    sync.setOnline(true);
    await idle();
    assert.equal(connection.commands.length, 1);
    assert.equal(sync.settled, false);
    mock.timers.tick(RETRY_MS - 1);
    await idle();
    assert.equal(connection.commands.length, 1, 'no retry before the pause is over');
    mock.timers.tick(1);
    await idle();
    assert.equal(connection.commands.length, 2);
    assert.deepEqual(sorted(connection.subscribed), ['a']);
    assert.equal(sync.settled, true);
    assert.equal(settledChanges(), 1);
  });

  it('a failed UNSUBSCRIBE is retried too', async () => {
    const { connection, sync } = setup();
    sync.setOnline(true);
    sync.want('a');
    await idle();
    connection.failures = 2;
    sync.unwant('a');
    await idle();
    mock.timers.tick(RETRY_MS);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['a'], 'failed twice so far');
    mock.timers.tick(RETRY_MS);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), []);
    assert.deepEqual(connection.commands.map((c) => c.kind), ['subscribe', 'unsubscribe', 'unsubscribe', 'unsubscribe']);
  });

  it('a lost connection unsettles; back online every wanted channel is sent again and the unwanted dropped', async () => {
    const { connection, sync, settledChanges } = setup();
    sync.setOnline(true);
    sync.want('kept');
    sync.want('left');
    await idle();
    const sent = connection.commands.length;
    sync.setOnline(false);
    assert.equal(sync.settled, false);
    assert.equal(settledChanges(), 2);
    // While offline: one channel left, one joined; nothing is sent.
    sync.unwant('left');
    sync.want('joined');
    await idle();
    assert.equal(connection.commands.length, sent);
    // Redis lost the subscriptions with the connection; the client restores what it knew.
    connection.subscribed.clear();
    connection.subscribed.add('kept').add('left');
    sync.setOnline(true);
    await idle();
    const resync = connection.commands.slice(sent);
    assert.deepEqual(
      resync.map((c) => [c.kind, sorted(c.channels)]),
      [['subscribe', ['joined', 'kept']], ['unsubscribe', ['left']]],
    );
    assert.deepEqual(sorted(connection.subscribed), ['joined', 'kept']);
    assert.equal(sync.settled, true);
    assert.equal(settledChanges(), 3);
  });

  it('a reconnect while a command is out starts no second loop beside it', async () => {
    const { connection, sync } = await online(true);
    sync.want('a');
    await idle();
    sync.setOnline(false);
    sync.setOnline(true);
    sync.want('b');
    await idle();
    assert.equal(connection.waiting.length, 1, 'still only the first command out');
    connection.answer();
    await idle();
    connection.answer();
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['a', 'b']);
    assert.equal(connection.maxInFlight, 1);
  });

  it('commands stop while offline and go on once online again', async () => {
    const { connection, sync } = await online(true);
    sync.want('a');
    await idle();
    sync.setOnline(false);
    sync.want('b');
    connection.answer(false);
    await idle();
    mock.timers.tick(RETRY_MS);
    await idle();
    assert.equal(connection.waiting.length, 0, 'no retry on a connection that is down');
    connection.manual = false;
    sync.setOnline(true);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['a', 'b']);
    assert.equal(sync.settled, true);
  });
});

describe('SubscriptionSync: holds', () => {
  it('a hold answers once its channel is confirmed, not before', async () => {
    const { connection, sync } = await online(true);
    const held = sync.hold('h');
    assert.ok(held, 'not subscribed yet: something to wait for');
    assert.equal(await resolved(held), false, 'SUBSCRIBE not answered yet');
    assert.deepEqual(connection.answer(), { kind: 'subscribe', channels: ['h'] });
    assert.equal(await resolved(held), true);
  });

  it('no hold is needed offline, or for a channel already subscribed and wanted', async () => {
    const { sync } = setup();
    assert.equal(sync.hold('h'), undefined, 'offline: a local client is not kept waiting');
    sync.setOnline(true);
    sync.want('h');
    await idle();
    assert.equal(sync.hold('h'), undefined);
  });

  it('a hold keeps its channel subscribed for 5 s, then lets it go unless it became wanted', async () => {
    const { connection, sync } = await online();
    assert.ok(await resolved(sync.hold('lapses')));
    assert.ok(await resolved(sync.hold('kept')));
    sync.want('kept');
    mock.timers.tick(HOLD_MS);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['kept', 'lapses'], 'still within the hold');
    mock.timers.tick(10);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['kept']);
    sync.unwant('kept');
    await idle();
    assert.deepEqual(sorted(connection.subscribed), []);
  });

  it('a hold renewed before it lapses keeps the channel until the new hold ends', async () => {
    const { connection, sync } = await online();
    assert.ok(await resolved(sync.hold('h')));
    mock.timers.tick(HOLD_MS / 2);
    assert.equal(sync.hold('h'), undefined, 'already subscribed: nothing to wait for, but held again');
    mock.timers.tick(HOLD_MS / 2 + 10);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), ['h'], 'the first hold is over, the second is not');
    mock.timers.tick(HOLD_MS / 2);
    await idle();
    assert.deepEqual(sorted(connection.subscribed), []);
  });

  it('waiting holds are let go when the connection is lost', async () => {
    const { connection, sync } = await online(true);
    const held = sync.hold('one');
    sync.setOnline(false);
    assert.ok(await resolved(held), "let go although 'one' was never confirmed");
    assert.deepEqual(sorted(connection.subscribed), []);
  });
});

describe('SubscriptionSync: close', () => {
  it('lets waiting holds go and sends nothing more, whatever happens after', async () => {
    const { connection, sync } = await online(true);
    const held = sync.hold('two');
    assert.ok(held);
    sync.close();
    assert.ok(await resolved(held));
    connection.answer();
    connection.manual = false;
    await idle();
    const sent = connection.commands.length;
    sync.want('after');
    sync.setOnline(true);
    sync.want('later');
    await idle();
    assert.equal(sync.hold('late'), undefined, 'closed: nothing to wait for');
    assert.equal(connection.commands.length, sent, 'closed: nothing more is sent');
  });

  it('cancels a retry that was due', async () => {
    const { connection, sync } = setup();
    connection.failures = 1;
    sync.want('a');
    sync.setOnline(true);
    await idle();
    sync.close();
    mock.timers.tick(RETRY_MS * 4);
    await idle();
    assert.equal(connection.commands.length, 1);
  });
});
