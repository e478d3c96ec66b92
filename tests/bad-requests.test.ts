/**
 * Issue 15, finding 6 and part of 9: every bad request gets a 4xx JSON answer and at most one
 * log line; no runtime error page, no 500, no stack trace; a client that merely leaves in the
 * middle of its request is not logged at all. Raw sockets against the Node and Bun CLIs.
 *
 * What was found: the app's 404 and error handlers called `new URL(request.url)`, which throws
 * on some requests. Bun answered `Host: a b`, `Host: x:99999` and unknown paths with such hosts
 * with its 50 KB development error page (working directory, absolute paths, source lines) and
 * ~11 log lines each; Node answered `Host: x:99999` with `Upgrade: foo` 500, its own refusals of
 * backslash paths and `OPTIONS *` had empty bodies, CONNECT was dropped unanswered, and every
 * client that closed its side mid-request was logged as "refused client: 400
 * HPE_INVALID_EOF_STATE" (19,978 lines in one load test).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, waitForStats, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli } from './helpers/runtimes.ts';
import { rawExchange, statusOf, tcpConnect } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace, waitForOutput } from './helpers/checks.ts';

const T = { timeout: 60_000 };
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WEBSOCKET = `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`;

/** Requests every runtime must answer with a 4xx JSON body. */
const BAD_REQUESTS = [
  'GET /stats HTTP/1.1\r\nHost: a b\r\n\r\n',
  'GET /nothing HTTP/1.1\r\nHost: a b\r\n\r\n',
  'GET /nothing HTTP/1.1\r\nHost: x:99999\r\n\r\n',
  'GET /nothing HTTP/1.1\r\nHost: x:99999\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n',
  'GET /sub/a HTTP/1.1\r\nHost: x:99999\r\nAccept: text/event-stream\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n',
  `GET /sub/a HTTP/1.1\r\nHost: x:99999\r\n${WEBSOCKET}\r\n`,
  `GET /sub/a HTTP/1.1\r\nHost: a b\r\n${WEBSOCKET}\r\n`,
  'GET /sub/a HTTP/1.1\r\nHost: a b\r\nAccept: text/event-stream\r\n\r\n',
  'POST /pub/a HTTP/1.1\r\nHost: x:99999\r\nContent-Length: 2\r\n\r\nhi',
  'POST /nothing HTTP/1.1\r\nHost: a%b\r\nContent-Length: 2\r\n\r\nhi',
  'CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n',
  'CONNECT /sub/a HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /pub/a\\..\\b HTTP/1.1\r\nHost: x\r\n\r\n',
];

/** Node's own: Bun answers `OPTIONS *` in its parser (a bare 400) and completes HTTP/1.0 upgrades. */
const NODE_ONLY = [
  'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  `GET /sub/a HTTP/1.0\r\nHost: x\r\n${WEBSOCKET}\r\n`,
];

const RUNTIMES: Array<[string, Launcher, string[]]> = [
  ['node CLI', nodeCli, [...BAD_REQUESTS, ...NODE_ONLY]],
  ['bun CLI', bunCli, BAD_REQUESTS],
];

for (const [name, launch, requests] of RUNTIMES) {
  describe(`${name}: bad requests and clients that leave`, () => {
    let server: RunningServer;

    before(async () => {
      server = await launch(['-m', 'production']);
      // The start-up lines are all out before any test counts lines.
      await waitForOutput(server, (text) => text.includes('in production mode'));
    });
    after(async () => {
      assertAlive(server);
      assertNoStackTrace(server);
      await server.stop();
    });

    it('every bad request is a 4xx with a short JSON error body and at most one log line', T, async () => {
      const linesBefore = server.output().split('\n').length;
      for (const request of requests) {
        const answer = await rawExchange(server.httpUrl, Buffer.from(request, 'latin1'));
        const status = statusOf(answer);
        const shown = `${JSON.stringify(request)} → ${JSON.stringify(answer.slice(0, 400))}`;
        assert.ok(status >= 400 && status < 500, `not a 4xx: ${shown}`);
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        assert.ok(body.length < 1000, `a ${body.length}-byte body (an error page?): ${shown}`);
        assert.equal(typeof (JSON.parse(body) as { error?: unknown }).error, 'string', `no JSON error body: ${shown}`);
        assert.doesNotMatch(answer, /\/work\/|node_modules|\.ts:\d+/, `the answer shows the server's files: ${shown}`);
      }
      // Every answer is in, and each refusal was logged as it was answered.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const added = server.output().split('\n').length - linesBefore;
      assert.ok(added <= requests.length, `${added} log lines for ${requests.length} bad requests:\n${server.output().slice(-3000)}`);
      assertNoStackTrace(server);
    });

    it('clients that leave mid-request (half a head, half a body; closed or reset) are not logged', T, async () => {
      const linesBefore = server.output().split('\n').length;
      const leavers = [
        'GET /stats HTTP/1.1\r\nHost: x\r\nX-Half: y',
        'POST /pub/leave HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf a body',
        'POST /pub/leave HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab',
        `GET /sub/leave HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}`,
      ];
      await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const socket = await tcpConnect(server.httpUrl);
          socket.on('error', () => {});
          await new Promise<void>((resolve) => socket.write(leavers[i % leavers.length]!, () => resolve()));
          await new Promise((resolve) => setTimeout(resolve, 50));
          // Half of them close their side politely (FIN), half reset the connection.
          if (i % 2) socket.end();
          else socket.resetAndDestroy();
          // (Bounded: what matters here is the log, not how soon the server lets go.)
          await Promise.race([new Promise((resolve) => socket.once('close', resolve)), new Promise((resolve) => setTimeout(resolve, 5000))]);
          socket.destroy();
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await waitForStats(server, (s) => s.connections === 0);
      const added = server.output().split('\n').slice(linesBefore - 1).filter((line) => line.trim() !== '');
      assert.deepEqual(added, [], 'nothing logged for clients that went away');
    });
  });
}
