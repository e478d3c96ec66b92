/**
 * The broker app mounted inside another Hono app at different prefixes, including ones with
 * parameters and percent-encoded slashes: the topic is always the raw path after `<mount>/<kind>/`
 * (`rawTopicPath` in src/app/guards.ts), decoded once. Driven in-process through `app.request`
 * (real Hono routing, real Requests); the black-box suite covers mounted WebSockets per runtime.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { upgradeWebSocket } from '../src/adapters/node/upgrade.ts';
import { createBroker, type MessageData } from '../mod.ts';

function mounted(prefix: string) {
  const app = new Hono();
  app.get('/', (c) => c.text('host app'));
  const broker = createBroker({ upgradeWebSocket, mode: 'production', log: () => {} });
  app.route(prefix, broker.app);
  const received: Array<[subscribed: string, published: string, data: MessageData]> = [];
  for (const topic of ['a', 'a/b', 'café', 'x/y/z']) broker.addTopicSubscriber(topic, (data, published) => received.push([topic, published, data]));
  return { app, broker, received };
}

const MOUNTS: Array<[pattern: string, requestPrefix: string]> = [
  ['/broker', '/broker'],
  ['/deep/er/broker', '/deep/er/broker'],
  ['/t/:tenant/broker', '/t/acme/broker'],
  // A parameter holding an encoded slash is still one raw segment of the mount.
  ['/t/:tenant/broker', '/t/ac%2Fme/broker'],
  // A mount whose own path has a segment named like a route.
  ['/pub/:id', '/pub/7'],
];

describe('mounted at a prefix, the topic is what follows <mount>/<kind>/', () => {
  for (const [pattern, prefix] of MOUNTS) {
    it(`${pattern} (requests under ${prefix})`, async () => {
      const { app, broker, received } = mounted(pattern);
      const post = (path: string, body = 'm') => app.request(`${prefix}${path}`, { method: 'POST', body });

      assert.equal((await post('/pub/a/b', 'to a/b')).status, 200);
      assert.equal((await post('/pub/caf%C3%A9', 'to café')).status, 200);
      assert.equal((await post('/pub/x%2Fy/z', 'to x/y/z')).status, 200);
      assert.deepEqual(
        [...received].sort(),
        [
          ['a', 'a/b', 'to a/b'],
          ['a/b', 'a/b', 'to a/b'],
          ['café', 'café', 'to café'],
          ['x/y/z', 'x/y/z', 'to x/y/z'],
        ],
      );

      for (const bad of ['/pub/a//b', '/pub/a%2F%2Fb', '/pub/a%2F..%2Fb', '/bus/', '/push/a/']) {
        const response = await post(bad);
        assert.equal(response.status, 400, `${prefix}${bad}`);
        assert.match(((await response.json()) as { error: string }).error, /segment|topic/);
      }
      const plain = await app.request(`${prefix}/sub/a`);
      assert.equal(plain.status, 426);
      assert.equal((await app.request(`${prefix}/stats`)).status, 200);
      assert.equal(await (await app.request('/')).text(), 'host app');
      broker.close();
    });
  }
});

describe('mounted, each refusal is logged with the path the client asked for', () => {
  it('400 topic, 413 body, 503 connections and 503 push queue: the line names the full path', async () => {
    const lines: string[] = [];
    const app = new Hono();
    const broker = createBroker({ upgradeWebSocket, mode: 'production', maxConnections: 1, maxMessageSize: 10, pushQueueLimit: 0, log: (line) => lines.push(line) });
    app.route('/t/:tenant/broker', broker.app);
    const at = (path: string, init?: RequestInit) => app.request(`/t/acme/broker${path}`, init);

    assert.equal((await at('/pub/a//b', { method: 'POST', body: 'x' })).status, 400);
    assert.equal((await at('/pub/big', { method: 'POST', body: 'x'.repeat(11) })).status, 413);
    assert.equal((await at('/push/jobs', { method: 'POST', body: 'x' })).status, 503);
    const sse = { headers: { accept: 'text/event-stream' } };
    const open = await at('/sub/first', sse);
    assert.equal(open.status, 200);
    assert.equal((await at('/sub/second', sse)).status, 503);
    await open.body?.cancel();
    broker.close();

    const expected = [
      /^refused POST \/t\/acme\/broker\/pub\/a\/\/b: 400 /,
      /^refused POST \/t\/acme\/broker\/pub\/big: 413 /,
      /^push to "jobs" refused: POST \/t\/acme\/broker\/push\/jobs answered 503/,
      /^refused GET \/t\/acme\/broker\/sub\/second: 503 maxConnections/,
    ];
    for (const pattern of expected) assert.ok(lines.some((line) => pattern.test(line)), `${pattern} in\n${lines.join('\n')}`);
  });
});

describe('createBroker, for mounting: safe defaults', () => {
  it('defaults to production (no demo page at the mount) unless asked for development', async () => {
    const quiet = createBroker({ upgradeWebSocket, log: () => {} });
    assert.equal(quiet.options.mode, 'production');
    assert.equal((await quiet.app.request('/')).status, 404);
    quiet.close();
    const demo = createBroker({ upgradeWebSocket, mode: 'development', log: () => {} });
    assert.equal((await demo.app.request('/')).status, 200);
    demo.close();
  });

  it('refuses listen, which means nothing when your server listens, with one line saying so', () => {
    assert.throws(
      () => createBroker({ upgradeWebSocket, listen: ['http://127.0.0.1:8080'] }),
      (error: unknown) => error instanceof TypeError && /^createBroker: listen means nothing to a mounted broker/.test(error.message) && !error.message.includes('\n'),
    );
  });
});
