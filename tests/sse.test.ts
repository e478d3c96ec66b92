/**
 * Server-Sent Events subscriptions (src/app/sse.ts), black-box with a real HTTP client against
 * the CLI on Node, Deno and Bun (the stream is web-standard, so each runtime's HTTP layer carries
 * it): the event format, the hierarchy, liveness pings, cleanup, and the same limits as
 * WebSockets.
 */
import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli, bunMounted, denoCli, denoMounted, nodeMounted } from './helpers/runtimes.ts';
import { open, refusedUpgrade } from './helpers/ws-client.ts';
import { openSse, refusedSse, SseClient } from './helpers/sse-client.ts';

const servers: RunningServer[] = [];
async function startWith(launch: Launcher, args: string[]): Promise<RunningServer> {
  const server = await launch(args);
  servers.push(server);
  return server;
}
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
});

async function post(server: RunningServer, path: string, body: string | Uint8Array<ArrayBuffer>, contentType?: string): Promise<Response> {
  const response = await fetch(`${server.httpUrl}${path}`, {
    method: 'POST',
    body,
    headers: contentType ? { 'content-type': contentType } : {},
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response;
}

const RUNTIMES: Array<[string, Launcher]> = [
  ['Node CLI', nodeCli],
  ['Deno CLI', denoCli],
  ['Bun CLI', bunCli],
];

for (const [name, launcher] of RUNTIMES) {
  describe(`SSE on the ${name}`, () => {
    const start = (args: string[] = []) => startWith(launcher, args);

    it('an SSE subscriber gets text, multi-line text and binary messages in the PROTOCOL format', async () => {
      const server = await start();
      const client = await openSse(`${server.httpUrl}/sub/wong`);
      const response = await client.response;
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'text/event-stream');
      assert.equal(response.headers['cache-control'], 'no-cache');
      await waitForStats(server, (s) => s.connections === 1 && s.subscribers === 1 && s.topics === 1);

      await post(server, '/pub/wong', 'hello');
      await post(server, '/pub/wong', 'one\r\ntwo\rthree\nfour');
      await post(server, '/pub/wong', '');
      await post(server, '/pub/wong', ' leading space and data: inside');
      await post(server, '/pub/wong', new Uint8Array([0, 1, 2, 0xfe, 0xff]), 'application/octet-stream');
      const events = await client.waitForEvents(5);
      assert.deepEqual(events, [
        { event: 'message', data: 'hello' },
        { event: 'message', data: 'one\ntwo\nthree\nfour' },
        { event: 'message', data: '' },
        { event: 'message', data: ' leading space and data: inside' },
        { event: 'binary', data: Buffer.from([0, 1, 2, 0xfe, 0xff]).toString('base64') },
      ]);
      // The raw bytes: one `data:` line per line of the message.
      assert.match(client.body, /data: one\ndata: two\ndata: three\ndata: four\n\n/);
      client.close();
    });

    it('SSE follows the topic hierarchy and gets what WebSocket publishers send', async () => {
      const server = await start();
      const parent = await openSse(`${server.httpUrl}/sub/wong`);
      const child = await openSse(`${server.httpUrl}/sub/wong/amy`);
      const unicode = await openSse(`${server.httpUrl}/sub/caf%C3%A9`);
      const websocketSubscriber = await open(`${server.wsUrl}/sub/wong`);
      await waitForStats(server, (s) => s.subscribers === 4 && s.connections === 4);

      await post(server, '/pub/wong/amy/x', 'deep');
      await post(server, '/pub/wong', 'top');
      await post(server, '/pub/wong/amyx', 'sibling');
      await post(server, '/pub/café', 'accent');
      const publisher = await open(`${server.wsUrl}/pub/wong/amy`);
      await publisher.send('from a socket');
      await publisher.send(Buffer.from([9, 8, 7]));

      assert.deepEqual((await parent.waitForEvents(5)).map((e) => e.data), ['deep', 'top', 'sibling', 'from a socket', Buffer.from([9, 8, 7]).toString('base64')]);
      assert.deepEqual((await child.waitForEvents(3)).map((e) => [e.event, e.data]), [
        ['message', 'deep'],
        ['message', 'from a socket'],
        ['binary', 'CQgH'],
      ]);
      assert.deepEqual((await unicode.waitForEvents(1)).map((e) => e.data), ['accent']);
      await websocketSubscriber.waitFor(5);
      // Sentinels, published after everything above was handled: each stream's next event must
      // be its sentinel, so wong/amy got nothing of wong or wong/amyx, and café nothing more.
      await post(server, '/pub/wong/amy', 'sentinel');
      await post(server, '/pub/café', 'sentinel');
      assert.deepEqual((await child.waitForEvents(4)).map((e) => e.data), ['deep', 'from a socket', 'CQgH', 'sentinel'], 'wong/amy must not get wong or wong/amyx');
      assert.deepEqual((await unicode.waitForEvents(2)).map((e) => e.data), ['accent', 'sentinel']);
      for (const client of [parent, child, unicode]) client.close();
      await publisher.close();
      await websocketSubscriber.close();
    });

    it('a `: ping` comment arrives every pingInterval and keeps the stream open', async () => {
      const server = await start(['--ping-interval', '0.2']);
      const client = await openSse(`${server.httpUrl}/sub/quiet`);
      await client.waitForComment('ping');
      const firstPings = client.comments.filter((c) => c === 'ping').length;
      await client.waitForEvents(0);
      // Still subscribed after several ping intervals: a reading client is never cut.
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.ok(client.comments.filter((c) => c === 'ping').length > firstPings, JSON.stringify(client.comments));
      assert.equal(client.isEnded, false);
      await post(server, '/pub/quiet', 'still here');
      assert.deepEqual(await client.waitForEvents(1), [{ event: 'message', data: 'still here' }]);
      const s = await stats(server);
      assert.equal(s.connections, 1);
      client.close();
    });

    it('a client that goes away is removed at once', async () => {
      const server = await start();
      const clients = await Promise.all([1, 2, 3].map(() => openSse(`${server.httpUrl}/sub/leaving/topic`)));
      await waitForStats(server, (s) => s.connections === 3 && s.subscribers === 3 && s.topics === 1);
      clients[0]!.close();
      await waitForStats(server, (s) => s.connections === 2 && s.subscribers === 2);
      clients[1]!.close();
      clients[2]!.close();
      const s = await waitForStats(server, (s) => s.connections === 0 && s.subscribers === 0);
      assert.equal(s.topics, 0);
      // Nothing is left to deliver to.
      await post(server, '/pub/leaving/topic', 'nobody');
      const after = await stats(server);
      assert.equal(after.messagesOut, 0);
    });

    it('SSE streams count against maxConnections with WebSockets: 503 past -c', async () => {
      const server = await start(['-c', '2']);
      const first = await openSse(`${server.httpUrl}/sub/full`);
      const socket = await open(`${server.wsUrl}/sub/full`);
      await waitForStats(server, (s) => s.connections === 2);

      const refused = await refusedSse(`${server.httpUrl}/sub/full`);
      assert.equal(refused.status, 503);
      assert.match(JSON.parse(refused.body).error, /maxConnections 2/);
      assert.equal((await refusedUpgrade(`${server.wsUrl}/sub/full`)).status, 503);

      first.close();
      await waitForStats(server, (s) => s.connections === 1);
      const again = await openSse(`${server.httpUrl}/sub/full`);
      await post(server, '/pub/full', 'room again');
      assert.deepEqual((await again.waitForEvents(1)).map((e) => e.data), ['room again']);
      again.close();
      await socket.close();
    });

    it('the origin check applies to SSE: 401 without an allowed Origin', async () => {
      const server = await start(['--allow-origin', 'example.com']);
      const refusals: Array<Record<string, string>> = [{}, { origin: 'https://evil.net' }, { origin: 'https://example.com.evil.net' }];
      for (const headers of refusals) {
        const refused = await refusedSse(`${server.httpUrl}/sub/wong`, headers);
        assert.equal(refused.status, 401, JSON.stringify(headers));
        assert.deepEqual(JSON.parse(refused.body), { error: 'Origin check failed' });
      }
      const allowed = await openSse(`${server.httpUrl}/sub/wong`, { origin: 'https://example.com' });
      await post(server, '/pub/wong', 'let in');
      assert.deepEqual((await allowed.waitForEvents(1)).map((e) => e.data), ['let in']);
      allowed.close();
      const s = await waitForStats(server, (s) => s.connections === 0);
      assert.equal(s.refused, 3);
    });

    it('a bad topic is refused with 400 and the rule it breaks', async () => {
      const server = await start(['--max-topic-depth', '3']);
      const cases: Array<[string, RegExp]> = [
        ['/sub/a//b', /empty segment/],
        ['/sub/wong/', /empty segment/],
        ['/sub/a/b/c/d', /3/],
        ['/sub/bad%01control', /control/],
      ];
      for (const [path, rule] of cases) {
        const refused = await refusedSse(`${server.httpUrl}${path}`);
        assert.equal(refused.status, 400, path);
        assert.match(refused.headers['content-type'] ?? '', /application\/json/);
        assert.match(JSON.parse(refused.body).error, rule, path);
      }
      assert.equal((await stats(server)).connections, 0);
    });

    it('a stalled SSE client is cut as a slow consumer and counted; a reading one is untouched', async () => {
      const server = await start(['--max-buffered-bytes', String(1024 * 1024)]);
      const stalled = await openSse(`${server.httpUrl}/sub/firehose`);
      const reading = await openSse(`${server.httpUrl}/sub/firehose`);
      await waitForStats(server, (s) => s.subscribers === 2);
      stalled.pause();

      // The stalled client's socket buffers (kernel and Node) fill first; after that the backlog
      // grows in the broker until it passes maxBufferedBytes.
      const message = 'x'.repeat(64 * 1024);
      let published = 0;
      while ((await stats(server)).slowConsumerDisconnects === 0) {
        assert.ok(published < 2000, 'the stalled client was never cut');
        await post(server, '/pub/firehose', message);
        published++;
      }
      const s = await waitForStats(server, (s) => s.connections === 1 && s.subscribers === 1);
      assert.equal(s.slowConsumerDisconnects, 1);

      // The reading client got every message, the stalled one is ended.
      await reading.waitForEvents(published, 20000);
      assert.ok(reading.events.every((e) => e.data === message));
      stalled.resume();
      await stalled.waitForEnd(10000);
      assert.ok(stalled.events.length < published, `stalled got ${stalled.events.length} of ${published}`);
      reading.close();
      await waitForStats(server, (s) => s.connections === 0);
    });

    it('a client that has not taken the last ping by the next one is cut (not as a slow consumer)', async () => {
      // A backlog far below maxBufferedBytes, but one the stalled client never takes: the ping
      // queued behind it is still waiting at the next ping.
      const server = await start(['--ping-interval', '0.3', '--max-buffered-bytes', String(512 * 1024 * 1024)]);
      const stalled = await openSse(`${server.httpUrl}/sub/stuck`);
      await waitForStats(server, (s) => s.subscribers === 1);
      stalled.pause();
      const message = 'y'.repeat(64 * 1024);
      // About 16 MiB: more than the socket buffers of loopback TCP and Node hold.
      for (let i = 0; i < 256 && !stalled.isEnded; i++) {
        const response = await fetch(`${server.httpUrl}/pub/stuck`, { method: 'POST', body: message });
        assert.equal(response.status, 200);
        if ((await stats(server)).connections === 0) break;
      }
      const s = await waitForStats(server, (s) => s.connections === 0 && s.subscribers === 0, 10000);
      assert.equal(s.slowConsumerDisconnects, 0);
      stalled.resume();
      await stalled.waitForEnd(10000);
    });

    it('shutdown ends SSE streams and the process exits 0', async () => {
      const server = await launcher();
      servers.push(server);
      const client = await openSse(`${server.httpUrl}/sub/bye`);
      await waitForStats(server, (s) => s.connections === 1);
      const code = await server.stop('SIGTERM');
      assert.equal(code, 0);
      await client.waitForEnd();
    });

    it('GET /sub without Accept: text/event-stream still answers 426', async () => {
      const server = await start();
      const response = await fetch(`${server.httpUrl}/sub/wong`);
      assert.equal(response.status, 426);
      assert.equal(response.headers.get('upgrade'), 'websocket');
      // Other routes never stream SSE.
      const pull = await fetch(`${server.httpUrl}/pull/wong`, { headers: { accept: 'text/event-stream' } });
      assert.equal(pull.status, 426);
    });
  });
}

test('a quiet SSE stream outlives Bun’s 10 s idleTimeout, on every runtime, standalone and mounted', async () => {
  // Bun.serve ends a response that sends nothing for `idleTimeout` (default 10 s); with the
  // default pingInterval (30 s) a quiet topic would lose its subscribers. The Bun adapter and
  // the Bun mount example lift it for event streams; the others have no such timeout, and this
  // keeps it that way. All six brokers wait out the same 11 s together.
  const launchers: Array<[string, Launcher]> = [
    ['Node CLI', nodeCli],
    ['Deno CLI', denoCli],
    ['Bun CLI', bunCli],
    ['Node mounted', nodeMounted],
    ['Deno mounted', denoMounted],
    ['Bun mounted', bunMounted],
  ];
  const started = await Promise.all(launchers.map(async ([name, launch]) => {
    const server = await launch();
    servers.push(server);
    return { name, server, client: await openSse(`${server.httpUrl}/sub/quiet`) };
  }));
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  for (const { name, server, client } of started) {
    assert.equal(client.isEnded, false, `${name}: the quiet stream was ended`);
    await post(server, '/pub/quiet', `still subscribed on ${name}`);
    assert.deepEqual(await client.waitForEvents(1), [{ event: 'message', data: `still subscribed on ${name}` }]);
    client.close();
  }
});
