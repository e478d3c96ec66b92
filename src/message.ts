/**
 * One message on its way through the broker. Built once per publish and handed to every
 * receiver, so a transport can prepare its bytes once (a ready WebSocket frame, an SSE event)
 * and reuse them for every socket instead of redoing the work per receiver.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type MessageData = string | Uint8Array;

export class BrokerMessage {
  /** True for binary messages, false for text. */
  readonly binary: boolean;
  // Plain (TypeScript-private) fields rather than `#` ones: one of these is made per message, and
  // on JavaScriptCore (Bun) `#` fields cost more to set up.
  private _data: MessageData | undefined;
  private _bytes: Uint8Array | undefined = undefined;
  // The first transport's prepared value sits in two fields: looking it up for every receiver
  // must cost a comparison, not a Map probe. Further transports go to the map.
  private _firstKey: object | undefined = undefined;
  private _firstValue: unknown = undefined;
  private _prepared: Map<object, unknown> | undefined = undefined;

  constructor(data: MessageData) {
    this._data = data;
    this.binary = typeof data !== 'string';
  }

  /**
   * A text message from bytes already known to be valid UTF-8 (a WebSocket text frame its
   * runtime has validated). The string is decoded only if a receiver asks for `data`, so a text
   * frame that only goes out as WebSocket frames is never decoded and re-encoded.
   */
  static fromUtf8(bytes: Uint8Array): BrokerMessage {
    const message = new BrokerMessage('');
    message._data = undefined;
    message._bytes = bytes;
    return message;
  }

  /** The message as text (a string) or binary (bytes). */
  get data(): MessageData {
    return (this._data ??= decoder.decode(this._bytes));
  }

  /** The message's bytes (UTF-8 for text), encoded at most once. */
  get bytes(): Uint8Array {
    return (this._bytes ??= typeof this._data === 'string' ? encoder.encode(this._data) : this._data!);
  }

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  /**
   * The message's size in bytes (UTF-8 for text) without encoding or decoding it: for byte
   * budgets, which measure messages that may wait a long time, and must not make one text
   * message hold both its string and its bytes.
   */
  get size(): number {
    if (this._bytes) return this._bytes.byteLength;
    const data = this._data!;
    return typeof data === 'string' ? utf8Length(data) : data.byteLength;
  }

  /**
   * Returns what `prepare` makes of this message for one kind of transport, computing it on the
   * first call only. `key` should be a module-level constant of the transport, and `prepare` a
   * module-level function (not a closure made per call: this runs once per receiver).
   */
  prepared<T>(key: object, prepare: (message: BrokerMessage) => T): T {
    if (this._firstKey === key) return this._firstValue as T;
    if (this._firstKey === undefined) {
      const value = prepare(this);
      this._firstKey = key;
      this._firstValue = value;
      return value;
    }
    const cache = (this._prepared ??= new Map());
    if (cache.has(key)) return cache.get(key) as T;
    const value = prepare(this);
    cache.set(key, value);
    return value;
  }
}

/** UTF-8 length of a string, counted without encoding it (a lone surrogate counts as U+FFFD: 3). */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
