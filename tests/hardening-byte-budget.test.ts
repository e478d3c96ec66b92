/**
 * Byte budgets (issue 15, finding 2; README "Limits and hardening"). Push queues were capped in
 * messages only: 4,088 POSTs of 1 MiB to one push topic with no puller crashed Node, and a
 * million one-message topics held 759 MiB. Now each push topic holds at most `pushQueueBytes`
 * (default 2 MiB, so a full queue still goes to a new puller without making it a slow
 * consumer), and everything the broker holds for clients reserves from one budget,
 * `maxHeldBytes`: a POST past either answers 503 naming the limit (with Retry-After), a WebSocket
 * pusher is closed with 1013 naming it, each refusal is counted (`budgetRefusals`), and
 * `heldBytes` shows what is held. Black box, against the CLI on Node, Deno and Bun (the finding
 * crashed Node and Deno and grew Bun past 6 GB).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli, denoCli } from './helpers/runtimes.ts';
import { open } from './helpers/ws-client.ts';
import { assertAlive, assertNoStackTrace, MiB } from './helpers/checks.ts';

const T = { timeout: 60_000 };

function push(server: RunningServer, topic: string, body: BodyInit, binary = false): Promise<Response> {
  const headers = binary ? { 'content-type': 'application/octet-stream' } : undefined;
  return fetch(`${server.httpUrl}/push/${topic}`, { method: 'POST', body, headers });
}

const RUNTIMES: Array<[string, Launcher]> = [
  ['Node', nodeCli],
  ['Deno', denoCli],
  ['Bun', bunCli],
];

for (const [runtime, launch] of RUNTIMES) {
  describe(`${runtime}: pushQueueBytes (default 2 MiB per push topic)`, () => {
    let server: RunningServer;
    before(async () => {
      server = await launch(['-m', 'production']);
    });
    after(async () => {
      assertAlive(server);
      assertNoStackTrace(server);
      await server.stop();
    });

    test('1 MiB POSTs to a topic nobody pulls: two are queued, the third is 503 naming pushQueueBytes', T, async () => {
      const body = new Uint8Array(MiB).fill(7);
      for (let i = 0; i < 2; i++) assert.equal((await push(server, 'jobs/big', body, true)).status, 200, `push ${i}`);
      const refused = await push(server, 'jobs/big', body, true);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal((await refused.json()).error, 'push queue for "jobs/big" is full (pushQueueBytes 2097152 bytes)');
      let s = await stats(server);
      assert.equal(s.queued, 2);
      assert.equal(s.messagesIn, 2, 'the refused push was not taken');
      assert.equal(s.budgetRefusals, 1);
      assert.ok(s.heldBytes >= 2 * MiB && s.heldBytes < 2 * MiB + 64 * 1024, `heldBytes ${s.heldBytes}: the queue and a little bookkeeping`);

      // A small message still does not fit: the queue is full in bytes, whatever the count.
      const pusher = await open(`${server.wsUrl}/push/jobs/big`);
      void pusher.send('one byte too many').catch(() => {});
      assert.deepEqual(await pusher.closed, { code: 1013, reason: 'push queue full (pushQueueBytes)' });
      s = await stats(server);
      assert.equal(s.budgetRefusals, 2);
      // Other topics have room of their own.
      assert.equal((await push(server, 'jobs/other', 'fits')).status, 200);

      // A puller takes the whole queue at once without becoming a slow consumer (the default
      // maxBufferedBytes is 4 MiB); then the topic has room again and nothing is held.
      const puller = await open(`${server.wsUrl}/pull/jobs/big`);
      const got = await puller.waitFor(2, 20_000);
      assert.ok(got.every((m) => m.binary && (m.data as Buffer).byteLength === MiB));
      await puller.close();
      const other = await open(`${server.wsUrl}/pull/jobs/other`);
      await other.waitFor(1);
      await other.close();
      s = await waitForStats(server, (x) => x.connections === 0 && x.queued === 0);
      assert.equal(s.heldBytes, 0);
      assert.equal(s.topics, 0);
      assert.equal((await push(server, 'jobs/big', body, true)).status, 200, 'room again');
    });
  });

  describe(`${runtime}: maxHeldBytes (one budget for everything held)`, () => {
    const LIMIT = 200_000;
    let server: RunningServer;
    before(async () => {
      server = await launch(['-m', 'production', '--max-held-bytes', String(LIMIT)]);
    });
    after(async () => {
      assertAlive(server);
      assertNoStackTrace(server);
      await server.stop();
    });

    test('one-message push topics, each within its own limits, are refused once the broker holds maxHeldBytes', T, async () => {
      let accepted = 0;
      let refused: Response | undefined;
      // Each topic costs its message and its bookkeeping: far fewer than 2,000 fit in 200,000 bytes.
      for (let i = 0; i < 2000 && !refused; i++) {
        const response = await push(server, `many/${i}`, 'x');
        if (response.status === 200) accepted++;
        else refused = response;
      }
      assert.ok(refused, `2,000 one-message topics were all taken under maxHeldBytes ${LIMIT}`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal((await refused.json()).error, `the broker holds all the bytes it may for clients (maxHeldBytes ${LIMIT}); try again later`);
      // The estimate counts what a topic really costs (hundreds of bytes), not just its one byte.
      assert.ok(accepted >= 100 && accepted < 1000, `${accepted} topics accepted`);
      let s = await stats(server);
      assert.ok(s.heldBytes <= LIMIT && s.heldBytes > LIMIT - 2000, `heldBytes ${s.heldBytes} near the limit, never past it`);
      assert.equal(s.budgetRefusals, 1);
      assert.equal(s.topics, accepted);

      // The budget is global: a topic that already queues is refused too, and a WebSocket pusher
      // is closed with 1013 naming the limit.
      assert.equal((await push(server, 'many/0', 'x')).status, 503);
      const pusher = await open(`${server.wsUrl}/push/elsewhere`);
      void pusher.send('no room').catch(() => {});
      assert.deepEqual(await pusher.closed, { code: 1013, reason: 'broker memory budget full (maxHeldBytes)' });
      s = await stats(server);
      assert.equal(s.budgetRefusals, 3);

      // /metrics carries both.
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      assert.match(metrics, new RegExp(`^broker_held_bytes ${s.heldBytes}$`, 'm'));
      assert.match(metrics, /^broker_budget_refusals_total 3$/m);

      // Pulling frees the budget: room again, and nothing held once every queue is taken.
      for (let i = 0; i < accepted; i++) {
        const puller = await open(`${server.wsUrl}/pull/many/${i}`);
        await puller.waitFor(1);
        await puller.close();
      }
      s = await waitForStats(server, (x) => x.connections === 0 && x.queued === 0);
      assert.equal(s.heldBytes, 0);
      assert.equal(s.topics, 0);
      assert.equal((await push(server, 'many/again', 'x')).status, 200);
      const last = await open(`${server.wsUrl}/pull/many/again`);
      await last.waitFor(1);
      await last.close();
      await waitForStats(server, (x) => x.heldBytes === 0 && x.connections === 0);
    });
  });
}
