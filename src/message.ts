/**
 * One message on its way through the broker. Built once per publish and handed to every
 * receiver, so a transport can prepare its bytes once (a ready WebSocket frame, an SSE event)
 * and reuse them for every socket instead of redoing the work per receiver.
 */
const encoder = new TextEncoder();

export type MessageData = string | Uint8Array;

export class BrokerMessage {
  /** Transport caches keyed by transport (e.g. the Node adapter's pre-built frame). */
  #prepared: Map<unknown, unknown> | undefined;
  #bytes: Uint8Array | undefined;

  constructor(readonly data: MessageData) {}

  /** True for binary messages, false for text. */
  get binary(): boolean {
    return typeof this.data !== 'string';
  }

  /** The message's bytes (UTF-8 for text), encoded at most once. */
  get bytes(): Uint8Array {
    if (typeof this.data !== 'string') return this.data;
    return (this.#bytes ??= encoder.encode(this.data));
  }

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  /**
   * Returns what `prepare` makes of this message for one kind of transport, computing it on the
   * first call only. `key` should be a module-level constant of the transport.
   */
  prepared<T>(key: object, prepare: (message: BrokerMessage) => T): T {
    const cache = (this.#prepared ??= new Map());
    if (cache.has(key)) return cache.get(key) as T;
    const value = prepare(this);
    cache.set(key, value);
    return value;
  }
}
