/**
 * TLS listeners (`-l 'https://HOST:PORT?cert=FILE&key=FILE'`) beside `http://` ones, on Node, Deno
 * and Bun, with a certificate made on the fly by `openssl` (Debian's, installed by `.ci/run`):
 * `Listening at https://…` with the real port; `wss://` and `https://` clients that trust the
 * certificate subscribe, publish and stream with tokens; a client that does not trust it gets
 * nowhere. A missing, unreadable or non-PEM file is one line and exit 2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { CLI, nodeCli, runToEnd, type Launcher, type RunningServer } from './helpers/server.ts';
import { BUN, DENO, bunCli, denoCli } from './helpers/runtimes.ts';
import { TestClient } from './helpers/ws-client.ts';
import { waitForOutput } from './helpers/checks.ts';
import { SECRET, bearer, hs256, keyDirectory, now } from './helpers/tokens.ts';

const files = keyDirectory();
let cert = '';
let certFile = '';
let keyFile = '';
before(() => {
  certFile = join(files.dir, 'cert.pem');
  keyFile = join(files.dir, 'key.pem');
  // A self-signed certificate for 127.0.0.1 and localhost, valid for a day.
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  cert = readFileSync(certFile, 'utf8');
});
after(() => files.cleanup());

const httpsListen = () => `https://127.0.0.1:0?cert=${encodeURIComponent(certFile)}&key=${encodeURIComponent(keyFile)}`;

/** The `https://` address the broker printed, with its real port. */
async function httpsUrlOf(server: RunningServer): Promise<string> {
  await waitForOutput(server, (text) => /Listening at https:\/\/127\.0\.0\.1:\d+/.test(text));
  const port = /Listening at https:\/\/127\.0\.0\.1:(\d+)/.exec(server.output())![1]!;
  assert.notEqual(port, '0');
  return `https://127.0.0.1:${port}`;
}

interface HttpsAnswer {
  status: number;
  body: string;
}

