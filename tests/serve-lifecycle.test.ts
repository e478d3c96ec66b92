/**
 * The serve lifecycle (src/serve/) with a fake runtime, no sockets: listen errors as one line,
 * the `*` fallback, undoing bound addresses when a later one fails, the order of the runtime's
 * hooks, and shutdown's order and deadline. The CLI tests check the same on real servers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bindAddress, type BindRuntime } from '../src/serve/bind-address.ts';
import { ListenError } from '../src/serve/listen-error.ts';
import { serveOnRuntime } from '../src/serve/serve-on-runtime.ts';
import type { BoundServer, ServeRuntime } from '../src/serve/serve-runtime.ts';
import { shutdown, type ClosingBroker } from '../src/serve/shutdown.ts';
import { upgradeWebSocket } from '../src/adapters/node/upgrade.ts';

const coded = (code: string) => Object.assign(new Error(`raw ${code} message`), { code });

/** A runtime whose `listen` answers from `outcomes` (keyed `host:port`), recording each call. */
function fakeRuntime(outcomes: Record<string, unknown> = {}, foreign?: unknown) {
  const calls: string[] = [];
  const runtime: BindRuntime = {
    listen(host, port) {
      calls.push(`${host}:${port}`);
      const outcome = outcomes[`${host}:${port}`];
      if (outcome !== undefined) throw outcome;
      return { port: port === 0 ? 40123 : port, close() {} };
    },
    isForeignError: (error) => error === foreign,
  };
  return { runtime, calls };
}

describe('listen errors: one line per address, from the runtime error code', () => {
  const cases: Array<[error: unknown, reason: string]> = [
    [coded('EADDRINUSE'), 'address already in use'],
    [coded('EACCES'), 'permission denied'],
    [coded('EADDRNOTAVAIL'), 'address not available on this machine'],
    [coded('ENOTFOUND'), 'address not available on this machine'],
    [new Error('failed to lookup address information'), 'failed to lookup address information'],
    ['a thrown string', 'a thrown string'],
  ];
  for (const [error, reason] of cases) {
    it(`${String((error as { code?: string }).code ?? error)} → "${reason}"`, async () => {
      const { runtime } = fakeRuntime({ '127.0.0.1:80': error });
      const thrown = await bindAddress(runtime, 'http://127.0.0.1:80').catch((e: unknown) => e);
      assert.ok(thrown instanceof ListenError);
      assert.equal(thrown.message, `cannot listen at http://127.0.0.1:80: ${reason}`);
    });
  }

  it('an error the runtime calls foreign (Deno: a missing permission) passes through as it is', async () => {
    const denied = new Error('Requires net access');
    const { runtime, calls } = fakeRuntime({ '::1:3000': denied, '::1:0': denied }, denied);
    await assert.rejects(bindAddress(runtime, 'http://[::1]:3000'), (error) => error === denied);
    assert.deepEqual(calls, ['::1:3000']);
  });
});

describe('`*` is every interface: IPv6 and IPv4, IPv4 alone where there is no IPv6', () => {
  it('binds :: and prints *', async () => {
    const { runtime, calls } = fakeRuntime();
    const { url } = await bindAddress(runtime, 'http://*:0');
    assert.deepEqual(calls, [':::0']);
    assert.equal(url, 'http://*:40123');
  });

  it('falls back to 0.0.0.0 when :: cannot be bound', async () => {
    const { runtime, calls } = fakeRuntime({ ':::3000': coded('EAFNOSUPPORT') });
    const { url } = await bindAddress(runtime, 'http://*:3000');
    assert.deepEqual(calls, [':::3000', '0.0.0.0:3000']);
    assert.equal(url, 'http://*:3000');
  });

  it('a port in use on :: is in use: no second try', async () => {
    const { runtime, calls } = fakeRuntime({ ':::3000': coded('EADDRINUSE') });
    await assert.rejects(bindAddress(runtime, 'http://*:3000'), { name: 'ListenError', message: 'cannot listen at http://*:3000: address already in use' });
    assert.deepEqual(calls, [':::3000']);
  });

  it('a foreign error on :: is not retried either', async () => {
    const denied = new Error('Requires net access');
    const { runtime, calls } = fakeRuntime({ ':::3000': denied }, denied);
    await assert.rejects(bindAddress(runtime, 'http://*:3000'), (error) => error === denied);
    assert.deepEqual(calls, [':::3000']);
  });

  it('when both fail, the line names `*` and the IPv4 reason', async () => {
    const { runtime } = fakeRuntime({ ':::80': coded('EAFNOSUPPORT'), '0.0.0.0:80': coded('EACCES') });
    await assert.rejects(bindAddress(runtime, 'http://*:80'), { name: 'ListenError', message: 'cannot listen at http://*:80: permission denied' });
  });

  it('an IPv6 host is bound without brackets and printed with them', async () => {
    const { runtime, calls } = fakeRuntime();
    const { url } = await bindAddress(runtime, 'http://[::1]:0');
    assert.deepEqual(calls, ['::1:0']);
    assert.equal(url, 'http://[::1]:40123');
  });
});

