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
import { assertAlive, assertNoStackTrace, logLinesUpToSentinel, MiB, waitForOutput } from './helpers/checks.ts';

const T = { timeout: 30_000 };

describe('deno CLI: what one request can do', () => {
  let server: RunningServer;
  before(async () => {
    server = await denoCli(['-m', 'production']);
    // The banner follows the Listening line: counted lines start after it.
    await waitForOutput(server, (text) => /in production mode/.test(text));
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

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
    const withoutKey = (head: string) => head.replace(/Sec-WebSocket-Key: [^\r]*\r\n/, '');
    const linesBefore = (await logLinesUpToSentinel(server, /./)).length;
    let sent = 0;
    for (const host of ['a b', 'x:99999', 'x:y', '[::1']) {
      const requests = [
        `GET /stats HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        `GET /no/such/route HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        upgradeRequest(server.httpUrl, '/sub/a', { Host: host }),
        withoutKey(upgradeRequest(server.httpUrl, '/sub/a', { Host: host })),
      ];
      for (const request of requests) {
        const response = await rawExchange(server.httpUrl, request);
        const what = `Host ${host}, ${JSON.stringify(request.split('\r\n')[0])}: ${response}`;
        assert.equal(statusOf(response), 400, what);
        assert.match(response, /\r\n\r\n\{"error":"[^"]+"\}$/, what);
        sent++;
      }
    }
    // One log line per request at most (the first sentinel's own line is among those counted).
    const lines = (await logLinesUpToSentinel(server, /./)).slice(linesBefore + 1);
    assert.ok(lines.length <= sent, `${lines.length} lines for ${sent} requests: ${JSON.stringify(lines)}`);
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
    const linesBefore = (await logLinesUpToSentinel(server, /./)).length;
    const response = await rawExchange(server.httpUrl, upgradeRequest(server.httpUrl, '/sub/a').replace(/Connection: Upgrade\r\n/, 'Connection: close\r\n'));
    assert.equal(statusOf(response), 426, response);
    assert.match(response, /\r\n\r\n\{"error":"[^"]+"\}$/, response);
    const lines = (await logLinesUpToSentinel(server, /./)).slice(linesBefore + 1);
    assert.ok(lines.length <= 1, JSON.stringify(lines));
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
