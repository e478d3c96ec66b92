/**
 * Rule 4 (README, "Limits and hardening": Push queues): with no puller, messages wait up to
 * `pushQueueLimit`; past it a POST answers 503 and a WebSocket pusher is closed with 1013. Nothing
 * is dropped silently: every message accepted is either delivered or still queued.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open } from './helpers/ws-client.ts';
import { assertAlive, assertNoStackTrace, logLines } from './helpers/checks.ts';

const LIMIT = 5;
const T = { timeout: 30_000 };

describe('push queue limit (CLI --push-queue-limit)', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['--push-queue-limit', String(LIMIT)]);
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  /** messagesIn counts accepted messages: each was handed out or still waits. */
  async function assertNothingLost(): Promise<void> {
    const s = await stats(server);
    assert.equal(s.messagesIn, s.messagesOut + s.queued, `accepted = delivered + queued: ${JSON.stringify(s)}`);
  }

  test('POST: the queue holds exactly the limit; the next answers 503 and is not queued', T, async () => {
    for (let i = 0; i < LIMIT; i++) {
      const response = await fetch(`${server.httpUrl}/push/jobs/post`, { method: 'POST', body: `job ${i}` });
      assert.equal(response.status, 200, `job ${i}`);
    }
    assert.equal((await stats(server)).queued, LIMIT);
    const full = await fetch(`${server.httpUrl}/push/jobs/post`, { method: 'POST', body: 'one too many' });
    assert.equal(full.status, 503);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.match((await full.json()).error, /push queue .* is full/);
    const s = await stats(server);
    assert.equal(s.queued, LIMIT);
    assert.equal(s.messagesIn, LIMIT);
    await assertNothingLost();

    // Queues are per topic: another topic still has room.
    assert.equal((await fetch(`${server.httpUrl}/push/jobs/other`, { method: 'POST', body: 'x' })).status, 200);

    // A puller drains the queue in order, and then there is room again.
    const puller = await open(`${server.wsUrl}/pull/jobs/post`);
    assert.deepEqual((await puller.waitFor(LIMIT)).map((m) => m.data), ['job 0', 'job 1', 'job 2', 'job 3', 'job 4']);
    await assertNothingLost();
    // With a puller connected nothing waits, so the limit does not apply.
    for (let i = 0; i < LIMIT * 3; i++) assert.equal((await fetch(`${server.httpUrl}/push/jobs/post`, { method: 'POST', body: `live ${i}` })).status, 200);
    // The live pushes are sentinels: a refused message that had been queued after all would
    // come out of the queue before them.
    const live = Array.from({ length: LIMIT * 3 }, (_, i) => `live ${i}`);
    assert.deepEqual((await puller.waitFor(LIMIT * 4)).map((m) => m.data), ['job 0', 'job 1', 'job 2', 'job 3', 'job 4', ...live], 'the refused message was never delivered');
    await puller.close();

    const drain = await open(`${server.wsUrl}/pull/jobs/other`);
    await drain.waitFor(1);
    await drain.close();
    await waitForStats(server, (x) => x.queued === 0 && x.connections === 0 && x.topics === 0);
    await assertNothingLost();
  });

  test('WebSocket pusher: closed with 1013 at the first refused frame; nothing from it on is accepted', T, async () => {
    const refusalsBefore = logLines(server, 'push queue full').length;
    const pusher = await open(`${server.wsUrl}/push/jobs/ws`);
    // Sent back to back: the refusal cannot stop the frames already on the wire.
    for (let i = 0; i < LIMIT + 10; i++) void pusher.send(`frame ${i}`).catch(() => {});
    const closed = await pusher.closed;
    assert.equal(closed.code, 1013);
    assert.equal(closed.reason, 'push queue full');
    const s = await waitForStats(server, (x) => x.pushers === 0);
    assert.equal(s.queued, LIMIT);
    await assertNothingLost();
    // One line for the one refused pusher, not one per frame that followed.
    assert.equal(logLines(server, 'push queue full').length - refusalsBefore, 1, server.output());

    // Even when a puller arrives, the frames after the refused one never show up: the pusher's
    // 1013 means "everything from the refused frame on was not taken".
    const puller = await open(`${server.wsUrl}/pull/jobs/ws`);
    // A sentinel pushed now goes behind anything still queued: it must come right after frame 4.
    assert.equal((await fetch(`${server.httpUrl}/push/jobs/ws`, { method: 'POST', body: 'sentinel' })).status, 200);
    assert.deepEqual((await puller.waitFor(LIMIT + 1)).map((m) => m.data), ['frame 0', 'frame 1', 'frame 2', 'frame 3', 'frame 4', 'sentinel']);
    await puller.close();
    await waitForStats(server, (x) => x.queued === 0 && x.connections === 0);
    await assertNothingLost();
  });

  test('a full queue on one topic leaves other pushers and pullers alone', T, async () => {
    for (let i = 0; i < LIMIT; i++) await fetch(`${server.httpUrl}/push/full`, { method: 'POST', body: String(i) });
    const puller = await open(`${server.wsUrl}/pull/busy`);
    const pusher = await open(`${server.wsUrl}/push/busy`);
    const refused = await open(`${server.wsUrl}/push/full`);
    void refused.send('no room').catch(() => {});
    assert.equal((await refused.closed).code, 1013);
    for (let i = 0; i < 20; i++) await pusher.send(`busy ${i}`);
    assert.equal((await puller.waitFor(20)).at(-1)!.data, 'busy 19');
    const drain = await open(`${server.wsUrl}/pull/full`);
    await drain.waitFor(LIMIT);
    await Promise.all([puller.close(), pusher.close(), drain.close()]);
    await waitForStats(server, (x) => x.queued === 0 && x.connections === 0 && x.topics === 0);
    await assertNothingLost();
  });
});

describe('push queue limit 0 (no queueing at all)', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['--push-queue-limit', '0']);
  });
  after(async () => {
    await server.stop();
  });

  test('with no puller every push is refused; with one, it is delivered', T, async () => {
    assert.equal((await fetch(`${server.httpUrl}/push/none`, { method: 'POST', body: 'x' })).status, 503);
    const puller = await open(`${server.wsUrl}/pull/none`);
    await waitForStats(server, (s) => s.pullers === 1);
    assert.equal((await fetch(`${server.httpUrl}/push/none`, { method: 'POST', body: 'y' })).status, 200);
    assert.equal((await puller.waitFor(1))[0]!.data, 'y');
    await puller.close();
    const s = await waitForStats(server, (x) => x.connections === 0);
    assert.equal(s.queued, 0);
    assert.equal(s.topics, 0);
  });
});
