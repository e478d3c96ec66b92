/**
 * CORS on the HTTP routes (src/app/cors.ts), black-box against the Node CLI: `*` when
 * `allowOrigin` is unset, the allowed Origin echoed back when it is set, nothing for others.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { openSse, refusedSse } from './helpers/sse-client.ts';
import { open } from './helpers/ws-client.ts';

const servers: RunningServer[] = [];
async function start(args: string[] = []): Promise<RunningServer> {
  const server = await nodeCli(args);
  servers.push(server);
  return server;
}
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
});

test('allowOrigin unset: every HTTP route answers Access-Control-Allow-Origin: *', async () => {
  const server = await start();
  const origin = { origin: 'https://elsewhere.example' };
  for (const [method, path] of [['GET', '/stats'], ['GET', '/healthz'], ['GET', '/metrics'], ['POST', '/pub/a'], ['POST', '/bus/a'], ['POST', '/push/a'], ['GET', '/sub/a'], ['POST', '/pub/a//b']]) {
    const response = await fetch(`${server.httpUrl}${path}`, { method, headers: origin, body: method === 'POST' ? 'x' : undefined });
    assert.equal(response.headers.get('access-control-allow-origin'), '*', `${method} ${path}`);
    assert.equal(response.headers.get('access-control-allow-credentials'), null);
  }
  const sse = await openSse(`${server.httpUrl}/sub/a`, origin);
  assert.equal((await sse.response).headers['access-control-allow-origin'], '*');
  sse.close();

  const preflight = await fetch(`${server.httpUrl}/pub/a`, {
    method: 'OPTIONS',
    headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/);
});

test('allowOrigin set: only an allowed Origin is echoed back, with Vary: Origin', async () => {
  const server = await start(['--allow-origin', '*.example.com']);
  const allowed = await fetch(`${server.httpUrl}/stats`, { headers: { origin: 'https://app.example.com' } });
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.match(allowed.headers.get('vary') ?? '', /Origin/i);

  const other = await fetch(`${server.httpUrl}/stats`, { headers: { origin: 'https://example.com.evil.net' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  assert.match(other.headers.get('vary') ?? '', /Origin/i);

  const none = await fetch(`${server.httpUrl}/stats`);
  assert.equal(none.headers.get('access-control-allow-origin'), null);

  const preflight = await fetch(`${server.httpUrl}/pub/a`, { method: 'OPTIONS', headers: { origin: 'https://evil.net', 'access-control-request-method': 'POST' } });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), null);

  const sse = await openSse(`${server.httpUrl}/sub/a`, { origin: 'https://app.example.com' });
  assert.equal((await sse.response).headers['access-control-allow-origin'], 'https://app.example.com');
  sse.close();
  const refused = await refusedSse(`${server.httpUrl}/sub/a`, { origin: 'https://evil.net' });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers['access-control-allow-origin'], undefined);

  // WebSockets are untouched by CORS and still pass the origin check.
  const socket = await open(`${server.wsUrl}/sub/a`, { headers: { origin: 'https://app.example.com' } });
  await socket.close();
});
