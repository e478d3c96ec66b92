/**
 * The pieces behind definite push answers in cluster mode (tests/cluster-push-answers.test.ts
 * runs them against a real Redis): the deadline each push carries (on Redis's clock, never later
 * than an earlier unanswered push's), the bounded wait, and telling a Redis that refuses writes
 * from one that failed otherwise.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PUSH_ANSWER_MS, PUSH_DEADLINE_MS, PushAnswers } from '../src/engine/redis/push-answers.ts';
import { RedisClock } from '../src/engine/redis/redis-clock.ts';
import { writeRefusal } from '../src/engine/redis/write-refusal.ts';
import type { PushResult } from '../src/core/push-pull.ts';

/** A push whose answer the test gives by hand. */
function manual(): { run: (deadline: number) => Promise<PushResult>; deadline: () => number; answer: (result: PushResult) => void } {
  let deadline = Number.NaN;
  let answer: (result: PushResult) => void = () => {};
  return {
    run: (given) => {
      deadline = given;
      return new Promise((resolve) => (answer = resolve));
    },
    deadline: () => deadline,
    answer: (result) => answer(result),
  };
}

describe('RedisClock', () => {
  it('sets deadlines on Redis\'s clock, from the middle of a quick round trip', () => {
    const clock = new RedisClock();
    const now = Date.now();
    clock.observe(now - 10, now, now - 5 + 60_000); // Redis is a minute ahead
    assert.ok(Math.abs(clock.now() - (Date.now() + 60_000)) < 50);
    clock.observe(now - 500, now, now); // too slow to say anything: ignored
    assert.ok(Math.abs(clock.now() - (Date.now() + 60_000)) < 50);
  });
});

describe('PushAnswers', () => {
  it('a push gets a deadline PUSH_DEADLINE_MS ahead on Redis\'s clock, and Redis\'s answer', async () => {
    const clock = new RedisClock();
    const answers = new PushAnswers(clock, () => assert.fail('nothing ran late'));
    const push = manual();
    const before = clock.now();
    const answered = answers.send(push.run);
    assert.ok(push.deadline() >= before + PUSH_DEADLINE_MS && push.deadline() <= clock.now() + PUSH_DEADLINE_MS);
    push.answer('queued');
    assert.equal(await answered, 'queued');
  });

  it('a push sent while an earlier one is unanswered keeps the earlier deadline, so it cannot run after a late one', async () => {
    const answers = new PushAnswers(new RedisClock(), () => {});
    const first = manual();
    const second = manual();
    const one = answers.send(first.run);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const two = answers.send(second.run);
    assert.equal(second.deadline(), first.deadline());
    first.answer('delivered');
    second.answer('delivered');
    assert.deepEqual(await Promise.all([one, two]), ['delivered', 'delivered']);
    // Once nothing is unanswered, a new push gets a fresh deadline.
    const third = manual();
    const three = answers.send(third.run);
    assert.ok(third.deadline() > first.deadline());
    third.answer('delivered');
    await three;
  });

  it(`an unanswered push is answered timeout at ${PUSH_ANSWER_MS} ms; running later anyway is reported`, async () => {
    // The broker's timer does not hold the process open (a closing broker must exit): this does.
    const keepAlive = setTimeout(() => {}, 3 * PUSH_ANSWER_MS);
    const late: PushResult[] = [];
    const answers = new PushAnswers(new RedisClock(), (result) => late.push(result));
    const push = manual();
    const started = Date.now();
    assert.equal(await answers.send(push.run), 'timeout');
    assert.ok(Date.now() - started >= PUSH_ANSWER_MS - 5);
    push.answer('timeout'); // the script saw its deadline pass: nothing to report
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(late, []);
    const another = manual();
    const pending = answers.send(another.run);
    await pending;
    another.answer('delivered');
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(late, ['delivered']);
    clearTimeout(keepAlive);
  });
});

describe('writeRefusal', () => {
  it('names what Redis says when it refuses writes, and nothing else', () => {
    assert.equal(
      writeRefusal(new Error("OOM command not allowed when used memory > 'maxmemory'. script: 0043349dc6e2cb9dbcd581771fec490c15a210f4, on @user_script:1.")),
      "OOM command not allowed when used memory > 'maxmemory'.",
    );
    assert.match(writeRefusal(new Error('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'))!, /^MISCONF /);
    assert.equal(writeRefusal(new Error("READONLY You can't write against a read only replica.")), "READONLY You can't write against a read only replica.");
    assert.match(writeRefusal(new Error('ERR Error running script: @user_script:12: -OOM command not allowed'))!, /OOM/);
    for (const other of ['Socket closed unexpectedly', 'The client is closed', 'NOSCRIPT No matching script.', 'ERR wrong number of arguments']) {
      assert.equal(writeRefusal(new Error(other)), undefined, other);
    }
  });
});
