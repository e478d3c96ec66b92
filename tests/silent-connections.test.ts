/**
 * A connection that opens and then sends nothing is closed at the head timeout on every runtime
 * (README "Limits and hardening"): Node's own head timer starts only at a request's first byte,
 * so without silent-connections.ts Node and Deno held such a socket for good (measured: still
 * open after 70 s), and a few thousand of them use up the broker's descriptors.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dropSilentConnections } from '../src/adapters/node/silent-connections.ts';
import { answerClientErrors } from '../src/adapters/node/client-errors.ts';
import { nodeCli, stats, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli, denoCli } from './helpers/runtimes.ts';
import { tcpConnect } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace } from './helpers/checks.ts';

/**
 * Milliseconds from now until `socket` is closed by the other side (or `giveUpMs`, then -1), and
 * how many bytes the broker sent first (none: there is no request to answer).
 *
 * The socket reads: a Node socket that reads nothing never reports a FIN that comes after data.
 * When the runtime's own head check answered a silent connection with a 408 (see below), the
 * client sat in CLOSE-WAIT (`ss`; the broker's side was in FIN-WAIT-2) with no 'close' for 30 s:
 * that was the intermittent "still open after 30 s" on Node and Deno.
 */
async function closedAfter(url: string, giveUpMs: number): Promise<{ ms: number; bytes: number }> {
  const socket = await tcpConnect(url);
  socket.on('error', () => {});
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const since = Date.now();
  return new Promise((resolve) => {
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ ms: -1, bytes });
    }, giveUpMs);
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve({ ms: Date.now() - since, bytes });
    });
  });
}

const runtimes: [string, Launcher, string[], number][] = [
  // Node and Deno: at --headers-timeout, checked when it runs out.
  ['node', nodeCli, ['--headers-timeout', '2'], 2000],
  ['deno', denoCli, ['--headers-timeout', '2'], 2000],
  // Bun's head timer is its own (10 s, on 4 s ticks, whatever is set): see bun/serve.ts.
  ['bun', bunCli, [], 10_000],
];

describe('a connection that sends nothing', { concurrency: true }, () => {
  const servers: RunningServer[] = [];
  after(async () => {
    for (const server of servers) {
      assertAlive(server);
      assertNoStackTrace(server);
      await server.stop();
    }
  });
  for (const [name, launch, args, timeoutMs] of runtimes) {
    test(`${name}: is closed after ${timeoutMs / 1000} s, unanswered, not before, and the broker goes on`, { timeout: 60_000 }, async () => {
      const server = await launch(args);
      servers.push(server);
      const silent = await Promise.all([closedAfter(server.httpUrl, 30_000), closedAfter(server.httpUrl, 30_000)]);
      for (const { ms, bytes } of silent) {
        assert.notEqual(ms, -1, 'still open after 30 s');
        assert.equal(bytes, 0, 'the broker answered a connection that sent no request');
        assert.ok(ms >= timeoutMs - 100, `closed after ${ms} ms, before the timeout`);
        assert.ok(ms < timeoutMs + 8000, `closed after ${ms} ms`);
      }
      console.log(`${name}: silent connections closed after ${silent.map(({ ms }) => ms).join(', ')} ms`);
      assert.equal((await stats(server)).connections, 0);
    });
  }
});

describe('many silent connections', { concurrency: true }, () => {
  // The runtime's own head-timeout check now and then reports a connection that has sent
  // nothing, when it comes round just before the broker's timer (about 1 connection in 200 on
  // Deno, once in 900 seen on Node): that client got a 408 and the log a line. Six hundred
  // connections, opened over more than one check interval, met that moment in about half the
  // runs before the fix; the next test is the one that fails every time without it.
  for (const [name, launch] of [['node', nodeCli], ['deno', denoCli]] as const) {
    test(`${name}: 600 are all closed unanswered, and nothing is logged`, { timeout: 60_000 }, async () => {
      const server = await launch(['--headers-timeout', '0.5']);
      try {
        const closing: Promise<{ ms: number; bytes: number }>[] = [];
        for (let i = 0; i < 600; i++) {
          closing.push(closedAfter(server.httpUrl, 10_000));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        const silent = await Promise.all(closing);
        assert.equal(silent.filter(({ ms }) => ms === -1).length, 0, 'still open after 10 s');
        const answered = silent.filter(({ bytes }) => bytes > 0).length;
        assert.equal(answered, 0, `${answered} of 600 silent connections were answered; the broker said: ${server.output().slice(-400)}`);
        assert.doesNotMatch(server.output(), /refused client/);
        assertAlive(server);
        assert.equal((await stats(server)).connections, 0);
      } finally {
        await server.stop();
      }
    });
  }
});

describe("the runtime's own head timeout", () => {
  // What the runtime reports when its head-timeout check finds a connection first: for one that
  // sent nothing, the same as the broker's own timer (closed, unanswered, not logged); for one
  // with half a head, a JSON 408 and a log line.
  for (const [sent, answer, logged] of [
    ['', '', 0],
    ['GET / HT', 'HTTP/1.1 408 Request Timeout', 1],
  ] as const) {
    test(`after ${sent ? 'half a head' : 'nothing'} the client gets ${answer || 'no answer'}`, { timeout: 10_000 }, async () => {
      const lines: string[] = [];
      const server = createServer((_request, response) => response.end());
      answerClientErrors(server, (line) => lines.push(line));
      let serverSide: Socket | undefined;
      const connected = new Promise<void>((resolve) => server.on('connection', (socket) => ((serverSide = socket), resolve())));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const client = await tcpConnect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
        let received = '';
        client.on('data', (chunk: Buffer) => (received += chunk.toString()));
        const closed = new Promise((resolve) => client.once('close', resolve));
        if (sent) client.write(sent);
        await connected;
        // Until the server has read what was sent: the runtime's check sees those bytes.
        while (serverSide!.bytesRead < sent.length) await new Promise((resolve) => setTimeout(resolve, 5));
        server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), serverSide);
        await closed;
        assert.equal(received.split('\r\n')[0], answer);
        assert.equal(lines.length, logged, lines.join('\n'));
      } finally {
        server.close();
      }
    });
  }
});

describe('a busy event loop is not silence', () => {
  // The server's loop is blocked right after a client connects, longer than the timeout: the
  // client's head waits unread in the kernel when the timer comes due. A check that trusted the
  // late timer closed that client (an ECONNRESET seen under hostile load on Deno); it must be
  // answered.
  test('a client whose head arrived while the loop was blocked past the timeout is answered', { timeout: 20_000 }, async () => {
    const server = createServer((_request, response) => response.end('answered'));
    dropSilentConnections(server, 200);
    server.on('connection', () => {
      const until = Date.now() + 700;
      while (Date.now() < until) {
        // Blocks the loop as a burst of hostile work would.
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // Another process, so that its head is sent while this loop is blocked.
      const client = spawn(process.execPath, ['-e', `
        const socket = require('node:net').connect(${port}, '127.0.0.1', () => socket.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk));
        socket.on('error', (error) => { console.log('error ' + error.code); });
        socket.on('close', () => console.log(answer.split('\\r\\n')[0] + ' ' + answer.slice(-8)));
      `]);
      let output = '';
      client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await new Promise((resolve) => client.once('close', resolve));
      assert.equal(output.trim(), 'HTTP/1.1 200 OK answered');
    } finally {
      server.close();
    }
  });
});
