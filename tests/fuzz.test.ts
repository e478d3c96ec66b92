/**
 * Property-based fuzzing (fast-check) of the topic parser and of the HTTP layer of the real CLI:
 * random strings and percent-garbage never make the parser throw and every verdict it gives
 * obeys the README's Protocol rules; random requests (method, path, headers, body) always get a
 * documented status, never a 500, never a stack trace, and leave the process alive with nothing
 * behind in `/stats`. POST bodies of random bytes arrive byte for byte, as text or binary as the
 * protocol says.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ancestors, parseTopic, parseTopicPath } from '../src/topic.ts';
import { nodeCli, waitForStats, type RunningServer } from './helpers/server.ts';
import { open } from './helpers/ws-client.ts';
import { statusOf, tcpConnect } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace, logLines } from './helpers/checks.ts';

const LIMITS = { maxTopicDepth: 8, maxTopicLength: 64 };
const RULES = new Set(['encoding', 'empty', 'empty-segment', 'dot-segment', 'control-character', 'too-deep', 'too-long']);

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const anyString = fc.string({ unit: codeUnit, maxLength: 80 });
/** Text made of the pieces that break parsers: escapes (good, bad, partial), slashes, dots. */
const hostilePiece = fc.oneof(
  fc.constantFrom('%', '%%', '/', '//', '.', '..', '%2F', '%2f', '%2e', '%2E%2e', '%00', '%0A', '%7F', '%C3%A9', '%C3', '%FF', '%E0%A4', '%ED%A0%80', '%F4%90%80%80', '%G0', 'a', 'é', '?', '#', ' '),
  fc.integer({ min: 0, max: 255 }).map((byte) => `%${byte.toString(16).padStart(2, '0')}`),
  fc.string({ unit: codeUnit, maxLength: 4 }),
);
const hostileText = fc.array(hostilePiece, { maxLength: 24 }).map((pieces) => pieces.join(''));

const encoder = new TextEncoder();
const CONTROL = /[\u0000-\u001f\u007f]/;

function assertVerdict(input: string, result: ReturnType<typeof parseTopic>): void {
  if (!result.ok) {
    assert.ok(RULES.has(result.rule), `unknown rule ${result.rule}`);
    assert.ok(result.error.length > 0);
    return;
  }
  const { name, segments } = result.topic;
  assert.equal(segments.join('/'), name);
  assert.ok(segments.length >= 1 && segments.length <= LIMITS.maxTopicDepth, `depth of ${JSON.stringify(input)}`);
  assert.ok(encoder.encode(name).length <= LIMITS.maxTopicLength, `length of ${JSON.stringify(input)}`);
  assert.ok(!CONTROL.test(name), `control character in ${JSON.stringify(input)}`);
  assert.ok(!/\p{Cs}/u.test(name), `lone surrogate in ${JSON.stringify(input)}`);
  for (const segment of segments) assert.ok(segment !== '' && segment !== '.' && segment !== '..', `segment ${JSON.stringify(segment)}`);
}

describe('fuzz: topic parser', () => {
  test('never throws on any string; every accepted topic obeys every rule', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, hostileText), (input) => {
        assertVerdict(input, parseTopic(input, LIMITS));
        assertVerdict(input, parseTopicPath(input, LIMITS));
      }),
      { numRuns: 5000 },
    );
  });

  test('a valid topic survives percent-encoding each segment, and its ancestors are its prefixes', () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: LIMITS.maxTopicDepth }), (segments) => {
        const name = segments.join('/');
        const direct = parseTopic(name, LIMITS);
        const encoded = parseTopicPath(segments.map(encodeURIComponent).join('/'), LIMITS);
        assert.deepEqual(encoded, direct);
        if (!direct.ok) return;
        const chain = ancestors(direct.topic);
        assert.equal(chain.length, direct.topic.segments.length);
        assert.equal(chain[0], name);
        chain.forEach((ancestor, i) => {
          assert.equal(ancestor, direct.topic.segments.slice(0, direct.topic.segments.length - i).join('/'));
        });
      }),
      { numRuns: 3000 },
    );
  });
});

/**
 * Every status the README's "Protocol" and "Limits and hardening" name: 101 and 200 accepted,
 * 204 for a CORS preflight, 400 bad topic or unparsable request, 401 origin, 404 no route, 405 an
 * upgrade asked for with another method than GET, 413 too big, 426 upgrade required, 431 headers
 * too large. (503 needs a limit reached; the connection cap here is not.)
 */
