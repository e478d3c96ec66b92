/**
 * `-p/--proxy` (src/app/forwarded.ts) and the origin check over TLS (src/app/origin-over-tls.ts),
 * black box against the Node CLI. With `--proxy` the last `X-Forwarded-For` entry names the
 * client in refusal log lines and `X-Forwarded-Proto` is the scheme the origin check sees;
 * without it both headers are ignored (any client could send them). Over TLS, a host pattern
 * (`example.com`) lets in `https://example.com` pages, not `http://` ones, unless the full
 * `http://` origin is listed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { logLinesUpToSentinel, waitForOutput } from './helpers/checks.ts';
import { TestClient, refusedUpgrade } from './helpers/ws-client.ts';
import { keyDirectory } from './helpers/tokens.ts';

/** Status of an SSE request (origin required) with these headers; the stream is closed at once. */
async function sseStatus(server: RunningServer, headers: Record<string, string>, topic = 'o'): Promise<number> {
  const controller = new AbortController();
  const response = await fetch(`${server.httpUrl}/sub/${topic}`, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  controller.abort();
  return response.status;
}

const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
});

describe('--proxy', () => {
  let proxied: RunningServer;
  let direct: RunningServer;
  before(async () => {
    [proxied, direct] = await Promise.all([nodeCli(['-p', '--allow-origin', 'example.com']), nodeCli(['--allow-origin', 'example.com'])]);
    servers.push(proxied, direct);
  });

  it('X-Forwarded-Proto: https makes a plain-http page fail the origin check, only with --proxy', async () => {
    const page = { origin: 'http://example.com' };
    assert.equal(await sseStatus(proxied, { ...page, 'x-forwarded-proto': 'https' }), 401);
    assert.equal(await sseStatus(proxied, { origin: 'https://example.com', 'x-forwarded-proto': 'https' }), 200);
    assert.equal(await sseStatus(proxied, { ...page, 'x-forwarded-proto': 'http' }), 200);
    assert.equal(await sseStatus(proxied, page), 200);
    // A client's own X-Forwarded-Proto means nothing to a broker that is not behind a proxy.
    assert.equal(await sseStatus(direct, { ...page, 'x-forwarded-proto': 'https' }), 200);
    const refused = await refusedUpgrade(`${proxied.wsUrl}/sub/o`, { ...page, 'x-forwarded-proto': 'https' });
    assert.equal(refused.status, 401);
  });

  it('log lines name the client from the last X-Forwarded-For entry with --proxy, the peer address without', async () => {
    const headers = { origin: 'https://evil.test', 'x-forwarded-for': '198.51.100.1, 203.0.113.9' };
    assert.equal(await sseStatus(proxied, headers, 'xff'), 401);
    assert.equal(await sseStatus(direct, headers, 'xff'), 401);
    assert.deepEqual(
      (await logLinesUpToSentinel(proxied, 'refused GET /sub/xff: 401 origin')).map((line) => /\(from (.*)\)$/.exec(line)?.[1]),
      ['203.0.113.9'],
    );
    assert.deepEqual(
      (await logLinesUpToSentinel(direct, 'refused GET /sub/xff: 401 origin')).map((line) => /\(from (.*)\)$/.exec(line)?.[1]),
      ['127.0.0.1'],
    );
  });

  it('-p takes no value', async () => {
    const { runCli } = await import('./helpers/server.ts');
    const result = await runCli(['--proxy=yes']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'broker-hono: --proxy=yes takes no value\n');
  });
});

describe('the origin check over a TLS listener', () => {
  const files = keyDirectory();
  let server: RunningServer;
  let wssUrl = '';
  let cert = '';
  before(async () => {
    const certFile = join(files.dir, 'cert.pem');
    const keyFile = join(files.dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' });
    cert = readFileSync(certFile, 'utf8');
    server = await nodeCli(['-l', `https://127.0.0.1:0?cert=${certFile}&key=${keyFile}`, '--allow-origin', 'example.com', '--allow-origin', 'http://localhost:5173']);
    servers.push(server);
    await waitForOutput(server, (text) => /Listening at https:\/\/127\.0\.0\.1:\d+/.test(text));
    wssUrl = `wss://127.0.0.1:${/Listening at https:\/\/127\.0\.0\.1:(\d+)/.exec(server.output())![1]}`;
  });
  after(() => files.cleanup());

  /** Opens `/sub/o` over wss:// with `origin`: true when the socket opened. */
  async function opens(origin: string): Promise<boolean> {
    const client = new TestClient(`${wssUrl}/sub/o`, { ca: cert, origin });
    try {
      await client.opened;
      await client.close();
      return true;
    } catch (error) {
      assert.match(String(error), /unexpected response 401/);
      return false;
    }
  }

  it('a host pattern lets in https pages only; a listed http:// origin still gets in', async () => {
    assert.equal(await opens('https://example.com'), true);
    assert.equal(await opens('http://example.com'), false);
    assert.equal(await opens('http://localhost:5173'), true);
    assert.equal(await opens('https://evil.test'), false);
    // The plain listener beside it keeps the plain rule.
    assert.equal(await sseStatus(server, { origin: 'http://example.com' }), 200);
  });
});
