/**
 * The Redis engine's pieces (src/engine/redis/) without a Redis: forward batching, what leaves a
 * node (envelopes, the in-flight bound), inbound routing and de-duplication, script running with
 * its NOSCRIPT fallback, and the transport whose client loads later. The engine as a whole runs
 * against real Redis servers in cluster.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerMessage } from '../src/message.ts';
import { decodeEnvelope, encodeEnvelope, randomNodeId, topicBytes, type NodeId } from '../src/engine/envelope.ts';
import { ForwardBatch, FORWARD_BATCH_BYTES } from '../src/engine/redis/forward-batch.ts';
import { Inbound } from '../src/engine/redis/inbound.ts';
import { Outbound } from '../src/engine/redis/outbound.ts';
import { ScriptRunner } from '../src/engine/redis/script-runner.ts';
import { SCRIPTS } from '../src/engine/redis/lua-scripts.ts';
import { deferredTransport } from '../src/engine/redis/deferred-transport.ts';
import { redisNames } from '../src/engine/redis/keys.ts';
import type { RedisTransport, RedisTransportEvents, RedisTransportFactory } from '../src/engine/redis/transport.ts';

const names = redisNames(0);
const encoder = new TextEncoder();
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A readable form of `publishBatch` arguments: [channels, payload text] per message. */
function readBatch(args: Array<string | Uint8Array>): Array<[string[], string]> {
  const messages: Array<[string[], string]> = [];
  for (let i = 0; i < args.length; ) {
    const count = Number(args[i]);
    const channels = args.slice(i + 1, i + 1 + count) as string[];
    const payload = args[i + 1 + count] as Uint8Array;
    messages.push([channels, new TextDecoder().decode(payload)]);
    i += count + 2;
  }
  return messages;
}

describe('ForwardBatch', () => {
  function batch(send: (args: Array<string | Uint8Array>) => Promise<unknown>) {
    const record = { sent: [] as Array<Array<string | Uint8Array>>, inFlight: 0, failed: 0 };
    const forwards = new ForwardBatch({
      send: (args) => {
        record.sent.push(args);
        return send(args);
      },
      sending: (bytes) => void (record.inFlight += bytes),
      settled: (bytes) => void (record.inFlight -= bytes),
      failed: (count) => void (record.failed += count),
    });
    return { forwards, record };
  }

  it('sends one command per turn with every forward of the turn, in order', async () => {
    const { forwards, record } = batch(() => Promise.resolve(1));
    forwards.add(['s:a/b', 's:a'], encoder.encode('one'));
    forwards.add(['b:room'], encoder.encode('two'));
    forwards.add(['s:a'], encoder.encode('three'));
    assert.equal(record.sent.length, 0, 'nothing goes out before the turn ends');
    assert.equal(record.inFlight, 11);
    await nextTurn();
    assert.equal(record.sent.length, 1);
    assert.deepEqual(readBatch(record.sent[0]!), [[['s:a/b', 's:a'], 'one'], [['b:room'], 'two'], [['s:a'], 'three']]);
    assert.equal(record.inFlight, 0, 'answered: no longer in flight');
    forwards.add(['s:x'], encoder.encode('later'));
    await nextTurn();
    assert.equal(record.sent.length, 2);
    assert.deepEqual(readBatch(record.sent[1]!), [[['s:x'], 'later']]);
    assert.equal(record.failed, 0);
  });

  it('sends at once when a batch reaches FORWARD_BATCH_BYTES', async () => {
    const { forwards, record } = batch(() => Promise.resolve(1));
    const half = new Uint8Array(FORWARD_BATCH_BYTES / 2);
    forwards.add(['s:big'], half);
    assert.equal(record.sent.length, 0);
    forwards.add(['s:big'], half);
    assert.equal(record.sent.length, 1, 'the second half filled the batch');
    forwards.add(['s:small'], encoder.encode('after'));
    await nextTurn();
    assert.equal(record.sent.length, 2);
    assert.deepEqual(readBatch(record.sent[1]!), [[['s:small'], 'after']]);
  });

  it('a failed batch counts each of its messages as a forward failure and frees its bytes', async () => {
    const { forwards, record } = batch(() => Promise.reject(new Error('connection lost')));
    forwards.add(['s:a'], encoder.encode('x'));
    forwards.add(['s:a'], encoder.encode('y'));
    await nextTurn();
    assert.equal(record.failed, 2);
    assert.equal(record.inFlight, 0);
  });
});

