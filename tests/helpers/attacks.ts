/**
 * The attacks of issue 15 as the hostile-load test runs them together, each bounded in time and
 * size and each checking what the broker answered. An attack resolves when every one of its
 * clients has had its answer (or was dropped) and is gone; it throws, naming itself, otherwise.
 */
import assert from 'node:assert/strict';
import type { RunningServer } from './server.ts';
import { rawExchange, statusOf, tcpConnect } from './raw-ws.ts';
import { HeldRequest, oneByteChunks, postHead } from './held-request.ts';
import { SseCounter } from './sse-counter.ts';
import { LEAVING_REQUESTS } from './bad-requests.ts';
import { stats } from './server.ts';

/** The slowest drop each bounded attack saw in its last run, in ms (for the test's diagnostics). */
export const slowest: Record<string, number> = {};

function recordSlowest(name: string, requests: readonly HeldRequest[]): void {
  slowest[name] = Math.max(...requests.map((request) => request.endedAfterMs ?? Infinity));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Chunked bodies of 1-byte chunks: half finished (a 200 each), half left mid-body. */
export async function tinyChunkBodies(server: RunningServer, bodies: number, chunks: number): Promise<void> {
  await Promise.all(
    Array.from({ length: bodies }, async (_, i) => {
      const request = await HeldRequest.send(server.httpUrl, postHead(server.httpUrl, '/pub/attack/tiny', { 'transfer-encoding': 'chunked' }));
      await request.write(oneByteChunks(chunks));
      if (i % 2) {
        request.destroy();
        return;
      }
      try {
        await request.write('0\r\n\r\n');
        const answered = await Promise.race([request.ended.then(() => true), waitForAnswer(request, 30_000)]);
        assert.ok(answered, `no answer: ${request.answer.slice(0, 200)}`);
        assert.equal(request.status, 200, request.answer.slice(0, 200));
      } finally {
        request.destroy();
      }
    }),
  );
}

/**
 * POSTs that announce `size` bytes, send `sent` and stop: past `maxPostsInFlight` they are
 * refused at once (503), the others cut at `bodyTimeout` (408). Bun's own request timer may get
 * there first and close without an answer.
 */
export async function heldPosts(server: RunningServer, count: number, size: number, sent: number, boundMs: number): Promise<void> {
  const requests = await Promise.all(
    Array.from({ length: count }, () => HeldRequest.send(server.httpUrl, Buffer.concat([Buffer.from(postHead(server.httpUrl, '/pub/attack/held', { 'content-length': size })), Buffer.alloc(sent, 0x61)]))),
  );
  await Promise.all(requests.map((request) => request.endedWithin(boundMs)));
  for (const request of requests) request.destroy();
  recordSlowest('held POSTs', requests);
  const open = requests.filter((request) => request.endedAfterMs === undefined || request.endedAfterMs > boundMs);
  assert.equal(open.length, 0, `${open.length} of ${count} held POSTs were still open after ${boundMs} ms (answered: ${open[0]?.answer.split('\r\n')[0]})`);
  for (const request of requests) assert.ok([408, 503, 0].includes(request.status), `held POST answered ${request.answer.slice(0, 300)}`);
}

/** Request heads sent a byte every `intervalMs`: each must be dropped within `boundMs`. */
export async function trickledHeads(server: RunningServer, count: number, intervalMs: number, boundMs: number): Promise<void> {
  const requests = await Promise.all(Array.from({ length: count }, () => HeldRequest.send(server.httpUrl, 'GET /stats HTTP/1.1\r\nHost: x\r\n')));
  for (const request of requests) request.trickle('X-Slow: abcdefghijklmnopqrstuvwxyz\r\n'.repeat(100), intervalMs);
  await Promise.all(requests.map((request) => request.endedWithin(boundMs)));
  for (const request of requests) request.destroy();
  recordSlowest('trickled heads', requests);
  const open = requests.filter((request) => request.endedAfterMs === undefined || request.endedAfterMs > boundMs);
  assert.equal(open.length, 0, `${open.length} of ${count} trickled heads were still open after ${boundMs} ms`);
}

/** POST bodies sent a byte every `intervalMs`: each must be cut within `boundMs`. */
export async function trickledBodies(server: RunningServer, count: number, intervalMs: number, boundMs: number): Promise<void> {
  const requests = await Promise.all(Array.from({ length: count }, () => HeldRequest.send(server.httpUrl, postHead(server.httpUrl, '/pub/attack/trickle', { 'content-length': 100_000 }))));
  for (const request of requests) request.trickle('t'.repeat(100_000), intervalMs);
  await Promise.all(requests.map((request) => request.endedWithin(boundMs)));
  for (const request of requests) request.destroy();
  recordSlowest('trickled bodies', requests);
  const open = requests.filter((request) => request.endedAfterMs === undefined || request.endedAfterMs > boundMs);
  assert.equal(open.length, 0, `${open.length} of ${count} trickled bodies were still open after ${boundMs} ms`);
  for (const request of requests) assert.ok([408, 503, 0].includes(request.status), `trickled body answered ${request.answer.slice(0, 300)}`);
}

/** Each of `requests`, `rounds` times: a 4xx with a short JSON error, never a 5xx or an error page. */
export async function badRequests(server: RunningServer, requests: readonly string[], rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      requests.map(async (request) => {
        const answer = await rawExchange(server.httpUrl, Buffer.from(request, 'latin1'));
        const status = statusOf(answer);
        const shown = `${JSON.stringify(request)} → ${JSON.stringify(answer.slice(0, 300))}`;
        assert.ok(status >= 400 && status < 500, `bad request not a 4xx: ${shown}`);
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        assert.ok(body.length < 1000 && typeof (parseJson(body) as { error?: unknown } | undefined)?.error === 'string', `bad request without a short JSON error: ${shown}`);
      }),
    );
  }
}