const DOCUMENTED = new Set([101, 200, 204, 400, 401, 404, 405, 413, 426, 431]);

const WEBSOCKET_HEADERS: Array<[string, string]> = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Version', '13'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
];

interface FuzzRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  framing: 'length' | 'chunked' | 'none';
}

const requestArbitrary: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'BREW'),
  path: fc
    .tuple(
      fc.constantFrom('/sub/', '/pub/', '/bus/', '/push/', '/pull/', '/', '/stats', '/metrics', '/healthz', '//', '/sub', '/pub', '/debug/heap', '/x/'),
      fc.oneof(hostileText, fc.constantFrom('news', 'a/b/c', 'caf%C3%A9', 'x%2Fy', 'deep/' + 'n/'.repeat(10) + 'end')),
      fc.option(fc.constantFrom('?echo=1', '?echo=%', '?%%', '?a=%E0%A4', '#x', '?x=' + 'q'.repeat(100)), { nil: '' }),
    )
    .map(([prefix, rest, query]) => prefix + rest + query),
  headers: fc.tuple(fc.constantFrom('none', 'none', 'full', 'some'), fc.uniqueArray(
    fc.constantFrom<[string, string]>(
      ['Sec-WebSocket-Key', 'not a key'],
      ['Accept', 'text/event-stream'],
      ['Content-Type', 'application/octet-stream'],
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Expect', '100-continue'],
      ['Transfer-Encoding', 'gzip'],
    ),
    { selector: ([name]) => name.toLowerCase(), maxLength: 6 },
  ), fc.integer({ min: 0, max: 3 }), fc.constantFrom(undefined, 'http://example.com', 'https://EXAMPLE.com:8443', 'http://example.com.evil.net', 'http://evilexample.com', 'null')).map(([websocket, others, drop, origin]) => {
    // A whole WebSocket handshake, part of one, or none; then the other headers (which may
    // replace one of the handshake's).
    const handshake = websocket === 'full' ? WEBSOCKET_HEADERS : websocket === 'some' ? WEBSOCKET_HEADERS.filter((_, i) => i !== drop) : [];
    const names = new Set(others.map(([name]) => name.toLowerCase()));
    const headers: Array<[string, string]> = [...handshake.filter(([name]) => !names.has(name.toLowerCase())), ...others];
    if (origin) headers.push(['Origin', origin]);
    return headers;
  }),
  body: fc.uint8Array({ maxLength: 700 }),
  framing: fc.constantFrom('length', 'chunked', 'none'),
});

function rawRequest(request: FuzzRequest): Buffer {
  // Request targets must not hold spaces, CR or LF for the exchange to be an HTTP request at
  // all; anything else (bytes ≥ 0x80, controls) goes as it is.
  const target = Buffer.from(request.path.replace(/[ \r\n]/g, '%20'), 'utf8');
  let head = `${request.method} `;
  const lines: string[] = ['Host: fuzz'];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  let body: Buffer = Buffer.alloc(0);
  if (request.framing === 'length') {
    lines.push(`Content-Length: ${request.body.length}`);
    body = Buffer.from(request.body);
  } else if (request.framing === 'chunked' && request.body.length > 0 && !request.headers.some(([name]) => name === 'Transfer-Encoding')) {
    lines.push('Transfer-Encoding: chunked');
    body = Buffer.concat([Buffer.from(`${request.body.length.toString(16)}\r\n`), Buffer.from(request.body), Buffer.from('\r\n0\r\n\r\n')]);
  }
  head = `${head}`;
  return Buffer.concat([Buffer.from(head), target, Buffer.from(` HTTP/1.1\r\n${lines.join('\r\n')}\r\nConnection-Id: ${Math.random()}\r\n\r\n`), body]);
}

/** Sends one request, returns the status line's code (0 if the server said nothing), then hangs up. */
async function statusFor(server: RunningServer, bytes: Buffer): Promise<{ status: number; text: string }> {
  const socket = await tcpConnect(server.httpUrl);
  socket.on('error', () => {});
  return new Promise((resolve) => {
    let text = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: statusOf(text), text });
    };
    const timer = setTimeout(finish, 3000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n') && !text.startsWith('HTTP/1.1 100 ')) finish();
      else if (text.startsWith('HTTP/1.1 100 ') && text.split('\r\n\r\n').length > 2) {
        text = text.slice(text.indexOf('\r\n\r\n') + 4);
        finish();
      }
    });
    socket.once('close', finish);
    socket.write(bytes);
  });
}