describe('Outbound', () => {
  function outbound(canSend = () => true) {
    const record = { failed: 0 };
    const node = randomNodeId();
    const out = new Outbound({
      node,
      names,
      ancestorsOf: (topic) => (topic === 'a/b' ? ['a/b', 'a'] : [topic]),
      canSend,
      failed: (count) => void (record.failed += count),
    });
    return { out, node, record };
  }

  it('packs a message in an envelope naming the node, a rising sequence and the topic', () => {
    const { out, node } = outbound();
    const first = decodeEnvelope(out.pack('a/b', new BrokerMessage('hello'))!)!;
    const second = decodeEnvelope(out.pack('a/b', new BrokerMessage(new Uint8Array([1, 2])))!)!;
    assert.deepEqual([first.nodeHigh, first.nodeLow, first.topic, first.message.data], [node.high, node.low, 'a/b', 'hello']);
    assert.equal(second.sequence, first.sequence + 1);
    assert.deepEqual(second.message.data, new Uint8Array([1, 2]));
    assert.deepEqual(out.subChannels('a/b'), [names.subChannel('a/b'), names.subChannel('a')]);
  });

  it('while Redis cannot take it, or past the in-flight bound, a message is not packed but counted', () => {
    let up = false;
    const { out, record } = outbound(() => up);
    assert.equal(out.pack('t', new BrokerMessage('x')), undefined);
    assert.equal(record.failed, 1);
    up = true;
    out.sending(64 * 1024 * 1024 + 1);
    assert.equal(out.pack('t', new BrokerMessage('x')), undefined);
    assert.equal(record.failed, 2);
    out.settled(64 * 1024 * 1024 + 1);
    assert.ok(out.pack('t', new BrokerMessage('x')));
    assert.equal(record.failed, 2);
  });
});

describe('Inbound', () => {
  function inbound() {
    const node = randomNodeId();
    const got: string[] = [];
    const receiver = new Inbound({
      node,
      prefix: names.prefix,
      events: {
        deliverPublish: (topic, message) => (got.push(`publish ${topic} ${String(message.data)}`), 1),
        deliverBus: (topic, message) => (got.push(`bus ${topic} ${String(message.data)}`), 1),
        deliverStamped: (stream, message, same) =>
          (got.push(`stamped ${stream} ${message.id} ${message.time} ${message.topic} ${String(message.message.data)}${same ? ' (same publish)' : ''}`), 1),
      },
      routedPush: (payload) => void got.push(`routed ${new TextDecoder().decode(payload)}`),
    });
    return { receive: receiver.receive, node, got };
  }
  const envelope = (node: NodeId, sequence: number, topic: string, text: string) => encodeEnvelope(node, sequence, topicBytes(topic), new BrokerMessage(text));
  const channel = (name: string) => encoder.encode(name);

  it('a publish that arrives on two ancestor channels in a row is delivered once', () => {
    const { receive, got } = inbound();
    const other = randomNodeId();
    const copy = envelope(other, 7, 'a/b', 'm7');
    receive(copy, channel(names.subChannel('a/b')));
    receive(copy, channel(names.subChannel('a')));
    receive(envelope(other, 8, 'a/b', 'm8'), channel(names.subChannel('a')));
    // The same sequence number from another node is another message.
    receive(envelope(randomNodeId(), 8, 'a/b', 'from a third node'), channel(names.subChannel('a')));
    assert.deepEqual(got, ['publish a/b m7', 'publish a/b m8', 'publish a/b from a third node']);
  });

  it('a relayed publish (history) goes to the stream of its channel, stamped, its own node included', () => {
    const { receive, node, got } = inbound();
    const copy = envelope(node, 3, 'a/b', 'hello');
    const relayed = (epoch: string, offset: number) => new Uint8Array([...encoder.encode(`S${epoch} ${offset} 1700000000123\n`), ...copy]);
    receive(relayed('e1', 5), channel(names.subChannel('a/b')));
    receive(relayed('e2', 9), channel(names.subChannel('a')));
    receive(envelope(randomNodeId(), 3, 'a/b', 'next'), channel(names.subChannel('a')));
    receive(encoder.encode('Sbroken'), channel(names.subChannel('a')));
    assert.deepEqual(got, [
      'stamped a/b e1-5 1700000000123 a/b hello',
      'stamped a e2-9 1700000000123 a/b hello (same publish)',
      'publish a/b next',
    ]);
  });

  it("drops the node's own echo, routes bus messages and this node's pushes, ignores garbage", () => {
    const { receive, node, got } = inbound();
    receive(envelope(node, 1, 't', 'mine'), channel(names.subChannel('t')));
    receive(envelope(node, 2, 'room', 'mine too'), channel(names.busChannel('room')));
    const other = randomNodeId();
    receive(envelope(other, 1, 'room', 'hi'), channel(names.busChannel('room')));
    receive(envelope(other, 1, 'room', 'hi again'), channel(names.busChannel('room')));
    receive(encoder.encode('ab/1\npayload'), channel(names.nodeChannel(node.hex)));
    receive(encoder.encode('not an envelope'), channel(names.subChannel('t')));
    assert.deepEqual(got, ['bus room hi', 'bus room hi again', 'routed ab/1\npayload']);
  });
});

