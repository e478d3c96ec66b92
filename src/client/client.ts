/**
 * `createClient(baseUrl, options)`: the broker from a browser, Deno, Bun or Node, with
 * reconnecting and resuming built in.
 *
 * ```ts
 * import { createClient } from 'broker-hono/client';
 * const client = createClient('https://broker.example.com/broker');
 * const chat = client.subscribe('chat/lobby', (data, meta) => console.log(meta.topic, data), {
 *   onGap: (gap) => console.warn(`lost ${gap.missed ?? 'some'} messages`),
 * });
 * await client.publish('chat/lobby/amy', 'hello');
 * for await (const { data, meta } of client.pull('jobs')) handle(data, meta.id);
 * ```
 *
 * Subscriptions, bus peers and pullers are WebSockets with `?format=json` (each message with its
 * id and topic) that reconnect by themselves; a subscription resumes after the last id it got
 * (`?since=`), so while the broker's history covers the time it was away nothing is lost and
 * nothing comes twice, and when it does not, `onGap` says so first. Publishing and pushing are
 * POSTs, answered once the broker has taken the message.
 */
import { readFrame } from './envelope.ts';
import { MessageStream } from './message-stream.ts';
import { ReconnectingSocket } from './reconnecting-socket.ts';
import type { BusOptions, ClientOptions, Data, Gap, MessageHandler, PullOptions, SubscribeOptions, WebSocketConstructor } from './types.ts';

/** A subscription: its messages, `lastId`, `close()`. */
export type Subscription = MessageStream;

/** A bus peer: a subscription to the bus topic that can also send to it. */
export interface BusPeer extends MessageStream {
  /** Sends to every other peer (and to this one with `echo`); waits for a connection if there is none. */
  send(data: Data): void;
}

export interface Client {
  /** Everything published to `topic` or a descendant, resuming after `options.since` if given. */
  subscribe(topic: string, handler?: MessageHandler, options?: SubscribeOptions): Subscription;
  /** A peer of the bus `topic` (exactly that topic; no history). */
  bus(topic: string, handler?: MessageHandler, options?: BusOptions): BusPeer;
  /** A puller of `topic`: each pushed message goes to exactly one puller. */
  pull(topic: string, handler?: MessageHandler, options?: PullOptions): Subscription;
  /** Publishes to `topic`'s subscribers and its ancestors'; resolves once the broker took it. */
  publish(topic: string, data: Data): Promise<void>;
  /** Gives a message to one puller of `topic` (or queues it); rejects when the broker refused it. */
  push(topic: string, data: Data): Promise<void>;
  /** Closes every subscription, peer and puller of this client. */
  close(): void;
}

export function createClient(baseUrl: string, options: ClientOptions = {}): Client {
  return new BrokerClient(baseUrl, options);
}

class BrokerClient implements Client {
  readonly #http: string;
  readonly #ws: string;
  readonly #options: ClientOptions;
  readonly #WebSocket: WebSocketConstructor;
  readonly #open = new Set<MessageStream>();

  constructor(baseUrl: string, options: ClientOptions) {
    const url = new URL(baseUrl);
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    if (!secure && url.protocol !== 'http:' && url.protocol !== 'ws:') throw new TypeError(`createClient: ${baseUrl} is not an http(s) URL`);
    const rest = `//${url.host}${url.pathname.replace(/\/+$/, '')}`;
    this.#http = `${secure ? 'https:' : 'http:'}${rest}`;
    this.#ws = `${secure ? 'wss:' : 'ws:'}${rest}`;
    this.#options = options;
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocket) throw new TypeError('createClient: no global WebSocket here; pass options.WebSocket (on Node 20: the ws package)');
    this.#WebSocket = WebSocket;
  }

  subscribe(topic: string, handler?: MessageHandler, options: SubscribeOptions = {}): Subscription {
    const stream = new MessageStream(topic, handler);
    stream.lastId = options.since;
    const query = (): Record<string, string> => (stream.lastId === undefined ? {} : { since: stream.lastId });
    this.#connect(stream, 'sub', query, options.onStatus, {
      gap: (gap) => {
        // Cut off again before anything else arrives, resume after what is known lost.
        if (gap.until !== undefined) stream.lastId = gap.until;
        options.onGap?.(gap);
      },
      // Sent only to a connection opened without an id: cut before its first message, it resumes
      // from where it started instead of losing what was published meanwhile. Never over an id.
      position: (id) => void (stream.lastId ??= id),
    });
    return stream;
  }

  bus(topic: string, handler?: MessageHandler, options: BusOptions = {}): BusPeer {
    const stream = new MessageStream(topic, handler) as BusPeer;
    const query = (): Record<string, string> => (options.echo ? { echo: '1' } : {});
    const socket = this.#connect(stream, 'bus', query, options.onStatus);
    stream.send = (data) => socket.send(data);
    return stream;
  }

  pull(topic: string, handler?: MessageHandler, options: PullOptions = {}): Subscription {
    const stream = new MessageStream(topic, handler);
    this.#connect(stream, 'pull', () => ({}), options.onStatus);
    return stream;
  }

  publish(topic: string, data: Data): Promise<void> {
    return this.#post('pub', topic, data);
  }

  push(topic: string, data: Data): Promise<void> {
    return this.#post('push', topic, data);
  }

  close(): void {
    for (const stream of [...this.#open]) stream.close();
  }

  #connect(
    stream: MessageStream,
    kind: 'sub' | 'bus' | 'pull',
    query: () => Record<string, string>,
    onStatus: SubscribeOptions['onStatus'],
    resuming?: { gap(gap: Gap): void; position(id: string): void },
  ): ReconnectingSocket {
    const socket = new ReconnectingSocket(
      this.#WebSocket,
      {
        url: async () => {
          const params = new URLSearchParams({ format: 'json', ...query() });
          const token = await this.#options.getToken?.();
          if (token) params.set('access_token', token);
          return `${this.#ws}${path(kind, stream.topic)}?${params}`;
        },
        text: (text) => {
          const frame = readFrame(text);
          if (frame?.kind === 'message') stream.push(frame.message);
          else if (frame?.kind === 'gap') resuming?.gap(frame.gap);
          else if (frame?.kind === 'position') resuming?.position(frame.id);
        },
        status: onStatus,
      },
      this.#options.reconnect,
    );
    this.#open.add(stream);
    stream.whenClosed(() => {
      this.#open.delete(stream);
      socket.close();
    });
    return socket;
  }

  async #post(kind: 'pub' | 'push', topic: string, data: Data): Promise<void> {
    const headers: Record<string, string> = { 'content-type': typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream' };
    const token = await this.#options.getToken?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const fetcher = this.#options.fetch ?? fetch;
    const response = await fetcher(`${this.#http}${path(kind, topic)}`, { method: 'POST', body: data as BodyInit, headers });
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = await response.text();
    let reason = text;
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: the text as it is
    }
    throw new Error(`${kind} ${topic}: ${response.status} ${reason}`);
  }
}

/** `/kind/topic` with each segment percent-encoded (`café` and `50%` arrive as written). */
function path(kind: string, topic: string): string {
  return `/${kind}/${topic.split('/').map(encodeURIComponent).join('/')}`;
}
