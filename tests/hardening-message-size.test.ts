/**
 * Rule 1 (README, "Limits and hardening": Message size): a WebSocket message over `maxMessageSize`
 * closes that socket with 1009, a POST over it answers 413, exactly the limit is accepted, and
 * nobody else notices.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open } from './helpers/ws-client.ts';
import { OPCODE, frame, rawExchange, rawUpgrade, statusOf } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace } from './helpers/checks.ts';

const LIMIT = 1000;

describe('message size limit (CLI --max-message-size)', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['--max-message-size', String(LIMIT)]);
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  test('a frame of exactly the limit is delivered; one byte more closes only that socket with 1009', { timeout: 20_000 }, async () => {
    const sub = await open(`${server.wsUrl}/sub/size`);
    const bystander = await open(`${server.wsUrl}/pub/size`);
    const pub = await open(`${server.wsUrl}/pub/size`);
    await waitForStats(server, (s) => s.subscribers === 1 && s.publishers === 2);

    await pub.send('t'.repeat(LIMIT));
    await pub.send(Buffer.alloc(LIMIT, 7));
    const [text, binary] = await sub.waitFor(2);
    assert.equal(text!.data, 't'.repeat(LIMIT));
    assert.deepEqual(binary!.data, Buffer.alloc(LIMIT, 7));

    await pub.send(Buffer.alloc(LIMIT + 1)).catch(() => {});
    assert.equal((await pub.closed).code, 1009);

    // Everyone else carries on: the other publisher and the subscriber still work.
    await bystander.send('still here');
    assert.equal((await sub.waitFor(3))[2]!.data, 'still here');
    await waitForStats(server, (s) => s.publishers === 1 && s.subscribers === 1);
    await Promise.all([sub.close(), bystander.close()]);
  });

  test('the limit counts UTF-8 bytes, not characters', { timeout: 20_000 }, async () => {
    const sub = await open(`${server.wsUrl}/sub/utf8`);
    const pub = await open(`${server.wsUrl}/pub/utf8`);
    await waitForStats(server, (s) => s.subscribers === 1 && s.publishers === 1);
    await pub.send('é'.repeat(LIMIT / 2)); // exactly LIMIT bytes
    assert.equal((await sub.waitFor(1))[0]!.data, 'é'.repeat(LIMIT / 2));
    await pub.send('é'.repeat(LIMIT / 2 + 1)).catch(() => {}); // LIMIT / 2 + 1 characters, LIMIT + 2 bytes
    assert.equal((await pub.closed).code, 1009);
    await sub.close();
  });

  test('a fragmented message counts as a whole: fragments each under the limit, together over it, get 1009', { timeout: 20_000 }, async () => {
    const sub = await open(`${server.wsUrl}/sub/fragments`);
    const raw = await rawUpgrade(server.httpUrl, '/pub/fragments');
    raw.send(frame(OPCODE.text, 'a'.repeat(600), { fin: false }), frame(OPCODE.continuation, 'b'.repeat(600)));
    assert.equal(await raw.closeCode(), 1009);
    raw.destroy();
    await waitForStats(server, (s) => s.publishers === 0);
    assert.equal(sub.received.length, 0);
    await sub.close();
  });

  test('every route enforces it, including routes whose frames are ignored (sub, pull) and the bus', { timeout: 20_000 }, async () => {
    for (const route of ['sub', 'pull', 'bus', 'push']) {
      const client = await open(`${server.wsUrl}/${route}/every-route`);
      await client.send(Buffer.alloc(LIMIT + 1)).catch(() => {});
      assert.equal((await client.closed).code, 1009, route);
    }
    await waitForStats(server, (s) => s.connections === 0 && s.subscribers === 0 && s.pullers === 0 && s.peers === 0 && s.pushers === 0);
  });

  test('POST: exactly the limit is published; one byte more answers 413 and publishes nothing', { timeout: 20_000 }, async () => {
    const sub = await open(`${server.wsUrl}/sub/post`);
    await waitForStats(server, (s) => s.subscribers === 1);
    for (const route of ['pub', 'bus', 'push']) {
      const tooBig = await fetch(`${server.httpUrl}/${route}/post`, { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
      assert.equal(tooBig.status, 413, route);
      assert.match((await tooBig.json()).error, /maxMessageSize/);
    }
    const exact = await fetch(`${server.httpUrl}/pub/post`, { method: 'POST', body: 'x'.repeat(LIMIT) });
    assert.equal(exact.status, 200);
    assert.equal((await sub.waitFor(1))[0]!.data, 'x'.repeat(LIMIT));
    assert.equal((await stats(server)).queued, 0, 'the refused push was not queued');
    await sub.close();
  });

  test('POST without a Content-Length (chunked) is cut off at the limit too', { timeout: 20_000 }, async () => {
    const chunk = 'y'.repeat(400);
    const body = [chunk, chunk, chunk].map((part) => `${part.length.toString(16)}\r\n${part}\r\n`).join('') + '0\r\n\r\n';
    const response = await rawExchange(server.httpUrl, `POST /pub/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    assert.equal(statusOf(response), 413, response);
    const fits = [chunk, chunk].map((part) => `${part.length.toString(16)}\r\n${part}\r\n`).join('') + '0\r\n\r\n';
    const ok = await rawExchange(server.httpUrl, `POST /pub/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${fits}`);
    assert.equal(statusOf(ok), 200, ok);
  });

  test('a Content-Length far over the limit is refused before reading the body', { timeout: 20_000 }, async () => {
    // Declares 10 MiB and sends a few bytes: the answer does not wait for a body it will not read.
    const response = await rawExchange(server.httpUrl, `POST /pub/lie HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\nshort`);
    assert.equal(statusOf(response), 413, response);
  });
});
