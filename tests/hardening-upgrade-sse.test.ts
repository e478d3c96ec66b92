/**
 * Hardening II, finding 1: an SSE subscription asked for with an `Upgrade` header that is not
 * `websocket` (`Upgrade: foo`, `Connection: Upgrade`) reaches Node's upgrade path. It must be a
 * working subscription that lives and dies with its socket: once the client's socket is gone the
 * session is gone, so nobody can fill `maxConnections` (a lockout) or make the broker hold what
 * is published for sessions without a socket. Node-only: Deno and Bun route such a request like
 * any other.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { rawExchange, readResponseHead, statusOf, tcpConnect } from './helpers/raw-ws.ts';
import { serverForSuite } from './helpers/checks.ts';
import { open } from './helpers/ws-client.ts';

const MAX = 20;
const T = { timeout: 30_000 };

function sseWithForeignUpgrade(server: RunningServer, topic: string, method = 'GET'): string {
  const host = new URL(server.httpUrl).host;
  return `${method} /sub/${topic} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n`;
}

async function sendRaw(server: RunningServer, bytes: string): Promise<Socket> {
  const socket = await tcpConnect(server.httpUrl);
  socket.on('error', () => {});
  socket.write(bytes);
  return socket;
}

describe('SSE with a foreign Upgrade header (Node upgrade path)', () => {
  const broker = serverForSuite(() => nodeCli(['-c', String(MAX)]));

  test('is a working subscription while its socket is open', T, async () => {
    const socket = await sendRaw(broker(), sseWithForeignUpgrade(broker(), 'foreign/live'));
    const { head } = await readResponseHead(socket);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /\r\ncontent-type: text\/event-stream/i);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.resume();
    await waitForStats(broker(), (s) => s.subscribers === 1);
    const published = await fetch(`${broker().httpUrl}/pub/foreign/live`, { method: 'POST', body: 'over the raw socket' });
    assert.equal(published.status, 200);
    const deadline = Date.now() + 5000;
    while (!received.includes('data: over the raw socket\n\n') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.match(received, /data: over the raw socket\n\n/);
    socket.destroy();
    await waitForStats(broker(), (s) => s.connections === 0 && s.subscribers === 0);
  });

  test('sessions end with their sockets: far more than maxConnections in turn leave no slot taken', T, async () => {
    for (let round = 0; round < 3; round++) {
      const sockets = await Promise.all(Array.from({ length: MAX }, (_, i) => sendRaw(broker(), sseWithForeignUpgrade(broker(), `foreign/${i}`))));
      await waitForStats(broker(), (s) => s.connections === MAX);
      // Half leave with a FIN, half with a reset.
      sockets.forEach((socket, i) => (i % 2 ? socket.destroy() : socket.resetAndDestroy()));
      await waitForStats(broker(), (s) => s.connections === 0 && s.subscribers === 0);
    }
    // And the broker still takes a full house of ordinary clients.
    const clients = await Promise.all(Array.from({ length: MAX }, (_, i) => open(`${broker().wsUrl}/sub/after/${i}`)));
    await waitForStats(broker(), (s) => s.connections === MAX);
    await Promise.all(clients.map((client) => client.close()));
  });

  test('pipelined requests on one socket leave nothing behind when it goes', T, async () => {
    const twice = sseWithForeignUpgrade(broker(), 'foreign/piped/1') + sseWithForeignUpgrade(broker(), 'foreign/piped/2');
    const sockets = await Promise.all(Array.from({ length: 10 }, () => sendRaw(broker(), twice)));
    await waitForStats(broker(), (s) => s.connections >= 10);
    for (const socket of sockets) socket.destroy();
    await waitForStats(broker(), (s) => s.connections === 0 && s.subscribers === 0);
    assert.equal((await stats(broker())).connections, 0);
  });

  test('a foreign upgrade with a method that carries a body is refused with 400 and JSON', T, async () => {
    const response = await rawExchange(broker().httpUrl, sseWithForeignUpgrade(broker(), 'foreign/post', 'POST'));
    assert.equal(statusOf(response), 400, response);
    assert.match(response, /"error":"this server upgrades only to websocket/);
  });
});
