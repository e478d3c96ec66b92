/**
 * Cluster mode, black box: three real broker processes (the CLI with `--redis`) on one real
 * `redis-server`, with publishers, subscribers, peers, pushers and pullers spread over the nodes.
 * Mercury's pub/sub, bus and push/pull scenarios must behave as they do on one broker; then
 * exactly-once push under concurrency, per-publisher order, node death and a Redis crash.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, type RunningServer } from './helpers/server.ts';
import { open, TestClient } from './helpers/ws-client.ts';
import { startRedis, type RedisClient, type RedisServer } from './helpers/redis.ts';
import { waitUntil } from './helpers/checks.ts';
import { PREFIX, health, nodeIdOf, waitHealthy } from './helpers/cluster.ts';
import { bunCli, denoCli } from './helpers/runtimes.ts';
import { openSse } from './helpers/sse-client.ts';

let redis: RedisServer;
let inspect: RedisClient;
let nodes: RunningServer[] = [];
const clients: TestClient[] = [];

async function startNode(extra: string[] = []): Promise<RunningServer> {
  const node = await nodeCli(['--redis', redis.url, ...extra]);
  nodes.push(node);
  return node;
}

async function client(url: string): Promise<TestClient> {
  const opened = await open(url);
  clients.push(opened);
  return opened;
}

async function post(node: RunningServer, path: string, body: BodyInit, contentType?: string): Promise<Response> {
  return fetch(`${node.httpUrl}${path}`, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });
}

/** Pullers of a push topic as Redis holds them (ids `NODE/N`, in join order). */
async function registeredPullers(topic: string): Promise<string[]> {
  return (await inspect.lRange(`${PREFIX}pullers:${topic}`, 0, -1)).map(String);
}

/**
 * Sentinels for "nothing else arrived" across nodes. Redis writes to each node's subscriber
 * connection in the order it runs commands, and a message that has reached a client on another
 * node than its publisher's has been run by Redis. So once every message under test has reached
 * a client on another node than its publisher's, a sentinel POSTed on node N afterwards reaches
 * every other node after all that Redis sent it of those messages (their copies, and the echo of
 * that node's own publishes), and after what that node delivered of them locally (it did so as it
 * handled them, earlier still). Node N delivers its own sentinel at once, not through Redis, so
 * a receiver on N needs a sentinel from another node too. POSTs one sentinel to `path` on each
 * node of `via`, in turn, and returns their texts.
 */
async function postSentinels(path: string, via: RunningServer[]): Promise<string[]> {
  const texts: string[] = [];
  for (const node of via) {
    const text = `sentinel from ${nodeIdOf(node)}`;
    assert.equal((await post(node, path, text)).status, 200);
    texts.push(text);
  }
  return texts;
}

/** Waits for every sentinel at `receiver`; returns all else it got, in order. */
async function allButSentinels(receiver: TestClient, sentinels: string[]): Promise<string[]> {
  await waitUntil(() => `${JSON.stringify(sentinels)} among ${JSON.stringify(receiver.texts())}`, () => sentinels.every((s) => receiver.texts().includes(s)));
  return receiver.texts().filter((text) => !sentinels.includes(text));
}

