/**
 * The Deno adapter's `serveApp` (src/adapters/deno/serve-app.ts): a host app's own routes and a
 * broker mounted under `/broker`, on the standalone broker's server (fast send path, frame size
 * refused as it arrives, JSON refusals).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnBroker, waitForStats } from './helpers/server.ts';
import { DENO } from './helpers/runtimes.ts';

/** `ws` reads these as it loads; the fixture imports it directly (the CLI loads it without, src/adapters/deno/load-server.ts). */
const WS_ENVIRONMENT = 'WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE';
import { open } from './helpers/ws-client.ts';
import { rawExchange, statusOf, upgradeRequest } from './helpers/raw-ws.ts';
import { assertNoStackTrace } from './helpers/checks.ts';

test('deno serveApp: host routes, a mounted broker, 1009 for an oversize frame, 400 for a bad key', { timeout: 60_000 }, async () => {
  const server = await spawnBroker(DENO, ['run', '-q', '-P', `--allow-env=${WS_ENVIRONMENT}`, 'tests/fixtures/deno-serve-app.ts', '-l', 'http://127.0.0.1:0', '--max-message-size', '1024'], { prefix: '/broker', timeoutMs: 60_000 });
  try {
    assert.equal(await (await fetch(server.httpUrl.replace(/\/broker$/, '/'))).text(), 'my service\n');
    const subscriber = await open(`${server.wsUrl}/sub/news`);
    await waitForStats(server, (s) => s.subscribers === 1, 10_000);
    assert.equal((await fetch(`${server.httpUrl}/pub/news/today`, { method: 'POST', body: 'hello' })).status, 200);
    assert.deepEqual((await subscriber.waitFor(1)).map((m) => m.data), ['hello']);
    const publisher = await open(`${server.wsUrl}/pub/news`);
    publisher.socket.send('x'.repeat(2048));
    assert.equal((await publisher.closed).code, 1009);
    const refused = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/news', { 'Sec-WebSocket-Key': 'short' }));
    assert.equal(statusOf(refused), 400, refused);
    assert.match(refused, /"error":"missing or invalid Sec-WebSocket-Key header"/);
    await subscriber.close();
    assertNoStackTrace(server);
  } finally {
    await server.stop();
  }
});
