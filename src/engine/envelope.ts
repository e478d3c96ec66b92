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

/** A topic's UTF-8 bytes, for callers that publish to the same topic again and again. */
export function topicBytes(topic: string): Uint8Array {
  return encoder.encode(topic);
}

/**
 * Builds the envelope for `message` published to `topic` (`encodedTopic`: its UTF-8 bytes) by
 * `node` as its `sequence`th message.
 */
export function encodeEnvelope(node: NodeId, sequence: number, encodedTopic: Uint8Array, message: BrokerMessage): Uint8Array {
  const topicBytes = encodedTopic;
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
  const topicLength = uint32(bytes, 13);
  const payloadStart = HEADER + topicLength;
  if (payloadStart > bytes.byteLength) return undefined;
  const topic = decoder.decode(bytes.subarray(HEADER, payloadStart));
  const payload = bytes.subarray(payloadStart);
  return {
    nodeHigh: uint32(bytes, 1),
    nodeLow: uint32(bytes, 5),
    sequence: uint32(bytes, 9),
    topic,
    // Text was valid UTF-8 when its node took it in: keep the bytes, decode only if asked.
    message: kind === KIND_TEXT ? BrokerMessage.fromUtf8(payload) : new BrokerMessage(payload),
  };
}

/** True when `bytes` is an envelope sent by `node` (its own echo from Redis), read from the header alone. */
export function sentBy(bytes: Uint8Array, node: NodeId): boolean {
  return bytes.byteLength >= HEADER && uint32(bytes, 5) === node.low && uint32(bytes, 1) === node.high;
}

/** Big-endian unsigned 32-bit read (no DataView per message on the receive path). */
export function uint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}