/** A transport that answers commands with `answer` and records them. */
function fakeTransport(answer: (args: ReadonlyArray<string | Uint8Array>) => Promise<unknown>) {
  const commands: string[][] = [];
  const transport: RedisTransport = {
    command: (args) => {
      commands.push(args.map((a) => (typeof a === 'string' ? a : `<${a.byteLength} bytes>`)));
      return answer(args);
    },
    subscribe: () => Promise.resolve(),
    unsubscribe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { transport, commands };
}

describe('ScriptRunner', () => {
  it('runs the source until the scripts are loaded, then by SHA, and the source again on NOSCRIPT', async () => {
    let flushed = false;
    const { transport, commands } = fakeTransport((args) => {
      if (args[0] === 'SCRIPT') return Promise.resolve(`sha-${commands.length}`);
      if (args[0] === 'EVALSHA' && flushed) return Promise.reject(new Error('NOSCRIPT No matching script.'));
      return Promise.resolve('ok');
    });
    const scripts = new ScriptRunner(transport);
    assert.equal(await scripts.run('heartbeat', ['alive'], ['5000']), 'ok');
    assert.deepEqual(commands.pop(), ['EVAL', SCRIPTS.heartbeat, '1', 'alive', '5000']);
    await scripts.load();
    assert.equal(commands.length, Object.keys(SCRIPTS).length);
    const heartbeatSha = `sha-${Object.keys(SCRIPTS).indexOf('heartbeat') + 1}`;
    await scripts.run('heartbeat', ['alive'], ['5000']);
    assert.deepEqual(commands.pop(), ['EVALSHA', heartbeatSha, '1', 'alive', '5000']);
    flushed = true;
    assert.equal(await scripts.run('heartbeat', ['alive'], ['5000']), 'ok');
    assert.deepEqual(commands.slice(-2), [
      ['EVALSHA', heartbeatSha, '1', 'alive', '5000'],
      ['EVAL', SCRIPTS.heartbeat, '1', 'alive', '5000'],
    ]);
  });

  it('other errors are not retried', async () => {
    const { transport, commands } = fakeTransport((args) => (args[0] === 'SCRIPT' ? Promise.resolve('sha') : Promise.reject(new Error('READONLY'))));
    const scripts = new ScriptRunner(transport);
    await scripts.load();
    const before = commands.length;
    await assert.rejects(scripts.run('leave', ['p', 'c'], ['id']), /READONLY/);
    assert.equal(commands.length, before + 1);
  });
});

describe('deferredTransport', () => {
  const events: RedisTransportEvents = { message() {}, ready() {}, down() {}, error() {} };
  const init = { url: 'redis://127.0.0.1:6379/0', name: 'test', events };

  it('fails commands at once until the client is loaded, then hands them to it', async () => {
    const { transport, commands } = fakeTransport(() => Promise.resolve('PONG'));
    let closed = 0;
    let load!: (factory: RedisTransportFactory) => void;
    const deferred = deferredTransport(
      () => new Promise<RedisTransportFactory>((resolve) => (load = resolve)),
      init,
      () => assert.fail('loads'),
    );
    await assert.rejects(deferred.command(['PING']), /not loaded/);
    await assert.rejects(deferred.subscribe(['c']), /not loaded/);
    let createdWith: unknown;
    load((transportInit) => {
      createdWith = transportInit;
      return { ...transport, close: async () => void closed++ };
    });
    await nextTurn();
    assert.equal(createdWith, init);
    assert.equal(await deferred.command(['PING']), 'PONG');
    assert.deepEqual(commands, [['PING']]);
    await deferred.close();
    assert.equal(closed, 1);
  });

  it('reports a client that cannot be loaded, and still closes', async () => {
    const failures: string[] = [];
    const deferred = deferredTransport(() => Promise.reject(new Error('no such module')), init, (message) => void failures.push(message));
    await deferred.close();
    assert.deepEqual(failures, ['cannot load the Redis client: no such module']);
    await assert.rejects(deferred.command(['PING']), /not loaded/);
  });
});
