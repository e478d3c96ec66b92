/**
 * Issue 15 on Deno, what one request can do (findings 5, 6 and 9), against the Deno CLI
 * (`deno run -P mod.ts`): an oversize frame is refused from its header, not after buffering it;
 * requests the server cannot take (a bad Host, an upgrade without its key or its `Connection`
 * header) get a 4xx JSON answer with one log line at most and no stack trace; dot segments
 * resolve as on Node and Bun; only WebSocket version 13 and well-formed keys are accepted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { denoCli } from './helpers/runtimes.ts';
import { OPCODE, rawExchange, rawUpgrade, statusOf, upgradeRequest } from './helpers/raw-ws.ts';
import { sendAsIs } from './helpers/raw-http.ts';
import { open } from './helpers/ws-client.ts';
import { assertAlive, assertNoStackTrace, MiB } from './helpers/checks.ts';

const T = { timeout: 30_000 };

describe('deno CLI: what one request can do', () => {
  let server: RunningServer;
  before(async () => {
    server = await denoCli(['-m', 'production']);
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  /** Output lines written since `from` (an earlier `server.output().length`). */
  const linesSince = (from: number) => server.output().slice(from).split('\n').filter(Boolean);

  test('a frame over maxMessageSize is refused with 1009 from its header, before its payload arrives', T, async () => {
    const raw = await rawUpgrade(server.httpUrl, '/pub/big');
    // The header of a masked 60 MiB binary frame, its mask, and the first 64 KiB of payload: the
    // other 59.9 MiB never come. Deno.serve waited for them (and buffered up to 64 MiB).
    const length = 60 * MiB;
    const head = Buffer.from([0x80 | OPCODE.binary, 0x80 | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
    raw.send(head, randomBytes(4), randomBytes(64 * 1024));
    assert.equal(await raw.closeCode(5000), 1009);
    raw.destroy();
    await waitForStats(server, (s) => s.connections === 0);
  });

  test('a bad Host header is a 400 with a JSON body, on a plain request and on an upgrade', T, async () => {
    for (const host of ['a b', 'x:99999', 'x:y', '[::1']) {
      const from = server.output().length;
      const plain = await rawExchange(server.httpUrl, `GET /stats HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(plain), 400, `plain GET, Host ${host}: ${plain}`);
      assert.match(plain, /\r\n\r\n\{"error":"[^"]+"\}$/, plain);
      const upgrade = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/a', { Host: host }));
      assert.equal(statusOf(upgrade), 400, `upgrade, Host ${host}: ${upgrade}`);
      assert.match(upgrade, /\r\n\r\n\{"error":"[^"]+"\}$/, upgrade);
      assert.ok(linesSince(from).length <= 2, `at most one line each: ${JSON.stringify(linesSince(from))}`);
    }
    assert.equal((await stats(server)).connections, 0);
  });

  test('an upgrade without Sec-WebSocket-Key, or with a short one, is a 400 with a JSON body', T, async () => {
    const missing = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/a').replace(/Sec-WebSocket-Key: [^\r]*\r\n/, ''));
    assert.equal(statusOf(missing), 400, missing);
    assert.match(missing, /"error":"missing or invalid Sec-WebSocket-Key header"/);
    const short = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/a', { 'Sec-WebSocket-Key': 'c2hvcnQ=' }));
    assert.equal(statusOf(short), 400, short);
    assert.match(short, /"error":"missing or invalid Sec-WebSocket-Key header"/);
    await waitForStats(server, (s) => s.connections === 0);
  });

  test('Sec-WebSocket-Version other than 13 is a 400 naming version 13 (RFC 6455 §4.4)', T, async () => {
    for (const version of ['8', '12', '14', '']) {
      const response = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/a', { 'Sec-WebSocket-Version': version }));
      assert.equal(statusOf(response), 400, `version ${JSON.stringify(version)}: ${response}`);
      assert.match(response, /"error":"unsupported Sec-WebSocket-Version/);
      assert.match(response, /\r\nsec-websocket-version: 13\r\n/i, response);
    }
    await waitForStats(server, (s) => s.connections === 0);
  });

  test('Upgrade: websocket without Connection: Upgrade is not a 500: a plain request, answered 426 with JSON', T, async () => {
    const from = server.output().length;
    const response = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/a').replace(/Connection: Upgrade\r\n/, 'Connection: close\r\n'));
    assert.equal(statusOf(response), 426, response);
    assert.match(response, /\r\n\r\n\{"error":"[^"]+"\}$/, response);
    assert.ok(linesSince(from).length <= 1, JSON.stringify(linesSince(from)));
    await waitForStats(server, (s) => s.connections === 0);
  });

  test('/pub/a/../secret is /pub/secret, as on Node and Bun', T, async () => {
    const subscriber = await open(`${server.wsUrl}/sub/secret`);
    await waitForStats(server, (s) => s.subscribers === 1);
    const response = await sendAsIs(server, 'POST', '/pub/a/../secret', { 'content-type': 'text/plain' }, 'resolved');
    assert.equal(response.status, 200, response.body);
    assert.deepEqual((await subscriber.waitFor(1)).map((m) => m.data), ['resolved']);
    await subscriber.close();
  });
});
