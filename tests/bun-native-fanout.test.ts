/**
 * Bun's native fan-out (src/adapters/bun/native-fanout.ts): subscriber sockets subscribe in Bun
 * and a publish is one `server.publish` per topic. The broker's semantics must hold all the same:
 * the hierarchy, each message once per subscriber and in order, the counters, subscribers the
 * core reaches one by one (SSE) beside native ones, and the slow-consumer rule (1013, counted).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bunCli } from './helpers/runtimes.ts';
import { stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open, type TestClient } from './helpers/ws-client.ts';
import { slowConsumerScenario } from './helpers/slow-consumer.ts';
import { openSse } from './helpers/sse-client.ts';

describe('Bun native fan-out', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  before(async () => {
    server = await bunCli(['--max-buffered-bytes', String(256 * 1024)]);
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await server.stop();
  });

  it('keeps the hierarchy, order, types and counters, with SSE subscribers beside native ones', async () => {
    const connect = async (path: string) => {
      const client = await open(server.wsUrl + path);
      clients.push(client);
      return client;
    };
    const top = await connect('/sub/tree');
    const middle = await connect('/sub/tree/branch');
    const leaf = await connect('/sub/tree/branch/leaf');
    const sibling = await connect('/sub/tree/other');
    const sse = await openSse(`${server.httpUrl}/sub/tree/branch`);
    const publisher = await connect('/pub/tree/branch/leaf');
    await waitForStats(server, (s) => s.subscribers === 5 && s.publishers === 1, 20_000);
    const before = await stats(server);

    const sent: Array<string | Buffer> = [];
    for (let i = 0; i < 100; i++) sent.push(i % 3 === 0 ? Buffer.from([i, 255 - i]) : `m${i} caf\u00e9`);
    for (const data of sent) await publisher.send(data);
    for (const subscriber of [top, middle, leaf]) {
      const got = await subscriber.waitFor(sent.length, 20_000);
      assert.deepEqual(got.map((m) => m.data), sent);
      assert.deepEqual(got.map((m) => m.binary), sent.map((data) => typeof data !== 'string'));
    }
    const events = await sse.waitForEvents(sent.length, 20_000);
    assert.deepEqual(events.map((e) => e.data), sent.map((data) => (typeof data === 'string' ? data : data.toString('base64'))));

    // The sibling subscribes elsewhere: the sentinel must be the first thing it ever gets.
    const otherPublisher = await connect('/pub/tree/other');
    await otherPublisher.send('sentinel');
    assert.deepEqual((await sibling.waitFor(1, 20_000)).map((m) => m.data), ['sentinel']);
    // And nobody got anything twice.
    for (const subscriber of [top, middle, leaf]) assert.equal(subscriber.received.length, sent.length + (subscriber === top ? 1 : 0));

    const after = await waitForStats(server, (s) => s.messagesIn === before.messagesIn! + sent.length + 1, 20_000);
    // 100 messages to 4 subscribers (three sockets and the SSE stream), the sentinel to 2.
    assert.equal(after.messagesOut! - before.messagesOut!, sent.length * 4 + 2);
    sse.close();
  });

  it('a subscriber that stops reading is closed with 1013 and counted; the one that reads gets everything', async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await waitForStats(server, (s) => s.connections === 0, 20_000);
    await slowConsumerScenario(server);
  });
});