/** Clients that send part of a request and leave, half with a FIN, half with a reset. */
export async function leavingClients(server: RunningServer, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const socket = await tcpConnect(server.httpUrl);
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.write(LEAVING_REQUESTS[i % LEAVING_REQUESTS.length]!, () => resolve()));
      await sleep(20);
      if (i % 2) socket.end();
      else socket.resetAndDestroy();
      await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(5000)]);
      socket.destroy();
    }),
  );
}

function publishLineBreaks(server: RunningServer): Promise<Response> {
  return fetch(`${server.httpUrl}/pub/attack/sse`, { method: 'POST', body: '\n'.repeat(1024 * 1024) });
}

/**
 * `subscribers` healthy SSE subscribers and `messages` messages of 1 MiB of line breaks (a 7.3 MB
 * event each): every subscriber gets every message, none is cut as a slow consumer.
 */
export async function sseLineBreakFlood(server: RunningServer, subscribers: number, messages: number): Promise<void> {
  const clients = Array.from({ length: subscribers }, () => new SseCounter(`${server.httpUrl}/sub/attack/sse`));
  try {
    await Promise.all(clients.map((client) => client.opened));
    const cutBefore = (await stats(server)).slowConsumerDisconnects;
    // Every subscriber is attached before the first message goes out.
    const deadline = Date.now() + 10_000;
    while ((await stats(server)).subscribers < subscribers && Date.now() < deadline) await sleep(20);
    for (let i = 0; i < messages; i++) {
      // Run beside other attacks, the POST may meet a full maxPostsInFlight (held POSTs, cut by
      // bodyTimeout): a 503 with Retry-After, which a publisher honours, as this one does.
      let answer = await publishLineBreaks(server);
      for (const until = Date.now() + 20_000; answer.status === 503 && Date.now() < until; answer = await publishLineBreaks(server)) {
        await sleep(Number(answer.headers.get('retry-after') ?? '1') * 1000);
      }
      assert.equal(answer.status, 200, 'SSE flood: the publish');
    }
    const until = Date.now() + 60_000;
    while (!clients.every((client) => client.dataEvents >= messages || client.ended) && Date.now() < until) await sleep(50);
    assert.deepEqual(clients.map((client) => client.dataEvents), Array(subscribers).fill(messages), 'SSE flood: every subscriber got every message');
    assert.equal(clients.filter((client) => client.ended).length, 0, 'SSE flood: no stream ended');
    assert.equal((await stats(server)).slowConsumerDisconnects, cutBefore, 'SSE flood: nobody was cut as a slow consumer');
  } finally {
    for (const client of clients) client.close();
  }
}

/**
 * SSE subscriptions asked for with a foreign `Upgrade` header, and two such GETs pipelined on one
 * socket (issue 15, finding 1): the client reads the head and leaves; nothing may stay behind.
 */
export async function foreignUpgradeSse(server: RunningServer, count: number): Promise<void> {
  const host = new URL(server.httpUrl).host;
  const one = (topic: string) => `GET /sub/${topic} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n`;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const socket = await tcpConnect(server.httpUrl);
      socket.on('error', () => {});
      socket.write(i % 4 === 0 ? one(`attack/foreign/${i}`) + one(`attack/foreign/${i}/again`) : one(`attack/foreign/${i}`));
      await Promise.race([new Promise((resolve) => socket.once('data', resolve)), sleep(5000)]);
      if (i % 2) socket.destroy();
      else socket.resetAndDestroy();
    }),
  );
}

/** Waits until `request` holds a whole answer head or `timeoutMs` passes. */
async function waitForAnswer(request: HeldRequest, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!request.answer.includes('\r\n\r\n') && Date.now() < deadline) await sleep(20);
  return request.answer.includes('\r\n\r\n');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
