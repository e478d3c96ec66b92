/**
 * The bytes one broker node sends another through Redis: who sent it (so a node can drop its
 * own echo), a per-node sequence number (so a message that arrives on several ancestor channels
 * is delivered once), the topic it was published to, whether it is text or binary, and the
 * payload byte for byte. A fixed binary header keeps decoding to a few reads, no JSON.
 *
 * ```
 * 0      1            9        13          17            17+T
 * │kind  │node id (8) │seq u32 │topic len T│topic (UTF-8)│payload…
 * ```
 * Pure and runtime-neutral: Uint8Array, DataView, TextEncoder/TextDecoder only.
 */
import { BrokerMessage } from '../message.ts';

const KIND_TEXT = 0x54; // 'T'
const KIND_BINARY = 0x42; // 'B'
const HEADER = 17;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** A node's identity: 8 random bytes, held as two 32-bit halves so comparing is cheap. */
export interface NodeId {
  readonly high: number;
  readonly low: number;
  /** 16 hex characters, for key names and logs. */
  readonly hex: string;
}

export function randomNodeId(): NodeId {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const view = new DataView(bytes.buffer);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return { high: view.getUint32(0), low: view.getUint32(4), hex };
}

/** Builds the envelope for `message` published to `topic` by `node` as its `sequence`th message. */
export function encodeEnvelope(node: NodeId, sequence: number, topic: string, message: BrokerMessage): Uint8Array {
  const topicBytes = encoder.encode(topic);
  const payload = message.bytes;
  const out = new Uint8Array(HEADER + topicBytes.byteLength + payload.byteLength);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = message.binary ? KIND_BINARY : KIND_TEXT;
  view.setUint32(1, node.high);
  view.setUint32(5, node.low);
  view.setUint32(9, sequence >>> 0);
  view.setUint32(13, topicBytes.byteLength);
  out.set(topicBytes, HEADER);
  out.set(payload, HEADER + topicBytes.byteLength);
  return out;
}

export interface Envelope {
  nodeHigh: number;
  nodeLow: number;
  sequence: number;
  topic: string;
  message: BrokerMessage;
}

/** Reads an envelope; returns undefined for bytes that are not one (never throws). */
export function decodeEnvelope(bytes: Uint8Array): Envelope | undefined {
  if (bytes.byteLength < HEADER) return undefined;
  const kind = bytes[0];
  if (kind !== KIND_TEXT && kind !== KIND_BINARY) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const topicLength = view.getUint32(13);
  const payloadStart = HEADER + topicLength;
  if (payloadStart > bytes.byteLength) return undefined;
  const topic = decoder.decode(bytes.subarray(HEADER, payloadStart));
  const payload = bytes.subarray(payloadStart);
  return {
    nodeHigh: view.getUint32(1),
    nodeLow: view.getUint32(5),
    sequence: view.getUint32(9),
    topic,
    // Text was valid UTF-8 when its node took it in: keep the bytes, decode only if asked.
    message: kind === KIND_TEXT ? BrokerMessage.fromUtf8(payload) : new BrokerMessage(payload),
  };
}

/** True when the envelope was sent by `node` (its own echo from Redis). */
export function isFrom(envelope: Envelope, node: NodeId): boolean {
  return envelope.nodeHigh === node.high && envelope.nodeLow === node.low;
}

/** Sender and sequence only, read without decoding the rest (drops echoes and repeats cheaply). */
export function peekOrigin(bytes: Uint8Array): { nodeHigh: number; nodeLow: number; sequence: number } | undefined {
  if (bytes.byteLength < HEADER) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  return { nodeHigh: view.getUint32(1), nodeLow: view.getUint32(5), sequence: view.getUint32(9) };
}