describe('cluster mode (three nodes on one Redis)', () => {
  let a: RunningServer;
  let b: RunningServer;
  let c: RunningServer;

  before(async () => {
    redis = await startRedis();
    inspect = await redis.client();
    [a, b, c] = await Promise.all([startNode(), startNode(), startNode()]);
    await Promise.all([a, b, c].map((node) => waitHealthy(node)));
  });

  after(async () => {
    for (const opened of clients) opened.socket.terminate();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  test('every node is healthy and says which node it is', async () => {
    for (const node of [a, b, c]) {
      assert.deepEqual(await health(node), { status: 200, body: 'ok' });
      nodeIdOf(node);
    }
    assert.equal(new Set([a, b, c].map(nodeIdOf)).size, 3);
  });

  test('pub/sub keeps the hierarchy across nodes (Mercury: wong hears wong/amy), text and binary', async () => {
    const wongOnA = await client(`${a.wsUrl}/sub/wong`);
    const amyOnB = await client(`${b.wsUrl}/sub/wong/amy`);
    const bobOnC = await client(`${c.wsUrl}/sub/wong/bob`);
    const publisherOnC = await client(`${c.wsUrl}/pub/wong/amy`);

    await publisherOnC.send('hello amy');
    assert.equal((await post(b, '/pub/wong/amy', 'by post')).status, 200);
    await publisherOnC.send(Buffer.from([0, 1, 2, 255]));
    assert.equal((await post(a, '/pub/wong', Buffer.from([9, 8]), 'application/octet-stream')).status, 200);

    const onA = await wongOnA.waitFor(4, 10_000);
    const asText = (m: { data: string | Buffer; binary: boolean }) => (m.binary ? `bin:${(m.data as Buffer).toString('hex')}` : (m.data as string));
    assert.deepEqual(onA.map(asText).sort(), ['bin:000102ff', 'bin:0908', 'by post', 'hello amy'].sort());
    const fromC = onA.map(asText).filter((x) => x === 'hello amy' || x === 'bin:000102ff');
    assert.deepEqual(fromC, ['hello amy', 'bin:000102ff']);
    const onB = await amyOnB.waitFor(3, 10_000);
    assert.deepEqual(onB.map(asText).sort(), ['bin:000102ff', 'by post', 'hello amy'].sort());
    assert.ok(onB.find((m) => m.data === 'by post')!.binary === false, 'text stays text across nodes');
    // Node A's own publish (to `wong`) has reached no other node: a sentinel from A that node B
    // hears proves Redis has run it. Then sentinels from B, through Redis to A and C.
    const [fromA] = await postSentinels('/pub/wong/amy', [a]);
    await amyOnB.waitFor(4, 10_000);
    const sentinels = [fromA!, ...(await postSentinels('/pub/wong/amy', [b])), ...(await postSentinels('/pub/wong/bob', [b]))];
    assert.deepEqual(await allButSentinels(bobOnC, sentinels.slice(2)), [], 'a sibling topic hears nothing');
    assert.deepEqual(await allButSentinels(wongOnA, sentinels), wongOnA.texts().slice(0, 4), 'each once, nothing more');
    assert.deepEqual(await allButSentinels(amyOnB, sentinels.slice(0, 2)), amyOnB.texts().slice(0, 3), 'each once, nothing more');
  });

  test('an SSE subscriber on one node hears publishes on another (text as data, binary as base64)', async () => {
    const stream = await openSse(`${b.httpUrl}/sub/events`);
    try {
      // The stream is open only once node B listens in Redis, so nothing published now is missed.
      assert.equal((await post(c, '/pub/events/x', 'line one\nline two')).status, 200);
      assert.equal((await post(a, '/pub/events', Buffer.from([1, 2, 3]), 'application/octet-stream')).status, 200);
      const events = await stream.waitForEvents(2, 10_000);
      // Two publishers: no order between them.
      const byType = (x: { event: string }, y: { event: string }) => x.event.localeCompare(y.event);
      assert.deepEqual([...events.slice(0, 2)].sort(byType), [
        { event: 'binary', data: Buffer.from([1, 2, 3]).toString('base64') },
        { event: 'message', data: 'line one\nline two' },
      ]);
    } finally {
      stream.close();
    }
  });

  test('a node subscribes in Redis only to what its own subscribers need', async () => {
    const onlyA = await client(`${a.wsUrl}/sub/only/a`);
    const onlyB = await client(`${b.wsUrl}/sub/only/b`);
    await post(c, '/pub/only/a/deeper', 'x');
    await onlyA.waitFor(1, 10_000);
    const [sentinel] = await postSentinels('/pub/only/b', [c]);
    await onlyB.waitFor(1, 10_000);
    const channels = (await inspect.pubSubChannels(`${PREFIX}sub:only*`)).map(String).sort();
    assert.deepEqual(channels, [`${PREFIX}sub:only/a`, `${PREFIX}sub:only/b`]);
    const counts = await inspect.pubSubNumSub([`${PREFIX}sub:only/a`, `${PREFIX}sub:only/b`, `${PREFIX}sub:only`]);
    assert.deepEqual(Object.values(counts).map(Number), [1, 1, 0]);
    // Which connection holds each: node A's subscriber connection holds only/a, not only/b.
    const list = String(await inspect.sendCommand(['CLIENT', 'LIST']));
    const subLineOf = (node: RunningServer) => list.split('\n').find((line) => line.includes(`name=broker-hono-${nodeIdOf(node)}-sub `));
    assert.ok(subLineOf(a), `node A's subscriber connection in CLIENT LIST:\n${list}`);
    await onlyA.close();
    await onlyB.close();
    await waitUntil('only/* channels to go once their subscribers left', async () => (await inspect.pubSubChannels(`${PREFIX}sub:only*`)).length === 0, 15_000);
    assert.deepEqual(onlyB.texts(), [sentinel], 'only/b heard nothing of only/a');
  });

  test('a message published on a node reaches that node\'s own subscribers exactly once', async () => {
    const localOnA = await client(`${a.wsUrl}/sub/once`);
    const deeperOnA = await client(`${a.wsUrl}/sub/once/x`);
    const remoteOnB = await client(`${b.wsUrl}/sub/once`);
    const publisherOnA = await client(`${a.wsUrl}/pub/once/x`);
    for (let i = 1; i <= 3; i++) await publisherOnA.send(`m${i}`);
    await localOnA.waitFor(3, 10_000); // the POST below is another publisher: order it by hand
    await remoteOnB.waitFor(3, 10_000);
    assert.equal((await post(a, '/pub/once/x', 'm4')).status, 200);
    await remoteOnB.waitFor(4, 10_000); // so Redis has run all four, and sent A its own copies
    const sentinels = await postSentinels('/pub/once/x', [a, b]);
    assert.deepEqual(await allButSentinels(localOnA, sentinels), ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(await allButSentinels(deeperOnA, sentinels), ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(await allButSentinels(remoteOnB, sentinels), ['m1', 'm2', 'm3', 'm4']);
  });

  test('a node subscribed to two ancestors of a remote publish delivers it once to each subscriber', async () => {
    const top = await client(`${b.wsUrl}/sub/twice`);
    const middle = await client(`${b.wsUrl}/sub/twice/a`);
    await post(c, '/pub/twice/a/b', 'one');
    await post(c, '/pub/twice/a/b', 'two');
    await top.waitFor(2, 10_000);
    await middle.waitFor(2, 10_000);
    // Node C's sentinel comes through Redis as the two copies of each publish did.
    const sentinels = await postSentinels('/pub/twice/a/b', [c]);
    assert.deepEqual(await allButSentinels(top, sentinels), ['one', 'two']);
    assert.deepEqual(await allButSentinels(middle, sentinels), ['one', 'two']);
  });

  test('bus across nodes keeps the echo rules (Mercury)', async () => {
    const peerA = await client(`${a.wsUrl}/bus/room`);
    const peerB = await client(`${b.wsUrl}/bus/room?echo=1`);
    const peerC = await client(`${c.wsUrl}/bus/room`);
    const otherRoom = await client(`${c.wsUrl}/bus/room/side`);
    await peerA.send('from a');
    await peerB.waitFor(1, 10_000);
    await peerC.waitFor(1, 10_000);
    await peerB.send('from b');
    await peerA.waitFor(1, 10_000);
    await peerB.waitFor(2, 10_000);
    await peerC.waitFor(2, 10_000);
    assert.equal((await post(c, '/bus/room', 'by post')).status, 200);
    await peerA.waitFor(2, 10_000);
    await peerB.waitFor(3, 10_000);
    await peerC.waitFor(3, 10_000);
    // Each message has reached another node than its sender's: sentinels from A and B now.
    const sentinels = await postSentinels('/bus/room', [a, b]);
    const sideSentinels = await postSentinels('/bus/room/side', [a, b]);
    assert.deepEqual(await allButSentinels(peerA, sentinels), ['from b', 'by post'], 'no echo without ?echo');
    assert.deepEqual(await allButSentinels(peerB, sentinels), ['from a', 'from b', 'by post'], 'echo=1 hears itself once');
    assert.deepEqual(await allButSentinels(peerC, sentinels), ['from a', 'from b', 'by post']);
    assert.deepEqual(await allButSentinels(otherRoom, sideSentinels), [], 'the bus has no hierarchy');
  });

  test('push/pull: round robin over pullers on different nodes, in connect order (Mercury)', async () => {
    const topic = 'jobs/rr';
    const p0 = await client(`${a.wsUrl}/pull/${topic}`);
    await waitUntil('p0 registered', async () => (await registeredPullers(topic)).length === 1);
    const p1 = await client(`${b.wsUrl}/pull/${topic}`);
    await waitUntil('p1 registered', async () => (await registeredPullers(topic)).length === 2);
    const pusher = await client(`${c.wsUrl}/push/${topic}`);
    await pusher.send('m1');
    await pusher.send('m2');
    await pusher.send('m3');
    await p0.waitFor(2, 10_000);
    await p1.waitFor(1, 10_000);
    await p1.close();
    await waitUntil('p1 withdrawn', async () => (await registeredPullers(topic)).length === 1);
    assert.equal((await post(b, `/push/${topic}`, 'm4')).status, 200);
    await p0.waitFor(3, 10_000);
    const p2 = await client(`${c.wsUrl}/pull/${topic}`);
    await waitUntil('p2 registered', async () => (await registeredPullers(topic)).length === 2);
    await pusher.send('m5');
    await pusher.send('m6');
    await p0.waitFor(4, 10_000);
    await p2.waitFor(1, 10_000);
    // Round robin goes on with s1 to p0 and s2 to p2; Redis routes each to its node after
    // everything it routed there before, so each is the next thing its puller gets.
    await pusher.send('s1');
    await pusher.send('s2');
    assert.deepEqual((await p0.waitFor(5, 10_000)).map((m) => m.data), ['m1', 'm3', 'm4', 'm5', 's1']);
    assert.deepEqual((await p2.waitFor(2, 10_000)).map((m) => m.data), ['m6', 's2']);
    assert.deepEqual(p1.texts(), ['m2']);
  });

  test('push/pull: messages wait in Redis while no puller exists anywhere, bounded by pushQueueLimit', async () => {
    // This node's limit is 3; the check happens in Redis, atomically.
    const limited = await startNode(['--push-queue-limit', '3']);
    await waitHealthy(limited);
    const topic = 'jobs/waiting';
    for (const text of ['w1', 'w2', 'w3']) assert.equal((await post(limited, `/push/${topic}`, text)).status, 200);
    const refused = await post(limited, `/push/${topic}`, 'w4');
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /full/);
    assert.equal(await inspect.lLen(`${PREFIX}queue:${topic}`), 3);
    const wsPusher = await client(`${limited.wsUrl}/push/${topic}`);
    await wsPusher.send('w5');
    assert.equal((await wsPusher.closed).code, 1013);

    const puller = await client(`${b.wsUrl}/pull/${topic}`);
    await puller.waitFor(3, 10_000);
    // Pushed now, a sentinel goes behind anything still queued (a refused message, had it been).
    assert.equal((await post(limited, `/push/${topic}`, 'sentinel')).status, 200);
    assert.deepEqual((await puller.waitFor(4, 10_000)).map((m) => m.data), ['w1', 'w2', 'w3', 'sentinel'], 'in order, nothing lost, nothing extra');
    assert.equal(await inspect.lLen(`${PREFIX}queue:${topic}`), 0);
    await limited.stop();
    nodes = nodes.filter((node) => node !== limited);
  });

  test('push/pull: each message reaches exactly one puller under concurrent pushes from every node', async () => {
    const topic = 'jobs/many';
    const pullers: TestClient[] = [];
    for (const node of [a, b, c]) {
      for (let i = 0; i < 2; i++) {
        pullers.push(await client(`${node.wsUrl}/pull/${topic}`));
        await waitUntil('puller registered', async () => (await registeredPullers(topic)).length === pullers.length);
      }
    }
    const perPusher = 200;
    const pushers = await Promise.all([a, b, c].map((node) => client(`${node.wsUrl}/push/${topic}`)));
    await Promise.all(
      pushers.map(async (pusher, index) => {
        for (let i = 0; i < perPusher; i++) await pusher.send(`${'ABC'[index]}-${i}`);
      }),
    );
    const total = perPusher * pushers.length;
    await waitUntil(`${total} messages pulled`, () => pullers.reduce((sum, p) => sum + p.received.length, 0) >= total, 30_000);
    // One sentinel per puller, in one more round of the round robin: each reaches its puller's
    // node after everything Redis routed there before.
    for (let i = 0; i < pullers.length; i++) assert.equal((await post(a, `/push/${topic}`, `sentinel ${i}`)).status, 200);
    await waitUntil('a sentinel at each puller', () => pullers.every((p) => p.texts().some((t) => t.startsWith('sentinel'))));
    for (const puller of pullers) assert.equal(puller.texts().filter((t) => t.startsWith('sentinel')).length, 1, 'one sentinel each');
    const all = pullers.flatMap((p) => p.texts().filter((t) => !t.startsWith('sentinel')));
    assert.equal(all.length, total, 'no message twice');
    assert.equal(new Set(all).size, total, 'every message once');
    // Cluster-wide round robin: six pullers, 600 messages, 100 each.
    assert.deepEqual(pullers.map((p) => p.received.length), pullers.map(() => total / pullers.length + 1));
    for (const puller of pullers) {
      for (const who of 'ABC') {
        const sequence = puller.texts().filter((t) => t.startsWith(`${who}-`)).map((t) => Number(t.slice(2)));
        assert.deepEqual(sequence, [...sequence].sort((x, y) => x - y), `pusher ${who}'s order at one puller`);
      }
    }
  });

  test('each publisher\'s messages reach every subscriber in publish order, across nodes', async () => {
    const count = 1000;
    const subscribers = await Promise.all([a, b, c].map((node) => client(`${node.wsUrl}/sub/order`)));
    const publishers = await Promise.all([a, b].map((node) => client(`${node.wsUrl}/pub/order/x`)));
    await Promise.all(
      publishers.map(async (publisher, index) => {
        for (let i = 0; i < count; i++) await publisher.send(`${'AB'[index]}-${i}`);
      }),
    );
    for (const subscriber of subscribers) await subscriber.waitFor(2 * count, 30_000);
    for (const subscriber of subscribers) {
      for (const who of 'AB') {
        const sequence = subscriber.texts().filter((t) => t.startsWith(`${who}-`)).map((t) => Number(t.slice(2)));
        assert.deepEqual(sequence, Array.from({ length: count }, (_, i) => i), `publisher ${who}, complete and in order`);
      }
    }
  });

  test('a node that dies leaves no stuck state: its pullers drop out, nothing waits for it', async () => {
    const doomed = await startNode();
    await waitHealthy(doomed);
    const topic = 'jobs/death';
    const survivor = await client(`${b.wsUrl}/pull/${topic}`);
    await waitUntil('survivor registered', async () => (await registeredPullers(topic)).length === 1);
    await client(`${doomed.wsUrl}/pull/${topic}`);
    await waitUntil('doomed puller registered', async () => (await registeredPullers(topic)).length === 2);
    const doomedChannel = `${PREFIX}node:${nodeIdOf(doomed)}`;
    await doomed.stop('SIGKILL');
    nodes = nodes.filter((node) => node !== doomed);
    // Redis has seen the dead process's connections close (it dropped them on its own).
    await waitUntil('the dead node gone from Redis', async () => Number(Object.values(await inspect.pubSubNumSub(doomedChannel))[0]) === 0);
    for (let i = 1; i <= 6; i++) assert.equal((await post(c, `/push/${topic}`, `d${i}`)).status, 200);
    await survivor.waitFor(6, 10_000);
    assert.deepEqual(survivor.texts(), ['d1', 'd2', 'd3', 'd4', 'd5', 'd6']);
    // Once its heartbeat expires, the dead node's registration is gone for good.
    await waitUntil('dead puller removed', async () => {
      await post(c, `/push/${topic}`, 'sweep');
      return (await registeredPullers(topic)).length === 1;
    }, 15_000);
    await survivor.close();
    await waitUntil('registry empty', async () => (await registeredPullers(topic)).length === 0);
  });

  test('Redis that stops answering (frozen, connections open): health 503, then 200 and delivery once it answers again', async () => {
    const remote = await client(`${c.wsUrl}/sub/frozen`);
    await post(a, '/pub/frozen', 'before');
    await remote.waitFor(1, 10_000);
    redis.pause();
    try {
      await waitUntil('a frozen Redis noticed', async () => (await health(a)).status === 503, 15_000);
      assert.match((await health(a)).body, /redis: no answer to the heartbeat/);
    } finally {
      redis.resume();
    }
    await waitHealthy(a, 15_000);
    await waitHealthy(c, 15_000);
    await post(a, '/pub/frozen', 'after');
    await waitUntil('delivery after the freeze', () => remote.texts().includes('after'), 10_000);
    assert.equal(remote.texts()[0], 'before');
  });

  test('Redis killed and restarted during traffic: local service goes on, health 503 then 200, delivery resumes', async () => {
    const localOnA = await client(`${a.wsUrl}/sub/fault`);
    const remoteOnB = await client(`${b.wsUrl}/sub/fault`);
    const publisher = await client(`${a.wsUrl}/pub/fault/tick`);
    let sent = 0;
    let publishing = true;
    const traffic = (async () => {
      while (publishing && sent < 5000) {
        await publisher.send(String(++sent));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await remoteOnB.waitFor(5, 10_000);
    const failuresBefore = (await stats(a)).forwardFailures!;

    await redis.kill();
    for (const node of [a, b, c]) {
      await waitUntil('health 503', async () => (await health(node)).status === 503, 15_000);
      assert.match((await health(node)).body, /redis/);
    }
    // Local clients are still served.
    const localSeen = localOnA.received.length;
    await localOnA.waitFor(localSeen + 5, 10_000);
    await waitUntil('forward failures counted', async () => (await stats(a)).forwardFailures! > failuresBefore);
    // A node started while Redis is down still starts and serves its own clients.
    const late = await startNode();
    const lateHealth = await health(late);
    assert.equal(lateHealth.status, 503);
    assert.match(lateHealth.body, /redis/);
    const lateSub = await client(`${late.wsUrl}/sub/fault`);
    const latePub = await client(`${late.wsUrl}/pub/fault`);
    await latePub.send('local only');
    await lateSub.waitFor(1, 10_000);
    // A push with no puller anywhere waits on its node meanwhile, and moves to Redis later.
    assert.equal((await post(a, '/push/fault/outage', 'queued during the outage')).status, 200);
    assert.equal((await stats(a)).queued, 1);

    await redis.start();
    for (const node of [a, b, c, late]) await waitHealthy(node, 20_000);
    const remoteSeen = remoteOnB.received.length;
    await remoteOnB.waitFor(remoteSeen + 5, 10_000);
    const lateSeen = lateSub.received.length;
    await lateSub.waitFor(lateSeen + 5, 10_000);
    publishing = false;
    await traffic;

    // Gaps are allowed (at most once), reordering is not.
    const ticks = remoteOnB.texts().map(Number);
    assert.deepEqual(ticks, [...ticks].sort((x, y) => x - y));

    // Push/pull works again across nodes.
    const puller = await client(`${c.wsUrl}/pull/fault/jobs`);
    await waitUntil('puller registered after restart', async () => (await registeredPullers('fault/jobs')).length === 1);
    assert.equal((await post(late, '/push/fault/jobs', 'after restart')).status, 200);
    await puller.waitFor(1, 10_000);
    assert.deepEqual(puller.texts(), ['after restart']);

    const outagePuller = await client(`${b.wsUrl}/pull/fault/outage`);
    await outagePuller.waitFor(1, 10_000);
    assert.deepEqual(outagePuller.texts(), ['queued during the outage']);
    assert.equal((await stats(a)).queued, 0);

    for (const node of [a, b, c, late]) assert.equal(node.child.exitCode, null, 'no node crashed');
  });
});

describe('cluster mode across runtimes (a Node, a Deno and a Bun node on one Redis)', () => {
  let runtimeRedis: RedisServer;
  let look: RedisClient;
  let runtimeNodes: RunningServer[] = [];
  const opened: TestClient[] = [];
  const connect = async (url: string) => {
    const socket = await open(url);
    opened.push(socket);
    return socket;
  };

  before(async () => {
    runtimeRedis = await startRedis();
    look = await runtimeRedis.client();
    const args = ['--redis', runtimeRedis.url];
    runtimeNodes = await Promise.all([nodeCli(args), denoCli(args), bunCli(args)]);
    for (const node of runtimeNodes) await waitHealthy(node, 30_000);
  });

  after(async () => {
    for (const socket of opened) socket.socket.terminate();
    await Promise.all(runtimeNodes.map((node) => node.stop()));
    await runtimeRedis?.stop();
  });

  test('pub/sub, bus and push/pull cross every pair of runtimes', async () => {
    const [onNode, onDeno, onBun] = runtimeNodes as [RunningServer, RunningServer, RunningServer];
    const subscribers = await Promise.all(runtimeNodes.map((node) => connect(`${node.wsUrl}/sub/mixed`)));
    const publisher = await connect(`${onDeno.wsUrl}/pub/mixed/deno`);
    await publisher.send('from deno');
    await publisher.send(Buffer.from([1, 2, 3]));
    assert.equal((await post(onBun, '/pub/mixed/bun', 'from bun')).status, 200);
    assert.equal((await post(onNode, '/pub/mixed', 'from node')).status, 200);
    for (const subscriber of subscribers) {
      const received = await subscriber.waitFor(4, 15_000);
      const shown = received.map((m) => (m.binary ? `bin:${(m.data as Buffer).toString('hex')}` : m.data));
      assert.deepEqual([...shown].sort(), ['bin:010203', 'from bun', 'from deno', 'from node']);
      assert.ok(shown.indexOf('from deno') < shown.indexOf('bin:010203'), 'one publisher, one order');
    }

    const peers = await Promise.all(runtimeNodes.map((node) => connect(`${node.wsUrl}/bus/mixed`)));
    await peers[1]!.send('deno says');
    await peers[0]!.waitFor(1, 15_000);
    await peers[2]!.waitFor(1, 15_000);
    assert.deepEqual([peers[0]!.texts(), peers[2]!.texts()], [['deno says'], ['deno says']]);

    const pullers: TestClient[] = [];
    for (const node of [onBun, onDeno]) {
      pullers.push(await connect(`${node.wsUrl}/pull/mixed`));
      await waitUntil('puller registered', async () => (await look.lLen(`${PREFIX}pullers:mixed`)) === pullers.length, 15_000);
    }
    for (const text of ['j1', 'j2', 'j3', 'j4']) assert.equal((await post(onNode, '/push/mixed', text)).status, 200);
    await pullers[0]!.waitFor(2, 15_000);
    await pullers[1]!.waitFor(2, 15_000);
    // One more round of the round robin: each puller's next message must be its sentinel.
    for (const text of ['s1', 's2']) assert.equal((await post(onNode, '/push/mixed', text)).status, 200);
    await pullers[0]!.waitFor(3, 15_000);
    await pullers[1]!.waitFor(3, 15_000);
    assert.deepEqual(pullers.map((p) => p.texts()), [['j1', 'j3', 's1'], ['j2', 'j4', 's2']]);
  });
});