describe('fuzz: the HTTP layer of the CLI', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['--max-message-size', '512', '--allow-origin', 'example.com', '-c', '50']);
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  test('random requests always get a documented status and never a 500', { timeout: 180_000 }, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArbitrary, async (request) => {
        const { status, text } = await statusFor(server, rawRequest(request));
        seen.set(status, (seen.get(status) ?? 0) + 1);
        // 0: the server kept waiting for more (a request it may rightly wait on, e.g. a
        // Content-Length or chunked body it was not sent); never a crash.
        assert.ok(status === 0 || DOCUMENTED.has(status), `${request.method} ${JSON.stringify(request.path)} ${JSON.stringify(request.headers)} → ${JSON.stringify(text.slice(0, 300))}`);
        assertAlive(server);
      }),
      {
        numRuns: 2000,
        // Each of the answers below at least once, whatever the random draw.
        examples: [
          [{ method: 'GET', path: '/sub/news', headers: [...WEBSOCKET_HEADERS, ['Origin', 'http://example.com']], body: new Uint8Array(), framing: 'none' }],
          [{ method: 'GET', path: '/sub/news', headers: [...WEBSOCKET_HEADERS], body: new Uint8Array(), framing: 'none' }],
          [{ method: 'POST', path: '/pub/news', headers: [], body: new Uint8Array([104, 105]), framing: 'length' }],
          [{ method: 'OPTIONS', path: '/pub/news', headers: [['Origin', 'http://example.com']], body: new Uint8Array(), framing: 'none' }],
          [{ method: 'GET', path: '/pub/news', headers: [], body: new Uint8Array(), framing: 'none' }],
          // Once a 500 (a HEAD whose GET response no middleware touched, on @hono/node-server).
          [{ method: 'HEAD', path: '/healthz', headers: [['Upgrade', 'websocket']], body: new Uint8Array(), framing: 'none' }],
          [{ method: 'HEAD', path: '/stats', headers: [['Upgrade', 'websocket']], body: new Uint8Array(), framing: 'none' }],
          [{ method: 'HEAD', path: '/sub/news', headers: [['Accept', 'text/event-stream'], ['Origin', 'http://example.com']], body: new Uint8Array(), framing: 'none' }],
        ],
      },
    );
    console.log(`# statuses: ${JSON.stringify([...seen].sort())}`);
    // The run did reach the interesting answers, not just one kind of refusal.
    for (const status of [101, 200, 204, 400, 401, 404, 426]) assert.ok(seen.has(status), `never saw ${status}: ${JSON.stringify([...seen])}`);
    assert.equal(logLines(server, /error on |internal error/).length, 0, server.output().slice(-3000));
    // Every connection the fuzzing opened (WebSockets, SSE streams) is gone again.
    const s = await waitForStats(server, (x) => x.connections === 0, 20_000);
    assert.equal(s.subscribers + s.publishers + s.peers + s.pushers + s.pullers, 0);
  });

  test('POST bodies of random bytes arrive byte for byte, as text or binary as the README (Protocol) says', { timeout: 120_000 }, async () => {
    const subscriber = await open(`${server.wsUrl}/sub/fuzz/body`, { headers: { Origin: 'http://example.com' } });
    await waitForStats(server, (s) => s.subscribers === 1);
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let expected = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ unit: 'grapheme', maxLength: 100 }).map((text) => encoder.encode(text).subarray(0, 512))), fc.boolean(), async (bytes, octetStream) => {
        const response = await fetch(`${server.httpUrl}/pub/fuzz/body`, {
          method: 'POST',
          body: bytes,
          headers: octetStream ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'text/plain' },
        });
        assert.equal(response.status, 200);
        expected++;
        const message = (await subscriber.waitFor(expected))[expected - 1]!;
        let text: string | undefined;
        try {
          text = strict.decode(bytes);
        } catch {
          text = undefined;
        }
        if (text !== undefined && !octetStream) {
          assert.equal(message.binary, false);
          assert.equal(message.data, text);
        } else {
          assert.equal(message.binary, true);
          assert.deepEqual(new Uint8Array(message.data as Buffer), bytes);
        }
      }),
      { numRuns: 300 },
    );
    await subscriber.close();
  });
});