/** An HTTPS request that trusts only the test's certificate (or nothing, with `ca` undefined). */
function httpsRequest(url: string, init: { method?: string; body?: string; headers?: Record<string, string>; ca?: string | undefined; readUntil?: string }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ca: init.ca }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        // A stream never ends by itself: stop reading once the awaited text is there.
        if (init.readUntil && body.includes(init.readUntil)) {
          resolve({ status: response.statusCode ?? 0, body });
          req.destroy();
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const RUNTIMES: Array<[string, Launcher]> = [
  ['Node', nodeCli],
  ['Deno', denoCli],
  ['Bun', bunCli],
];

for (const [name, launch] of RUNTIMES) {
  describe(`${name}: https:// beside http://`, () => {
    let server: RunningServer | undefined;
    let httpsUrl = '';
    before(async () => {
      server = await launch(['-l', httpsListen(), '--jwt-secret', SECRET, '--allow-origin', 'example.com']);
      httpsUrl = await httpsUrlOf(server);
    });
    after(async () => {
      await server?.stop('SIGKILL');
    });

    it('wss:// subscribers and SSE over https:// get what an https:// POST and a wss:// publisher send, with tokens', async () => {
      const token = await hs256({ exp: now() + 60, broker: { sub: ['tls'], pub: ['tls'] } });
      const wssUrl = httpsUrl.replace(/^https/, 'wss');
      const origin = 'https://example.com';
      const subscriber = new TestClient(`${wssUrl}/sub/tls`, { ca: cert, headers: bearer(token), origin });
      await subscriber.opened;
      const stream = httpsRequest(`${httpsUrl}/sub/tls?access_token=${token}`, { ca: cert, headers: { accept: 'text/event-stream', origin }, readUntil: 'data: by wss' });
      const publisher = new TestClient(`${wssUrl}/pub/tls`, { ca: cert, headers: bearer(token), origin });
      await publisher.opened;
      // The SSE stream says ": ok" as it opens; publish once it is surely subscribed.
      await waitForSubscribers(httpsUrl, 2);
      const posted = await httpsRequest(`${httpsUrl}/pub/tls`, { method: 'POST', body: 'by https', headers: bearer(token), ca: cert });
      assert.equal(posted.status, 200, posted.body);
      await publisher.send('by wss');
      assert.deepEqual((await subscriber.waitFor(2)).map((m) => m.data), ['by https', 'by wss']);
      const events = await stream;
      assert.equal(events.status, 200);
      assert.match(events.body, /data: by https\n\ndata: by wss/);
      await Promise.all([subscriber.close(), publisher.close()]);
      // The plain listener is still there.
      assert.equal((await fetch(`${server!.httpUrl}/healthz`)).status, 200);
    });

    it('over TLS the host pattern lets in https://example.com, not a page from http://example.com', async () => {
      const token = await hs256({ exp: now() + 60, broker: { sub: ['tls'] } });
      const wssUrl = httpsUrl.replace(/^https/, 'wss');
      const plainPage = new TestClient(`${wssUrl}/sub/tls`, { ca: cert, headers: bearer(token), origin: 'http://example.com' });
      await assert.rejects(plainPage.opened, /unexpected response 401/);
      const stream = await httpsRequest(`${httpsUrl}/sub/tls`, { ca: cert, headers: { ...bearer(token), accept: 'text/event-stream', origin: 'http://example.com' } });
      assert.equal(stream.status, 401);
      assert.match(stream.body, /Origin check failed/);
      // On the plain listener beside it, the same page is let in.
      const plain = new TestClient(`${server!.wsUrl}/sub/tls`, { headers: bearer(token), origin: 'http://example.com' });
      await plain.opened;
      await plain.close();
    });

    it('a client that does not trust the certificate gets nowhere', async () => {
      await assert.rejects(httpsRequest(`${httpsUrl}/healthz`, { ca: undefined }), /self[- ]signed|certificate/i);
      const untrusting = new TestClient(`${httpsUrl.replace(/^https/, 'wss')}/sub/tls`);
      await assert.rejects(untrusting.opened, /self[- ]signed|certificate/i);
    });

    /** Waits until `/stats` (admin token) counts `count` subscribers. */
    async function waitForSubscribers(base: string, count: number): Promise<void> {
      const admin = await hs256({ exp: now() + 60, broker: { admin: true } });
      for (let tries = 0; tries < 200; tries++) {
        const answer = await httpsRequest(`${base}/stats`, { headers: bearer(admin), ca: cert });
        if ((JSON.parse(answer.body) as { subscribers: number }).subscribers >= count) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.fail(`never ${count} subscribers`);
    }
  });
}

describe('a certificate or key file that cannot be used: one line, exit 2', () => {
  const brokers: Array<[string, string, string[]]> = [
    ['Node', process.execPath, [CLI]],
    ['Deno', DENO, ['run', '-q', '-P', 'mod.ts']],
    ['Bun', BUN, ['run', 'mod.ts']],
  ];
  const missing = () => join(files.dir, 'missing.pem');

  for (const [name, command, prefix] of brokers) {
    it(`${name}: a missing certificate file`, async () => {
      const result = await runToEnd(command, [...prefix, '-l', `https://127.0.0.1:0?cert=${missing()}&key=${keyFile}`]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^broker-hono: cannot read certificate file of https:\/\/127\.0\.0\.1:0\?cert=.* .*missing\.pem: ENOENT\n$/);
    });
  }

  it('Node: a directory as the key, a key file that holds a certificate, a query without key', async () => {
    const directory = join(files.dir, 'a-directory');
    mkdirSync(directory, { recursive: true });
    const cases: Array<[string, RegExp]> = [
      [`https://127.0.0.1:0?cert=${certFile}&key=${directory}`, /cannot read key file of .*a-directory: EISDIR/],
      [`https://127.0.0.1:0?cert=${certFile}&key=${certFile}`, /key file .* holds no PEM private key/],
      [`https://127.0.0.1:0?cert=${keyFile}&key=${keyFile}`, /certificate file .* holds no PEM certificate/],
      [`https://127.0.0.1:0?cert=${certFile}`, /-l\/--listen \(listen\).*needs \?cert=FILE&key=FILE/],
    ];
    for (const [address, message] of cases) {
      const result = await runToEnd(process.execPath, [CLI, '-l', address]);
      assert.equal(result.code, 2, `${address}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`);
    }
  });
});