/** A bound server that records its shutdown calls into `log` as `<name>.<hook>`. */
function recordingServer(name: string, log: string[], port = 1, close: () => void | Promise<void> = () => {}): BoundServer {
  return {
    port,
    stopAccepting: () => void log.push(`${name}.stopAccepting`),
    drain: () => void log.push(`${name}.drain`),
    close: () => {
      log.push(`${name}.close`);
      return close();
    },
  };
}

describe('serveOnRuntime: the runtime hooks, in order', () => {
  it('runtime, broker, listen per address, listening; the runtime gets the broker log and its pieces reach createBroker', async () => {
    const steps: string[] = [];
    const logged: string[] = [];
    const running = await serveOnRuntime({ listen: ['http://127.0.0.1:0', 'http://[::1]:7000'], log: (line) => logged.push(line) }, (options, log) => {
      steps.push(`runtime for ${options.listen.length} addresses`);
      log('from the runtime');
      return {
        upgradeWebSocket,
        debugHeap: () => ({ gc: false }),
        brokerCreated: () => void steps.push('brokerCreated'),
        listen(broker, host, port) {
          assert.equal(typeof broker.app.fetch, 'function');
          steps.push(`listen ${host} ${port}`);
          return recordingServer(host, steps, port || 45000);
        },
        listening: () => void steps.push('listening'),
      } satisfies ServeRuntime;
    });
    assert.deepEqual(steps, ['runtime for 2 addresses', 'brokerCreated', 'listen 127.0.0.1 0', 'listen ::1 7000', 'listening']);
    assert.deepEqual(logged, ['from the runtime']);
    assert.deepEqual(running.urls, ['http://127.0.0.1:45000', 'http://[::1]:7000']);
    assert.equal((await running.broker.app.request('/debug/heap')).status, 200);
    await running.close(100);
    assert.deepEqual(steps.slice(5), ['127.0.0.1.stopAccepting', '::1.stopAccepting', '127.0.0.1.drain', '::1.drain', '127.0.0.1.close', '::1.close']);
  });

  it('when the second address fails, the first is unbound, the broker closed, and nothing said listening', async () => {
    const steps: string[] = [];
    let closed = false;
    const attempt = serveOnRuntime({ listen: ['http://127.0.0.1:7001', 'http://127.0.0.1:7002'], log: () => {} }, () => ({
      upgradeWebSocket,
      brokerCreated(broker) {
        const close = broker.close;
        (broker as { close(): void }).close = () => {
          closed = true;
          close();
        };
      },
      listen(_broker, host, port) {
        if (port === 7002) throw coded('EADDRINUSE');
        return recordingServer(`${host}:${port}`, steps, port);
      },
      listening: () => void steps.push('listening'),
    }));
    await assert.rejects(attempt, { name: 'ListenError', message: 'cannot listen at http://127.0.0.1:7002: address already in use' });
    assert.deepEqual(steps, ['127.0.0.1:7001.stopAccepting', '127.0.0.1:7001.close']);
    assert.ok(closed, 'the broker was closed');
  });
});

/** A broker for `shutdown` whose sessions go when `sessionsLeft` says, recording into `log`. */
function closingBroker(log: string[], sessionsLeft: () => number): ClosingBroker {
  return {
    close: () => void log.push('broker.close'),
    context: {
      sessions: {
        get size() {
          return sessionsLeft();
        },
        terminateAll: () => void log.push('terminateAll'),
      },
    },
    engine: { close: async () => void log.push('engine.close') },
  };
}

describe('shutdown: the order, and the deadline', () => {
  it('stop accepting, 1001 to every socket, drain, wait for the sessions, cut the rest, stop the servers, leave the cluster', async () => {
    const log: string[] = [];
    let left = 2;
    const broker = closingBroker(log, () => left);
    setTimeout(() => (left = 0), 60);
    const started = Date.now();
    await shutdown(broker, [recordingServer('a', log), recordingServer('b', log)], 2000);
    const took = Date.now() - started;
    assert.deepEqual(log, ['a.stopAccepting', 'b.stopAccepting', 'broker.close', 'a.drain', 'b.drain', 'terminateAll', 'a.close', 'b.close', 'engine.close']);
    assert.ok(took >= 50 && took < 1000, `waited for the sessions only: ${took} ms`);
  });

  it('sessions that never close are cut at the deadline', async () => {
    const log: string[] = [];
    const started = Date.now();
    await shutdown(closingBroker(log, () => 1), [recordingServer('a', log)], 200);
    const took = Date.now() - started;
    assert.ok(took >= 195 && took < 700, `returned at the deadline: ${took} ms`);
    assert.deepEqual(log.slice(-3), ['terminateAll', 'a.close', 'engine.close']);
  });

  it('a server that never finishes stopping does not hold shutdown past the deadline', async () => {
    const log: string[] = [];
    const started = Date.now();
    await shutdown(closingBroker(log, () => 0), [recordingServer('stuck', log, 1, () => new Promise(() => {}))], 200);
    const took = Date.now() - started;
    assert.ok(took >= 195 && took < 700, `returned at the deadline: ${took} ms`);
    assert.equal(log.at(-1), 'engine.close');
  });
});
