/**
 * The client library's public types (`broker-hono/client`). Web standards only: this folder
 * imports nothing from the rest of the package, from Node or from Hono, so a browser can load
 * it as it is.
 */

/** A message's payload: text as a string, binary as bytes. */
export type Data = string | Uint8Array;

/** What the broker says about a message (its JSON envelope, README "Envelope"). */
export interface MessageMeta {
  /** Its id: opaque, ordered within a subscription; a subscription resumes after the last one. */
  readonly id: string;
  /** The topic it was published to (a subscriber of `wong` hears `wong/amy`'s with `wong/amy`). */
  readonly topic: string;
  /** When the broker took it, ms since 1970. */
  readonly time: number;
  /** Whether it was sent as binary (`data` is then a Uint8Array). */
  readonly binary: boolean;
}

export interface Message {
  readonly data: Data;
  readonly meta: MessageMeta;
}

export type MessageHandler = (data: Data, meta: MessageMeta) => void;

/**
 * Messages a resuming subscription lost: the broker's history did not cover the time it was
 * away. Told before anything that follows it. `missed` is how many when the broker knows.
 */
export interface Gap {
  readonly topic: string;
  /** The id the subscription resumed from. */
  readonly since: string;
  /** `trimmed` (history too small or too short), `epoch` (history restarted or lost), `off` (no history), `unavailable`. */
  readonly reason: string;
  readonly missed?: number;
  /** The id of the last message lost, when known. */
  readonly until?: string;
}

/** Where a connection stands, for `onStatus`. */
export type Status = 'connecting' | 'open' | 'closed';

/**
 * What the client needs of a WebSocket: the web-standard one (browsers, Deno, Bun, Node 22+) or
 * the `ws` package's on Node 20. Event parameters are loose so that either fits.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  // deno-lint-ignore no-explicit-any
  onopen: ((event: any) => void) | null;
  // deno-lint-ignore no-explicit-any
  onmessage: ((event: any) => void) | null;
  // deno-lint-ignore no-explicit-any
  onclose: ((event: any) => void) | null;
  // deno-lint-ignore no-explicit-any
  onerror: ((event: any) => void) | null;
  send(data: string | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ReconnectOptions {
  /** First pause before reconnecting, ms (default 250). */
  initialDelayMs?: number;
  /** Longest pause, ms (default 10,000). */
  maxDelayMs?: number;
}

export interface ClientOptions {
  /** The WebSocket class; default `globalThis.WebSocket` (pass `ws`'s on Node 20). */
  WebSocket?: WebSocketConstructor;
  /** `fetch` for publish and push; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * A token for the broker's auth, asked for again before every connection and request: sent as
   * the `access_token` query parameter on WebSockets and as `Authorization: Bearer` on POSTs.
   */
  getToken?: () => string | undefined | null | Promise<string | undefined | null>;
  /** Reconnecting: exponential backoff with jitter between these bounds. */
  reconnect?: ReconnectOptions;
}

export interface SubscribeOptions {
  /** Resume after this id (a message's `meta.id` from an earlier subscription to this topic). */
  since?: string;
  /** Called when the broker says messages were lost (see Gap). */
  onGap?: (gap: Gap) => void;
  /** Called as the connection opens and closes (it reconnects by itself until `close()`). */
  onStatus?: (status: Status) => void;
}

export interface BusOptions {
  /** Hear your own messages too. */
  echo?: boolean;
  onStatus?: (status: Status) => void;
}

export interface PullOptions {
  onStatus?: (status: Status) => void;
}
