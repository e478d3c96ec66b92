/**
 * The cluster envelope (src/engine/envelope.ts): what one node sends another through Redis must
 * come back byte for byte, text as text and binary as binary, with its sender and sequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEnvelope, encodeEnvelope, randomNodeId, sentBy, topicBytes } from '../src/engine/envelope.ts';
import { BrokerMessage } from '../src/message.ts';

test('text and binary messages round-trip with topic, sender and sequence', () => {
  const node = randomNodeId();
  const text = decodeEnvelope(encodeEnvelope(node, 7, topicBytes('wong/amy'), new BrokerMessage('héllo ✓')))!;
  assert.equal(text.topic, 'wong/amy');
  assert.equal(text.sequence, 7);
  assert.equal(text.message.binary, false);
  assert.equal(text.message.data, 'héllo ✓');
  assert.deepEqual([text.nodeHigh, text.nodeLow], [node.high, node.low]);

  const bytes = new Uint8Array([0, 255, 10, 84, 66]);
  const binary = decodeEnvelope(encodeEnvelope(node, 2 ** 32 - 1, topicBytes('caf\u00e9/x'), new BrokerMessage(bytes)))!;
  assert.equal(binary.topic, 'café/x');
  assert.equal(binary.sequence, 2 ** 32 - 1);
  assert.equal(binary.message.binary, true);
  assert.deepEqual([...(binary.message.data as Uint8Array)], [...bytes]);
});

test('any topic and payload survive, and only the sender recognises its own envelope', () => {
  const sender = randomNodeId();
  const other = randomNodeId();
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.oneof(fc.string(), fc.uint8Array()), fc.nat(), (topic, data, sequence) => {
      const encoded = encodeEnvelope(sender, sequence, topicBytes(topic), new BrokerMessage(data));
      const decoded = decodeEnvelope(encoded)!;
      assert.equal(decoded.topic, topic);
      assert.equal(decoded.sequence, sequence >>> 0);
      assert.equal(decoded.message.binary, typeof data !== 'string');
      if (typeof data === 'string') assert.equal(decoded.message.data, data);
      else assert.deepEqual([...(decoded.message.data as Uint8Array)], [...data]);
      assert.equal(sentBy(encoded, sender), true);
      assert.equal(sentBy(encoded, other), other.high === sender.high && other.low === sender.low);
    }),
  );
});

test('bytes that are not an envelope decode to undefined, never throw', () => {
  assert.equal(decodeEnvelope(new Uint8Array(0)), undefined);
  assert.equal(decodeEnvelope(new TextEncoder().encode('not an envelope at all')), undefined);
  const truncated = encodeEnvelope(randomNodeId(), 1, topicBytes('a/long/topic'), new BrokerMessage('x')).subarray(0, 20);
  assert.equal(decodeEnvelope(truncated), undefined);
  assert.equal(sentBy(new Uint8Array(3), randomNodeId()), false);
});
