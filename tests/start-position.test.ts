/**
 * Start positions over real sockets (README "Ids, history and resume"): a JSON WebSocket
 * subscriber without `since` gets `{"type":"position",…}` before anything else, an SSE subscriber
 * with ids an `id:` block with no data; a subscriber cut right after it resumes from it and gets
 * exactly what was published meanwhile, or hears of the gap; and subscribers that open while
 * messages stream in start exactly where their first message follows (no duplicate, no loss at
 * the seam), on one Node broker and in a two-node cluster whose position is read from Redis.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { twoNodeCluster, type ClusterServer, type Endpoint } from './helpers/cluster.ts';
import { open, type TestClient } from './helpers/ws-client.ts';
import { openSse } from './helpers/sse-client.ts';
import { waitUntil } from './helpers/checks.ts';

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function start(args: string[]): Promise<RunningServer> {
  const server = await nodeCli(args);
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

type Frame = Record<string, unknown> & { id: string };
const json = (text: unknown) => JSON.parse(String(text)) as Frame;
const epochOf = (id: string) => id.split('-')[0]!;
const offsetOf = (id: string) => Number(id.split('-')[1]);

async function post(node: Endpoint, path: string, body: string): Promise<void> {
  const response = await fetch(`${node.httpUrl}${path}`, { method: 'POST', body });
  assert.equal(response.status, 200, await response.text());
}

/** Opens a JSON subscription and returns it with its first frame, which must be its position. */
async function subscribeFresh(node: Endpoint, topic: string): Promise<{ client: TestClient; position: string }> {
  const client = await open(`${node.wsUrl}/sub/${topic}?format=json`);
  cleanups.push(async () => client.close());
  const first = json((await client.waitFor(1, 10_000))[0]!.data);
  assert.deepEqual(Object.keys(first), ['type', 'topic', 'id']);
  assert.equal(first.type, 'position');
  assert.equal(first.topic, topic);
  assert.match(first.id, /^[0-9a-z]{1,32}-(0|[1-9][0-9]*)$/);
  return { client, position: first.id };
}

