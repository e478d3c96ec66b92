/**
 * Cluster history in Redis when things go wrong (README "Cluster mode", "When things fail"): ids
 * from Redis are good on every node (an SSE subscriber resumes on the other one with
 * `Last-Event-ID`); while Redis is down a node's own subscribers still get its publishes, with
 * ids of the node's own, and a resume is told `unavailable`; after Redis restarted empty, a
 * resume from an id of before hears of another epoch and gets what the new one holds.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { startRedis, type RedisServer } from './helpers/redis.ts';
import { health, waitHealthy } from './helpers/cluster.ts';
import { open } from './helpers/ws-client.ts';
import { openSse } from './helpers/sse-client.ts';
import { waitUntil } from './helpers/checks.ts';
import { SCRIPTS } from '../src/engine/redis/lua-scripts.ts';

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const json = (text: unknown) => JSON.parse(String(text)) as Record<string, unknown>;
const epochOf = (id: unknown) => String(id).split('-')[0];

async function post(node: RunningServer, path: string, body: string): Promise<void> {
  assert.equal((await fetch(`${node.httpUrl}${path}`, { method: 'POST', body })).status, 200);
}

/** A Redis and two healthy nodes keeping 50 messages of history per topic in it. */
async function twoNodesWithHistory(): Promise<{ redis: RedisServer; a: RunningServer; b: RunningServer }> {
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const [a, b] = await Promise.all([nodeCli(['--redis', redis.url, '--history-size', '50']), nodeCli(['--redis', redis.url, '--history-size', '50'])]);
  cleanups.push(() => a.stop('SIGKILL'), () => b.stop('SIGKILL'));
  await Promise.all([waitHealthy(a), waitHealthy(b)]);
  return { redis, a, b };
}

test('ids from Redis resume on any node; Redis down: local ids and "unavailable"; Redis back empty: "epoch"', async () => {
  const { redis, a, b } = await twoNodesWithHistory();

  const subscriber = await open(`${a.wsUrl}/sub/news?format=json`);
  await post(a, '/pub/news', 'one');
  await post(b, '/pub/news/x', 'two');
  const [position, one, two] = (await subscriber.waitFor(3)).map((m) => json(m.data));
  assert.deepEqual([one!.data, two!.data, epochOf(two!.id)], ['one', 'two', epochOf(one!.id)]);
  // First, where it started: news had no stream in Redis, so one was made for the position.
  assert.deepEqual(position, { type: 'position', topic: 'news', id: `${epochOf(one!.id)}-0` });

  // An SSE subscriber on node B resumes from an id node A handed out.
  const sse = await openSse(`${b.httpUrl}/sub/news?format=json`, { 'last-event-id': String(one!.id) });
  const [replayed] = await sse.waitForEvents(1);
  assert.deepEqual(json(replayed!.data), two);
  sse.close();

  await redis.kill();
  await waitUntil('node A to notice', async () => (await health(a)).status === 503, 15_000);
  await post(a, '/pub/news', 'three, Redis down');
  const three = json((await subscriber.waitFor(4))[3]!.data);
  assert.equal(three.data, 'three, Redis down', "the node's own subscribers still get its publishes");
  assert.notEqual(epochOf(three.id), epochOf(one!.id), 'with an id of the node, not of Redis');
  const whileDown = await open(`${a.wsUrl}/sub/news?format=json&since=${String(two!.id)}`);
  assert.deepEqual(json((await whileDown.waitFor(1))[0]!.data), { type: 'gap', topic: 'news', since: two!.id, reason: 'unavailable' });
  whileDown.close();

  await redis.start();
  await Promise.all([waitHealthy(a), waitHealthy(b)]);
  await post(b, '/pub/news', 'four, Redis back');
  const four = json((await subscriber.waitFor(5))[4]!.data);
  assert.equal(four.data, 'four, Redis back');
  assert.notEqual(epochOf(four.id), epochOf(one!.id), 'Redis lost the history: a new epoch');
  const after = await open(`${b.wsUrl}/sub/news?format=json&since=${String(two!.id)}`);
  const frames = (await after.waitFor(2)).map((m) => json(m.data));
  assert.deepEqual(frames[0], { type: 'gap', topic: 'news', since: two!.id, reason: 'epoch' });
  assert.deepEqual(frames[1], four, 'then what the new epoch holds');
  after.close();
  subscriber.close();
});

test('a node that published outside Redis history (Redis frozen) makes a resume across it hear of a gap, not skip it silently', async () => {
  const { redis, a, b } = await twoNodesWithHistory();

  const subscriber = await open(`${a.wsUrl}/sub/news?format=json`);
  await post(a, '/pub/news', 'one');
  const one = json((await subscriber.waitFor(2))[1]!.data);
  assert.equal(one.data, 'one');
  subscriber.close();

  // Redis keeps its data but answers nothing for a while: node A publishes with ids of its own,
  // and Redis's stream of news never holds that message.
  redis.pause();
  await waitUntil('node A to notice', async () => (await health(a)).status === 503, 15_000);
  await post(a, '/pub/news', 'two, outside history');
  redis.resume();
  await Promise.all([waitHealthy(a), waitHealthy(b)]);
  await post(a, '/pub/news', 'three');

  // Resuming from one: Redis's stream alone would go on from one to three as if nothing was
  // missed. The subscriber must hear of the gap first.
  const resumed = await open(`${b.wsUrl}/sub/news?format=json&since=${String(one.id)}`);
  const frames = (await resumed.waitFor(2)).map((m) => json(m.data));
  assert.equal(frames[0]!.type, 'gap', `first frame ${JSON.stringify(frames[0])}`);
  assert.equal(frames[1]!.data, 'three');
  resumed.close();
});

test('forgetting every stream (a node that published to over 100,000 topics while cut off) removes history keys and nothing else', async () => {
  const redis: RedisServer = await startRedis();
  cleanups.push(() => redis.stop());
  const client = await redis.client();
  const prefix = 'bh:0:';
  // More keys than one SCAN step returns, history of this cluster and of another, and other keys.
  for (let i = 0; i < 2500; i++) {
    await client.hSet(`${prefix}hmeta:topic/${i}`, { e: 'x', o: '1' });
    await client.xAdd(`${prefix}hist:topic/${i}`, '1-0', { t: '1', m: 'm' });
  }
  await client.hSet('bh:1:hmeta:other', { e: 'y', o: '1' });
  await client.set(`${prefix}held`, '10');
  await client.rPush(`${prefix}queue:jobs`, 'job');
  await client.eval(SCRIPTS.forgetAllHistory, { keys: [], arguments: [prefix] });
  assert.deepEqual(await client.keys(`${prefix}h*`), [`${prefix}held`]);
  assert.deepEqual((await client.keys('*')).sort(), ['bh:0:held', 'bh:0:queue:jobs', 'bh:1:hmeta:other']);
});
