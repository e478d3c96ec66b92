/**
 * Shutdown as every standalone server must do it (README, "Running"): on SIGINT or SIGTERM each
 * open socket gets close code 1001 and the process exits 0 within 5 s, even when a client never
 * answers the close handshake. Shared by the Node CLI tests and the Deno and Bun ones.
 */
import assert from 'node:assert/strict';
import { waitForStats, type RunningServer } from './server.ts';
import { open } from './ws-client.ts';

/** One socket on every route (a bus echo peer and two pullers too). */
const EVERY_ROUTE = ['/sub/a', '/sub/a/b', '/pub/a', '/bus/a', '/bus/a?echo=1', '/push/a', '/pull/a', '/pull/a'];

/** Sends `signal` with a socket open on every route: each gets 1001, the exit is 0 within 5 s. */
export async function expectGracefulShutdown(server: RunningServer, signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const clients = await Promise.all(EVERY_ROUTE.map((path) => open(server.wsUrl + path)));
  await waitForStats(server, (s) => s.connections === clients.length, 10_000);
  const started = Date.now();
  const exited = server.stop(signal);
  const closes = await Promise.all(clients.map((client) => client.closed));
  for (const close of closes) assert.equal(close.code, 1001);
  assert.equal(await exited, 0);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5000, `exited after ${elapsed} ms`);
  assert.match(server.output(), new RegExp(`${signal}: closing every connection\n(.*\n)*closed every connection in \\d+ ms\n`));
}

/** A client that never answers the server's close frame cannot hold the exit past 5 s. */
export async function expectDeafClientCannotHoldShutdown(server: RunningServer): Promise<void> {
  const polite = await open(`${server.wsUrl}/sub/x`);
  const deaf = await open(`${server.wsUrl}/sub/x`);
  await waitForStats(server, (s) => s.connections === 2, 10_000);
  deaf.socket.pause(); // reads nothing more: the server's close frame is never answered
  const started = Date.now();
  const code = await server.stop('SIGTERM');
  const elapsed = Date.now() - started;
  assert.equal(code, 0);
  assert.ok(elapsed < 5000, `exited after ${elapsed} ms`);
  assert.equal((await polite.closed).code, 1001);
  deaf.socket.resume();
  await deaf.closed;
}