describe('start position, Node broker', () => {
  it('history on: first frame; cut right after it, the resume gets exactly what was published meanwhile', async () => {
    const server = await start(['--history-size', '100']);
    const { client, position } = await subscribeFresh(server, 'news');
    assert.equal(offsetOf(position), 0, 'nothing published yet: offset 0 of a new epoch');
    await client.close();
    for (const text of ['one', 'two', 'three']) await post(server, '/pub/news/x', text);
    const again = await open(`${server.wsUrl}/sub/news?format=json&since=${position}`);
    const frames = (await again.waitFor(3)).map((m) => json(m.data));
    assert.deepEqual(
      frames.map((f) => [f.id, f.data]),
      ['one', 'two', 'three'].map((text, i) => [`${epochOf(position)}-${i + 1}`, text]),
    );
    // A later fresh subscriber starts after those three, in the same epoch.
    const { position: later } = await subscribeFresh(server, 'news');
    assert.equal(later, `${epochOf(position)}-3`);
    // bus and pull have no history: no position frame (their first frame is a message).
    const peer = await open(`${server.wsUrl}/bus/news?format=json&echo=1`);
    await peer.send('hi');
    assert.equal(json((await peer.waitFor(1))[0]!.data).data, 'hi');
    await peer.close();
    await again.close();
  });

  it('history too small: the resume from the position hears of the exact loss first', async () => {
    const server = await start(['--history-size', '2']);
    const { client, position } = await subscribeFresh(server, 'small');
    await client.close();
    for (let i = 1; i <= 5; i++) await post(server, '/pub/small', `m${i}`);
    const again = await open(`${server.wsUrl}/sub/small?format=json&since=${position}`);
    const frames = (await again.waitFor(3)).map((m) => json(m.data));
    const epoch = epochOf(position);
    assert.deepEqual(frames[0], { type: 'gap', topic: 'small', since: position, reason: 'trimmed', missed: 3, until: `${epoch}-3` });
    assert.deepEqual(frames.slice(1).map((f) => f.data), ['m4', 'm5']);
    await again.close();
  });

  it('history off: the topic counts while it has subscribers ("off", exact), not after ("epoch")', async () => {
    const server = await start([]);
    const keeper = await open(`${server.wsUrl}/sub/kept`);
    cleanups.push(async () => keeper.close());
    await post(server, '/pub/kept', 'before');
    const { client, position } = await subscribeFresh(server, 'kept');
    assert.equal(offsetOf(position), 1, 'the topic counted the message before it');
    await client.close();
    await post(server, '/pub/kept', 'missed 1');
    await post(server, '/pub/kept', 'missed 2');
    const again = await open(`${server.wsUrl}/sub/kept?format=json&since=${position}`);
    assert.deepEqual(json((await again.waitFor(1))[0]!.data), {
      type: 'gap',
      topic: 'kept',
      since: position,
      reason: 'off',
      missed: 2,
      until: `${epochOf(position)}-3`,
    });
    await again.close();

    const { client: alone, position: alonePosition } = await subscribeFresh(server, 'alone');
    await alone.close();
    await waitUntil('the subscriber to be gone', async () => (await (await fetch(`${server.httpUrl}/stats`)).json()).subscribers === 1);
    await post(server, '/pub/alone', 'lost');
    const back = await open(`${server.wsUrl}/sub/alone?format=json&since=${alonePosition}`);
    assert.deepEqual(json((await back.waitFor(1))[0]!.data), { type: 'gap', topic: 'alone', since: alonePosition, reason: 'epoch' });
    await back.close();
  });

  it('SSE with ids: an id: block with no data first (no event), which Last-Event-ID resumes from', async () => {
    const server = await start(['--history-size', '100']);
    const sse = await openSse(`${server.httpUrl}/sub/feed`);
    await waitUntil('the start position', () => sse.lastEventId !== '');
    const position = sse.lastEventId;
    assert.equal(offsetOf(position), 0);
    assert.equal(sse.body, `: ok\n\nid: ${position}\n\n`, 'an id field alone, before anything else');
    assert.deepEqual(sse.events, [], 'dispatches no event');
    sse.close();
    await post(server, '/pub/feed', 'meanwhile');
    const again = await openSse(`${server.httpUrl}/sub/feed`, { 'last-event-id': position });
    assert.deepEqual(await again.waitForEvents(1), [{ event: 'message', data: 'meanwhile' }]);
    assert.equal(again.lastEventId, `${epochOf(position)}-1`);
    again.close();

    const jsonSse = await openSse(`${server.httpUrl}/sub/feed?format=json`);
    await waitUntil('the start position', () => jsonSse.lastEventId !== '');
    assert.equal(jsonSse.lastEventId, `${epochOf(position)}-1`);
    jsonSse.close();
  });

  it('SSE without ids (no history, no format=json): no id block', async () => {
    const server = await start([]);
    const sse = await openSse(`${server.httpUrl}/sub/plain`);
    await post(server, '/pub/plain', 'hello');
    await sse.waitForEvents(1);
    assert.equal(sse.body, ': ok\n\ndata: hello\n\n');
    sse.close();
  });
});

describe('start position, two-node cluster (read from Redis)', () => {
  it('first frame; cut right after it, the resume on the other node gets exactly what was published meanwhile', async () => {
    const cluster = (await twoNodeCluster(['--history-size', '100'])) as ClusterServer;
    cleanups.push(() => cluster.stop('SIGKILL'));
    const { client, position } = await subscribeFresh(cluster, 'news');
    assert.equal(offsetOf(position), 0, 'a stream made in Redis for it');
    await client.close();
    await post(cluster.sending, '/pub/news', 'one');
    await post(cluster.sending, '/pub/news/x', 'two');
    const again = await open(`${cluster.sending.wsUrl}/sub/news?format=json&since=${position}`);
    const frames = (await again.waitFor(2)).map((m) => json(m.data));
    assert.deepEqual(
      frames.map((f) => [f.id, f.data]),
      [
        [`${epochOf(position)}-1`, 'one'],
        [`${epochOf(position)}-2`, 'two'],
      ],
    );
    await again.close();
  });
});

