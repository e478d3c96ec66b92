/**
 * Issue 15 on Deno (findings 4 and 5), what a client can do by being slow or silent, against the
 * Deno CLI: request heads and bodies sent slowly are dropped in bounded time (10 s for the head,
 * 40 s for the whole request, README "Limits and hardening"), and a socket the server closed
 * (1009, 1013) that never answers the close gives its socket and its `-c` slot back within the
 * 30-second close timeout, even while it answers pings, or at the second missed ping when it
 * answers nothing and `pingInterval` is shorter.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { denoCli } from './helpers/runtimes.ts';
import { frame, OPCODE, rawUpgrade, tcpConnect, type RawWebSocket } from './helpers/raw-ws.ts';
import { open, refusedUpgrade } from './helpers/ws-client.ts';
import { assertAlive, assertNoStackTrace, MiB, waitForOutput } from './helpers/checks.ts';

/** When the server ends a connection: elapsed ms since `since`, and what it wrote first. */
function whenDropped(socket: Socket, since: number): Promise<{ ms: number; answer: string }> {
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  return new Promise((resolve) => socket.once('close', () => resolve({ ms: Date.now() - since, answer })));
}

/**
 * Writes one byte of `text` now and one every `everyMs` after, until the socket closes. The first
 * byte goes at once because the head timer starts at a request's first byte: a first byte sent
 * `everyMs` late moved every deadline by as much (a head dropped at 12 s, not 10 to 11).
 */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const writeNext = () => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  };
  const timer = setInterval(writeNext, everyMs);
  writeNext();
  socket.once('close', () => clearInterval(timer));
}

/** Answers every ping the server sends on `raw` with a pong (and never answers a close). */
function answerPings(raw: RawWebSocket): void {
  let seen = 0;
  raw.socket.on('data', () => {
    for (; seen < raw.frames.length; seen++) {
      const received = raw.frames[seen]!;
      if (received.opcode === OPCODE.ping) raw.send(frame(OPCODE.pong, received.payload));
    }
  });
}

/** The 60 MiB frame header of an oversize binary frame, its mask and its first bytes; the rest never comes. */
function oversizeFrameStart(): Buffer {
  const length = 60 * MiB;
  const head = Buffer.from([0x80 | OPCODE.binary, 0x80 | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
  return Buffer.concat([head, randomBytes(4), randomBytes(1024)]);
}

describe('deno CLI: slow and silent clients', () => {
  const servers: RunningServer[] = [];
  const start = async (args: string[]) => {
    const server = await denoCli(args);
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const server of servers) {
      assertAlive(server);
      assertNoStackTrace(server);
      await server.stop();
    }
  });

  test('a request head trickled 1 byte every 2 s is dropped within 13 s; a body trickled at 1 byte/s within 43 s', { timeout: 60_000 }, async () => {
    const server = await start([]);
    const started = Date.now();
    const head = await tcpConnect(server.httpUrl);
    head.on('error', () => {});
    const headDropped = whenDropped(head, started);
    trickle(head, `GET /stats HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`, 2000);

    const body = await tcpConnect(server.httpUrl);
    body.on('error', () => {});
    const bodyDropped = whenDropped(body, started);
    body.write('POST /pub/slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n');
    trickle(body, 'x'.repeat(1000), 1000);

    const headResult = await headDropped;
    assert.ok(headResult.ms < 13_000, `head held ${headResult.ms} ms`);
    assert.match(headResult.answer, /^(HTTP\/1\.1 408 [^]*\{"error":"[^"]+"\})?$/, headResult.answer);
    const bodyResult = await bodyDropped;
    assert.ok(bodyResult.ms < 43_000, `body held ${bodyResult.ms} ms`);
    assert.match(bodyResult.answer, /^(HTTP\/1\.1 408 [^]*)?$/, bodyResult.answer);
    // Nothing was published from the half-sent body, and the broker still answers.
    assert.equal((await stats(server)).messagesIn, 0);
  });

  // The 30 s are `ws`'s close timeout (its CLOSE_TIMEOUT), started by `ws.close()` as the close
  // frame is queued: the clock below starts before the frames that cause both closes are sent, so
  // it can only read long, by the time the broker takes to read them (milliseconds).
  test('sockets closed with 1009 and 1013 that never answer the close free their -c slots within the 30 s close timeout', { timeout: 60_000 }, async (t) => {
    const server = await start(['-c', '2', '--push-queue-limit', '1']);
    // A publisher that starts an oversize frame (1009) and then reads and sends nothing, and a
    // pusher past the queue limit with no puller (1013) that reads everything and answers every
    // ping but never a close frame. The broker is full with them.
    const publisher = await rawUpgrade(server.httpUrl, '/pub/big', { read: false });
    const pusher = await rawUpgrade(server.httpUrl, '/push/jobs');
    answerPings(pusher);
    await waitForStats(server, (s) => s.connections === 2);
    const closedAt = Date.now();
    publisher.send(oversizeFrameStart());
    pusher.send(frame(OPCODE.text, 'queued'), frame(OPCODE.text, 'over the limit'));
    assert.equal(await pusher.closeCode(), 1013);
    await waitForOutput(server, (text) => /closed WebSocket: 1009 /.test(text));
    // Told to go, they stay: their slots are still taken for now.
    assert.equal((await refusedUpgrade(`${server.wsUrl}/sub/other`)).status, 503);
    await waitForStats(server, (s) => s.connections === 0, 40_000);
    const freedAfter = Date.now() - closedAt;
    t.diagnostic(`freed ${freedAfter} ms after the closing frames were sent`);
    assert.ok(freedAfter < 35_000, `freed after ${freedAfter} ms`);
    const next = await open(`${server.wsUrl}/sub/t`);
    await next.close();
    publisher.destroy();
    pusher.destroy();
  });

  test('with --ping-interval 1 a socket that answers neither the close nor pings is freed within about two intervals', { timeout: 30_000 }, async () => {
    const server = await start(['-c', '1', '--ping-interval', '1']);
    const deaf = await rawUpgrade(server.httpUrl, '/pub/big', { read: false });
    await waitForStats(server, (s) => s.connections === 1);
    const sentAt = Date.now();
    deaf.send(oversizeFrameStart());
    await waitForStats(server, (s) => s.connections === 0, 10_000);
    const freedAfter = Date.now() - sentAt;
    assert.ok(freedAfter < 4000, `freed after ${freedAfter} ms`);
    deaf.destroy();
  });
});
