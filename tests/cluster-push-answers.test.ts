/**
 * Definite push answers in cluster mode (issue 15, finding 8). With Redis at its memory limit
 * `POST /push` answered 503 while `/healthz` stayed 200; with Redis frozen 6 s `POST /push` hung,
 * and pushes whose clients had given up were delivered later (a retrying client duplicates them).
 * Now a push is answered within 2 s, a push answered as refused is never delivered afterwards,
 * and `/healthz` says when Redis refuses writes. A real redis-server, with `maxmemory` set tiny
 * (`CONFIG SET`) and frozen (SIGSTOP, then SIGCONT); pullers on node A, pushers on node B, so
 * every push crosses Redis.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { open, type TestClient } from './helpers/ws-client.ts';
import { startRedis, type RedisClient, type RedisServer } from './helpers/redis.ts';
import { assertNoStackTrace, logLines, waitUntil } from './helpers/checks.ts';
import { PREFIX, health, waitHealthy } from './helpers/cluster.ts';

const T = { timeout: 60_000 };
/** Longer than any answer the broker may take (2 s): a client that waits this long has given up. */
const CLIENT_TIMEOUT_MS = 4500;

let redis: RedisServer;
let inspect: RedisClient;
let a: RunningServer;
let b: RunningServer;
const clients: TestClient[] = [];

async function client(url: string): Promise<TestClient> {
  const opened = await open(url);
  clients.push(opened);
  return opened;
}

/** POST /push with a client that gives up after CLIENT_TIMEOUT_MS (it throws then). */
function push(node: RunningServer, topic: string, body: string): Promise<Response> {
  return fetch(`${node.httpUrl}/push/${topic}`, { method: 'POST', body, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
}

async function pullerOn(topic: string): Promise<TestClient> {
  const puller = await client(`${a.wsUrl}/pull/${topic}`);
  await waitUntil(`puller of ${topic} registered`, async () => (await inspect.lLen(`${PREFIX}pullers:${topic}`)) === 1);
  return puller;
}

/** What `puller` got up to and including `sentinel`, pushed now through node B. */
async function everythingUpTo(puller: TestClient, topic: string, sentinel: string): Promise<string[]> {
  assert.equal((await push(b, topic, sentinel)).status, 200);
  await waitUntil(() => `${sentinel} among ${JSON.stringify(puller.texts())}`, () => puller.texts().includes(sentinel));
  return puller.texts();
}

describe('cluster mode: definite push answers', () => {
  before(async () => {
    redis = await startRedis();
    inspect = await redis.client();
    [a, b] = await Promise.all([nodeCli(['--redis', redis.url]), nodeCli(['--redis', redis.url])]);
    await Promise.all([waitHealthy(a), waitHealthy(b)]);
  });

  after(async () => {
    redis?.resume();
    for (const opened of clients) opened.socket.terminate();
    for (const node of [a, b]) if (node) assertNoStackTrace(node);
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  test('Redis at its memory limit: the push is refused and never delivered, /healthz says Redis refuses writes', T, async () => {
    const puller = await pullerOn('jobs/oom');
    assert.equal((await push(b, 'jobs/oom', 'before')).status, 200);
    await puller.waitFor(1, 10_000);

    await inspect.configSet('maxmemory', '1');
    try {
      // A puller is there: the push must not reach it and then be answered 503.
      const refused = await push(b, 'jobs/oom', 'refused with a puller');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match((await refused.json()).error, /cluster engine unavailable \(redis: refuses writes: OOM /);
      // No puller: the push cannot be queued either.
      const queued = await push(b, 'jobs/oom-queue', 'refused without a puller');
      assert.equal(queued.status, 503);
      // Health tells the truth on the node that was refused, and on the other at its next heartbeat.
      for (const node of [b, a]) {
        await waitUntil('/healthz 503 while Redis refuses writes', async () => (await health(node)).status === 503, 5000);
        assert.match((await health(node)).body, /^unhealthy: redis: refuses writes: OOM command not allowed/);
      }
    } finally {
      await inspect.configSet('maxmemory', '0');
    }
    await Promise.all([waitHealthy(a, 10_000), waitHealthy(b, 10_000)]);

    assert.deepEqual(await everythingUpTo(puller, 'jobs/oom', 'after'), ['before', 'after'], 'the refused push never arrived');
    const late = await pullerOn('jobs/oom-queue');
    assert.deepEqual(await everythingUpTo(late, 'jobs/oom-queue', 'sentinel'), ['sentinel'], 'nothing was queued');
  });

  test('Redis frozen: POST /push answers 503 within its bound, a pusher is closed with 1013, and neither push runs later', T, async () => {
    const puller = await pullerOn('jobs/frozen');
    const pusher = await client(`${b.wsUrl}/push/jobs/frozen`);
    assert.equal((await push(b, 'jobs/frozen', 'before')).status, 200);
    await pusher.send('ws before');
    await puller.waitFor(2, 10_000);

    redis.pause();
    try {
      const posting = push(b, 'jobs/frozen', 'during');
      await pusher.send('ws during 1');
      await pusher.send('ws during 2');
      const answer = await posting; // throws if the client had to give up
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '1');
      assert.match((await answer.json()).error, /^cluster engine did not answer within 2000 ms: the push was not taken and will not be delivered$/);
      const closed = await Promise.race([pusher.closed, new Promise((resolve) => setTimeout(resolve, CLIENT_TIMEOUT_MS, 'still open'))]);
      assert.deepEqual(closed, { code: 1013, reason: 'cluster engine timeout' });
    } finally {
      // Redis runs what it was sent while frozen now, past every push's deadline.
      redis.resume();
    }
    await Promise.all([waitHealthy(a, 15_000), waitHealthy(b, 15_000)]);
    assert.deepEqual(await everythingUpTo(puller, 'jobs/frozen', 'after'), ['before', 'ws before', 'after'], 'nothing sent during the freeze was delivered');
    assert.equal(await inspect.lLen(`${PREFIX}queue:jobs/frozen`), 0);
    // Redis ran them past their deadlines: none was taken after its 503 (the node would log it).
    assert.deepEqual(logLines(b, 'after all'), []);
  });
});