/**
 * Subscribers open one after another on `receivers` while a publisher on `sender` streams
 * MESSAGES numbered messages to `race/n`: each must start with its position and then get every
 * message after it, in order, once (message n is at offset n + 1 of the fresh stream of `race`).
 */
const MESSAGES = 3000;
const SUBSCRIBERS = 20;

async function raceSubscribesAgainstPublishes(receivers: Endpoint[], sender: Endpoint): Promise<void> {
  const publisher = await open(`${sender.wsUrl}/pub/race/n`);
  cleanups.push(async () => publisher.close());
  // A first subscriber before anything is published, so the run starts from offset 0 of one epoch.
  const subscribers = [await open(`${receivers[0]!.wsUrl}/sub/race?format=json`)];
  await subscribers[0]!.waitFor(1);
  const publishing = (async () => {
    // Small batches back to back: the stream is never still, so some of it is always on its way.
    for (let n = 0; n < MESSAGES; n += 5) {
      for (let i = n; i < n + 5; i++) publisher.socket.send(String(i));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await publisher.ping();
  })();
  for (let i = 1; i < SUBSCRIBERS; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 15));
    subscribers.push(await open(`${receivers[i % receivers.length]!.wsUrl}/sub/race?format=json`));
  }
  await publishing;
  for (const subscriber of subscribers) cleanups.push(async () => subscriber.close());
  const starts: number[] = [];
  for (const [index, subscriber] of subscribers.entries()) {
    // Done when the last frame (a message, or the position of one that opened after the last) is at the end.
    await waitUntil(
      () => `subscriber ${index} to reach offset ${MESSAGES} (it has ${subscriber.received.length} frames)`,
      () => subscriber.received.length > 0 && offsetOf(json(subscriber.received.at(-1)!.data).id) === MESSAGES,
      30_000,
    );
    const [position, ...messages] = subscriber.received.map((m) => json(m.data));
    assert.equal(position!.type, 'position', `subscriber ${index}: the position first`);
    const epoch = epochOf(position!.id);
    const start = offsetOf(position!.id);
    starts.push(start);
    const firstWrong = messages.findIndex((m, i) => m.id !== `${epoch}-${start + i + 1}` || m.data !== String(start + i));
    assert.equal(firstWrong, -1, `subscriber ${index} (from ${position!.id}): frame ${firstWrong} is ${JSON.stringify(messages[firstWrong])}`);
    assert.equal(messages.length, MESSAGES - start, `subscriber ${index}: every message after its position, once`);
  }
  // The subscribes really raced the stream: most started somewhere in the middle of it.
  assert.ok(starts.filter((s) => s > 0 && s < MESSAGES).length >= SUBSCRIBERS / 2, `starts: ${starts}`);
}

describe('subscribes racing publishes: no duplicate and no loss at the seam', () => {
  it('Node broker, history on', async () => {
    const server = await start(['--history-size', '100']);
    await raceSubscribesAgainstPublishes([server], server);
  });

  it('Node broker, history off', async () => {
    const server = await start([]);
    await raceSubscribesAgainstPublishes([server], server);
  });

  it('two-node cluster: publisher on one node, subscribers on both', async () => {
    const cluster = (await twoNodeCluster(['--history-size', '100'])) as ClusterServer;
    cleanups.push(() => cluster.stop('SIGKILL'));
    await raceSubscribesAgainstPublishes([cluster, cluster.sending], cluster.sending);
  });
});
