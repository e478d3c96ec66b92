/**
 * What leaves this node for Redis: each message in its envelope (node id, sequence number,
 * topic), and a bound on the bytes handed to Redis and not yet answered. Past the bound, or while
 * Redis cannot take anything, a message is not sent but counted (`forwardFailures`): local
 * delivery never waits for Redis and memory never grows without bound.
 */
import type { BrokerMessage } from '../../message.ts';
import { encodeEnvelope, topicBytes, type NodeId } from '../envelope.ts';
import type { RedisNames } from './keys.ts';

/** Bytes handed to Redis and not yet acknowledged; past it forwards are dropped and counted. */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Published topics whose bytes and channels are kept (publishers repeat topics). */
const TOPIC_CACHE_ENTRIES = 10_000;

export interface OutboundInit {
  node: NodeId;
  names: RedisNames;
  ancestorsOf(topic: string): readonly string[];
  /** Whether Redis can take messages now. */
  canSend(): boolean;
  /** Counts messages not sent. */
  failed(count: number): void;
}

interface TopicInfo {
  readonly bytes: Uint8Array;
  /** The `sub:` channels of the topic and each ancestor: a publish goes to all of them. */
  readonly subChannels: readonly string[];
}

export class Outbound {
  readonly #init: OutboundInit;
  readonly #topics = new Map<string, TopicInfo>();
  #sequence = 0;
  #inFlightBytes = 0;

  constructor(init: OutboundInit) {
    this.#init = init;
  }

  /** Whether `pack` would take a message now. */
  ready(): boolean {
    return this.#init.canSend() && this.#inFlightBytes <= MAX_IN_FLIGHT_BYTES;
  }

  /** The envelope, or undefined (counted as a failure) when Redis cannot take it now. */
  pack(topic: string, message: BrokerMessage): Uint8Array | undefined {
    if (!this.ready()) {
      this.#init.failed(1);
      return undefined;
    }
    this.#sequence = (this.#sequence + 1) >>> 0;
    return encodeEnvelope(this.#init.node, this.#sequence, this.#topic(topic).bytes, message);
  }

  subChannels(topic: string): readonly string[] {
    return this.#topic(topic).subChannels;
  }

  /** `bytes` were handed to Redis; `settled` once it has answered (or failed). */
  sending(bytes: number): void {
    this.#inFlightBytes += bytes;
  }

  settled(bytes: number): void {
    this.#inFlightBytes -= bytes;
  }

  #topic(topic: string): TopicInfo {
    let info = this.#topics.get(topic);
    if (!info) {
      info = { bytes: topicBytes(topic), subChannels: this.#init.ancestorsOf(topic).map((name) => this.#init.names.subChannel(name)) };
      if (this.#topics.size >= TOPIC_CACHE_ENTRIES) this.#topics.clear();
      this.#topics.set(topic, info);
    }
    return info;
  }
}
