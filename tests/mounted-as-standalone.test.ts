/**
 * A broker mounted in a host Hono app answers as the standalone one does, whatever the host
 * hands it: HEAD (the GET answer without a body, never a 500, an SSE stream closed at once), dot
 * segments (also from a host that routes paths as sent, as Deno does), and the opt-in heap debug
 * route. In-process; the black-box suite checks the same on the wire for every runtime.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { upgradeWebSocket } from '../src/adapters/node/upgrade.ts';
import { createBroker, type CreateBrokerInit, type MessageData } from '../mod.ts';

/**
 * A request whose `url` keeps its path as sent, dot segments and all, as Deno's requests do (a
 * fetch `Request` made here would resolve them).
 */
class AsSentRequest extends Request {
  readonly #url: string;
  constructor(url: string, init?: RequestInit) {
    super(url, init);
    this.#url = url;
  }
  override get url(): string {
    return this.#url;
  }
}

function mounted(prefix: string, init: Partial<CreateBrokerInit> = {}) {
  const host = new Hono();
  host.get('/', (c) => c.text('host app'));
  const broker = createBroker({ upgradeWebSocket, mode: 'production', log: () => {}, ...init });
  host.route(prefix, broker.app);
  const received: Array<[subscribed: string, data: MessageData]> = [];
  for (const topic of ['a', 'b/c']) broker.addTopicSubscriber(topic, (data) => received.push([topic, data]));
  const asSent = (path: string, init?: RequestInit) => host.fetch(new AsSentRequest(`http://localhost${path}`, init));
  return { host, broker, received, asSent };
}

