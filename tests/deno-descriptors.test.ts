/**
 * Issue 15 (finding 4): running out of file descriptors. The Deno CLI under `ulimit -n 256`
 * refuses new connections near the limit and never exits, and serves new clients once the old
 * ones have gone; every runtime's CLI warns at start-up when the limit is below what `-c` needs
 * (read from /proc/self/limits, so Linux only: elsewhere there is no warning).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { CLI, spawnBroker, waitForStats, type RunningServer } from './helpers/server.ts';
import { BUN, DENO } from './helpers/runtimes.ts';
import { rawUpgrade, tcpConnect, type RawWebSocket } from './helpers/raw-ws.ts';
import { open } from './helpers/ws-client.ts';
import { assertAlive, assertNoStackTrace, waitForOutput, waitUntil } from './helpers/checks.ts';

const LIMIT = 256;
const LINUX = process.platform === 'linux';

/** `command args` started by a shell that first lowers the open-file limit to `limit`. */
function underLimit(limit: number, command: string, args: string[]): Promise<RunningServer> {
  return spawnBroker('sh', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, command, ...args, '-l', 'http://127.0.0.1:0'], { timeoutMs: 60_000 });
}

const CLIS: Array<[string, string, string[]]> = [
  ['node', process.execPath, [CLI]],
  ['deno', DENO, ['run', '-q', '-P', 'mod.ts']],
  ['bun', BUN, ['run', 'mod.ts']],
];

describe('open-file limit', { skip: !LINUX && 'the limit is read from /proc (Linux)' }, () => {
  for (const [name, command, args] of CLIS) {
    test(`${name} CLI: warns at start-up when the limit is below what -c needs, and only then`, { timeout: 60_000 }, async () => {
      const low = await underLimit(LIMIT, command, [...args, '-c', '1000']);
      const enough = await underLimit(LIMIT, command, [...args, '-c', '100']);
      try {
        await waitForOutput(low, (text) => /mode/.test(text));
        await waitForOutput(enough, (text) => /mode/.test(text));
        assert.match(low.output(), /^broker-hono: warning: the open-file limit is 256, below the 1064 that -c 1000 needs .*raise it \(ulimit -n\) or lower -c$/m);
        assert.doesNotMatch(enough.output(), /open-file limit/);
      } finally {
        await low.stop();
        await enough.stop();
      }
    });
  }

  test('deno CLI: more connections than descriptors are refused, the broker lives on and serves again once they go', { timeout: 90_000 }, async () => {
    const server = await underLimit(LIMIT, DENO, ['run', '-q', '-P', 'mod.ts', '-c', '1000', '-m', 'production']);
    const subscribers: RawWebSocket[] = [];
    const heads: Socket[] = [];
    let refused = 0;
    try {
      // Subscribers first, then half-sent request heads, in all more than the limit.
      for (let i = 0; i < 100; i++) subscribers.push(await rawUpgrade(server.httpUrl, `/sub/fd/${i}`));
      await Promise.all(
        Array.from({ length: 2 * LIMIT }, async () => {
          try {
            const socket = await tcpConnect(server.httpUrl);
            socket.on('error', () => {});
            socket.write('GET /stats HTTP/1.1\r\nHost: x\r\n');
            heads.push(socket);
          } catch {
            refused++;
          }
        }),
      );
      await waitForOutput(server, (text) => /refusing new connections/.test(text), 10_000);
      assertAlive(server);
      // The subscribers opened before still get what is published... once the broker listens
      // again: the half-sent heads expire (10 s) and free their descriptors.
      await waitForOutput(server, (text) => /accepting again/.test(text), 20_000);
      for (const socket of heads) socket.destroy();
      await waitUntil('a new client to be served', async () => (await fetch(`${server.httpUrl}/stats`).catch(() => undefined))?.status === 200, 20_000);
      await waitForStats(server, (s) => s.subscribers === subscribers.length, 10_000);
      const late = await open(`${server.wsUrl}/sub/fd/0`);
      assert.equal((await fetch(`${server.httpUrl}/pub/fd/0`, { method: 'POST', body: 'still here' })).status, 200);
      assert.deepEqual((await late.waitFor(1)).map((m) => m.data), ['still here']);
      await subscribers[0]!.waitForFrame((frame) => frame.payload.toString() === 'still here');
      await late.close();
      assertAlive(server);
      assertNoStackTrace(server);
      // Stopping to listen used the listening socket directly, not the fallback (descriptors.ts).
      assert.doesNotMatch(server.output(), /pausing with close\(\)/);
      assert.ok(refused + heads.length === 2 * LIMIT);
    } finally {
      for (const socket of heads) socket.destroy();
      for (const raw of subscribers) raw.destroy();
      await server.stop();
    }
  });
});
