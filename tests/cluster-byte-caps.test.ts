/**
 * Byte caps in cluster mode (issue 15, finding 2: 2,000 pushes put 2.44 GB into Redis). The
 * shared queues live in Redis, so the push script checks the caps there, atomically: a byte
 * counter per queue (`qbytes:TOPIC`, `pushQueueBytes`) and one for every queue of the cluster
 * (`held`, `maxHeldBytes`, each message and queue counted with the same bookkeeping estimate as
 * in memory). A refusal is the single node's: POST 503 naming the limit, a WebSocket pusher
 * closed with 1013 naming it, counted in `budgetRefusals`. Real redis-server, real CLI nodes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, type RunningServer } from './helpers/server.ts';
import { open, type TestClient } from './helpers/ws-client.ts';
import { startRedis, type RedisClient, type RedisServer } from './helpers/redis.ts';
import { waitUntil, MiB } from './helpers/checks.ts';
import { PREFIX, waitHealthy } from './helpers/cluster.ts';

const T = { timeout: 60_000 };
const HELD_LIMIT = 20_000;

let redis: RedisServer;
let inspect: RedisClient;
const nodes: RunningServer[] = [];
const clients: TestClient[] = [];

async function startNode(args: string[]): Promise<RunningServer> {
  const node = await nodeCli(['-m', 'production', '--redis', redis.url, ...args]);
  nodes.push(node);
  await waitHealthy(node);
  return node;
}

async function client(url: string): Promise<TestClient> {
  const opened = await open(url);
  clients.push(opened);
  return opened;
}

function push(node: RunningServer, topic: string, body: BodyInit): Promise<Response> {
  return fetch(`${node.httpUrl}/push/${topic}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
}

async function counter(key: string): Promise<number> {
  return Number((await inspect.get(`${PREFIX}${key}`)) ?? 0);
}

before(async () => {
  redis = await startRedis();
  inspect = await redis.client();
});

after(async () => {
  for (const opened of clients) opened.socket.terminate();
  await Promise.all(nodes.map((node) => node.stop()));
  await redis?.stop();
});

describe('cluster mode: pushQueueBytes and maxHeldBytes hold in Redis', () => {
  let a: RunningServer;
  let b: RunningServer;

  before(async () => {
    const limits = ['--push-queue-bytes', '1000', '--max-held-bytes', String(HELD_LIMIT)];
    [a, b] = await Promise.all([startNode(limits), startNode(limits)]);
  });

  test('a shared queue holds pushQueueBytes; past it POST is 503 and a pusher on another node is closed with 1013', T, async () => {
    const message = new Uint8Array(300).fill(1);
    for (let i = 0; i < 3; i++) assert.equal((await push(b, 'jobs/bytes', message)).status, 200, `push ${i}`);
    const refused = await push(b, 'jobs/bytes', message);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((await refused.json()).error, 'push queue for "jobs/bytes" is full (pushQueueBytes 1000 bytes)');
    assert.equal(await inspect.lLen(`${PREFIX}queue:jobs/bytes`), 3);
    assert.equal(await counter('qbytes:jobs/bytes'), 900, 'the queue\'s bytes, counted in Redis');
    assert.equal((await stats(b)).budgetRefusals, 1);

    const pusher = await client(`${a.wsUrl}/push/jobs/bytes`);
    void pusher.send(Buffer.from(message.subarray(0, 200))).catch(() => {});
    assert.deepEqual(await pusher.closed, { code: 1013, reason: 'push queue full (pushQueueBytes)' });
    assert.equal((await stats(a)).budgetRefusals, 1);
    assert.equal(await inspect.lLen(`${PREFIX}queue:jobs/bytes`), 3);

    // A puller anywhere takes the queue; its counters go with it.
    const heldBefore = await counter('held');
    const puller = await client(`${a.wsUrl}/pull/jobs/bytes`);
    await puller.waitFor(3, 10_000);
    await waitUntil('the queue gone from Redis', async () => (await inspect.exists(`${PREFIX}qbytes:jobs/bytes`)) === 0);
    assert.equal(await inspect.lLen(`${PREFIX}queue:jobs/bytes`), 0);
    assert.ok((await counter('held')) < heldBefore - 900, 'held bytes released with the queue');
    await puller.close();
  });

  test('every queue together holds maxHeldBytes: one-message topics are refused once Redis holds it, from any node', T, async () => {
    assert.equal(await counter('held'), 0, 'nothing held once every queue was taken');
    let accepted = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const response = await push(i % 2 ? a : b, `many/${i}`, 'x');
      if (response.status === 200) accepted++;
      else refused = response;
    }
    assert.ok(refused, `500 one-message topics were all taken under maxHeldBytes ${HELD_LIMIT}`);
    assert.equal(refused.status, 503);
    assert.match((await refused.json()).error, new RegExp(`\\(maxHeldBytes ${HELD_LIMIT}\\)`));
    assert.ok(accepted >= 10 && accepted < 100, `${accepted} topics accepted`);
    const held = await counter('held');
    assert.ok(held <= HELD_LIMIT && held > HELD_LIMIT - 2000, `held ${held}: near the limit, never past it`);
    // Either node refuses now: the budget is the cluster's.
    assert.equal((await push(a, 'many/more', 'x')).status, 503);
    assert.equal((await push(b, 'many/more', 'x')).status, 503);

    // Pulling frees it, cluster-wide.
    for (let i = 0; i < accepted; i++) {
      const puller = await client(`${(i % 2 ? b : a).wsUrl}/pull/many/${i}`);
      await puller.waitFor(1, 10_000);
      await puller.close();
    }
    await waitUntil('nothing held in Redis', async () => (await counter('held')) === 0);
    assert.equal((await push(a, 'many/again', 'x')).status, 200);
  });
});

describe('cluster mode: the default caps', () => {
  test('default caps: a third 1 MiB push to one topic is refused (Redis no longer takes gigabytes)', T, async () => {
    const defaults = await startNode([]);
    const body = new Uint8Array(MiB).fill(2);
    for (let i = 0; i < 2; i++) assert.equal((await push(defaults, 'jobs/huge', body)).status, 200, `push ${i}`);
    const refused = await push(defaults, 'jobs/huge', body);
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).error, 'push queue for "jobs/huge" is full (pushQueueBytes 2097152 bytes)');
    assert.equal(await inspect.lLen(`${PREFIX}queue:jobs/huge`), 2);
    assert.equal(await counter('qbytes:jobs/huge'), 2 * MiB);
  });
});