describe('HEAD: the GET answer without a body, mounted as standalone', () => {
  it('HEAD /healthz with Upgrade: websocket, /stats and /metrics are 200 with the GET headers and no body', async () => {
    const { host, broker } = mounted('/broker');
    for (const [path, type] of [['/healthz', /text\/plain/], ['/stats', /application\/json/], ['/metrics', /text\/plain/]] as const) {
      for (const headers of [{}, { upgrade: 'websocket' }] as Array<Record<string, string>>) {
        const response = await host.request(`/broker${path}`, { method: 'HEAD', headers });
        assert.equal(response.status, 200, `HEAD ${path} ${JSON.stringify(headers)}`);
        assert.match(response.headers.get('content-type') ?? '', type, path);
        assert.equal(await response.text(), '', path);
      }
    }
    broker.close();
  });

  it('HEAD of an SSE subscription is its 200 text/event-stream, and the stream it opened is closed at once', async () => {
    const { host, broker } = mounted('/broker');
    const before = broker.stats();
    const response = await host.request('/broker/sub/a', { method: 'HEAD', headers: { accept: 'text/event-stream' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.equal(await response.text(), '');
    assert.equal(broker.stats().connections, 0);
    // Only the host's in-process subscribers are left.
    assert.equal(broker.stats().subscribers, before.subscribers);
    broker.close();
  });

  it('HEAD with WebSocket handshake headers is no handshake: the plain GET answer, 426', async () => {
    const { host, broker } = mounted('/broker');
    const headers = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
    const response = await host.request('/broker/sub/a', { method: 'HEAD', headers });
    assert.equal(response.status, 426);
    assert.equal(await response.text(), '');
    assert.equal(broker.stats().connections, 0);
    broker.close();
  });

  describe('behind @hono/node-server (its lightweight Response once made HEAD a 500)', () => {
    const { host, broker } = mounted('/broker');
    const server = serve({ fetch: host.fetch, hostname: '127.0.0.1', port: 0 });
    after(() => {
      broker.close();
      server.close();
    });

    it('HEAD /broker/healthz and /broker/stats with Upgrade: websocket are 200', async () => {
      await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
      const { port } = server.address() as AddressInfo;
      for (const path of ['/broker/healthz', '/broker/stats']) {
        const status = await new Promise<number | undefined>((resolve, reject) => {
          const request = httpRequest({ host: '127.0.0.1', port, path, method: 'HEAD', headers: { upgrade: 'websocket', connection: 'close' } }, (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode));
          });
          request.on('error', reject);
          request.end();
        });
        assert.equal(status, 200, path);
      }
    });
  });
});

describe('dot segments mean what URL parsing makes of them, whoever routed the request', () => {
  const MOUNTS: Array<[pattern: string, prefix: string]> = [
    ['/broker', '/broker'],
    ['/t/:tenant/broker', '/t/acme/broker'],
  ];
  for (const [pattern, prefix] of MOUNTS) {
    it(`mounted at ${pattern}, from a host that routes paths as sent`, async () => {
      const { broker, received, asSent } = mounted(pattern);
      const post = (path: string, body: string) => asSent(`${prefix}${path}`, { method: 'POST', body });
      const cases: Array<[path: string, body: string]> = [
        ['/pub/x/../a', 'dot-dot'],
        ['/pub/x/%2e%2E/a', 'encoded dot-dot'],
        ['/pub/./a', 'dot'],
        ['/x/../pub/b/c', 'before the kind'],
        ['/pub/b/x/../c', 'inside the topic'],
        ['/pub/a/b/../../b/c', 'climbing twice'],
      ];
      for (const [path, body] of cases) {
        const response = await post(path, body);
        assert.equal(response.status, 200, `${prefix}${path}: ${await response.clone().text()}`);
      }
      assert.deepEqual(received, [
        ['a', 'dot-dot'],
        ['a', 'encoded dot-dot'],
        ['a', 'dot'],
        ['b/c', 'before the kind'],
        ['b/c', 'inside the topic'],
        ['b/c', 'climbing twice'],
      ]);
      // Other routes too, and the refusals of the resolved path.
      const stats = await asSent(`${prefix}/x/../stats`);
      assert.equal(stats.status, 200);
      assert.equal(((await stats.json()) as { messagesIn: number }).messagesIn, 6);
      assert.equal((await asSent(`${prefix}/pub/a/..`, { method: 'POST', body: 'x' })).status, 400);
      assert.equal((await asSent(`${prefix}/sub/x/../a`)).status, 426);
      // Resolved out of the mount: not the broker's, so the host's own 404.
      const outside = await asSent(`${prefix}/../../../pub/a`, { method: 'POST', body: 'x' });
      assert.equal(outside.status, 404);
      assert.equal(await outside.text(), '404 Not Found');
      assert.equal(received.length, 6);
      broker.close();
    });
  }

  it('standalone, served by the broker app itself', async () => {
    const broker = createBroker({ upgradeWebSocket, mode: 'production', log: () => {} });
    const received: MessageData[] = [];
    broker.addTopicSubscriber('a', (data) => received.push(data));
    for (const path of ['/pub/x/../a', '/x/%2E%2e/pub/a', '/pub/a/.']) {
      const response = await broker.app.fetch(new AsSentRequest(`http://localhost${path}`, { method: 'POST', body: path }));
      assert.equal(response.status, path.endsWith('/.') ? 400 : 200, path);
    }
    assert.deepEqual(received, ['/pub/x/../a', '/x/%2E%2e/pub/a']);
    broker.close();
  });
});

describe('the heap debug route', () => {
  it('mounted: GET <mount>/debug/heap answers the figures the runtime gives', async () => {
    const { host, broker } = mounted('/broker', { debugHeap: () => ({ gc: false, heapUsed: 1234 }) });
    const response = await host.request('/broker/debug/heap');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { gc: false, heapUsed: 1234 });
    broker.close();
  });

  it('is not there unless the runtime gives the figures', async () => {
    const { host, broker } = mounted('/broker');
    assert.equal((await host.request('/broker/debug/heap')).status, 404);
    broker.close();
    const standalone = createBroker({ upgradeWebSocket, log: () => {} });
    assert.equal((await standalone.app.request('/debug/heap')).status, 404);
    standalone.close();
  });
});
