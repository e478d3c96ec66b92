/**
 * What a transport makes of a message once for all its receivers: a ready WebSocket frame, an SSE
 * event, a JSON envelope. `BrokerMessage` and `StampedMessage` both extend this, so the one
 * lookup below runs for every frame to every subscriber: keep it free of allocations and closures.
 */
export abstract class Preparable {
  // The first transport's prepared value sits in two fields: looking it up for every receiver
  // must cost a comparison, not a Map probe. Further transports go to the map. Plain
  // (TypeScript-private) fields rather than `#` ones: on JavaScriptCore (Bun) `#` fields cost
  // more to set up, and one object is made per message. They are set here, before any field of a
  // subclass, so they sit at the same offsets in both kinds of message.
  private _firstKey: object | undefined = undefined;
  private _firstValue: unknown = undefined;
  private _prepared: Map<object, unknown> | undefined = undefined;

  /**
   * Returns what `prepare` makes of this message for one kind of transport, computing it on the
   * first call only. `key` should be a module-level constant of the transport, and `prepare` a
   * module-level function (not a closure made per call: this runs once per receiver).
   */
  prepared<T>(key: object, prepare: (message: this) => T): T {
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
