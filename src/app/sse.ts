/**
 * Server-Sent Events subscriptions (PROTOCOL.md "Server-Sent Events"): `GET /sub/<topic>` with
 * `Accept: text/event-stream` becomes a subscriber exactly like a WebSocket on `/sub/<topic>`:
 * same hierarchy, same limits, same slow-consumer rule, counted the same way in `/stats`.
 *
 * Web standards only (a `ReadableStream` body), so the same code streams on Node
 * (`@hono/node-server`), Deno and Bun.
 *
 * Why the stream is pull-based: the slow-consumer rule needs to know how many bytes are waiting
 * for a client. The stream has a high-water mark of 0, so the HTTP layer only gets bytes when it
 * asks for the next chunk, which it does once the socket has taken the previous one (Node's
 * server waits for `drain`; Deno and Bun read as the connection allows). Everything delivered in
 * between waits in this session's own queue, whose size is `bufferedAmount()`: a stalled client
 * makes it grow until `maxBufferedBytes` trips and the stream is cut.
 *
 * The queue is measured in the messages' own bytes, not in the bytes of their SSE encoding: one
 * `data: ` per line makes a 1 MiB message of line breaks a 7.3 MB event (base64 makes binary
 * 4/3 as big), and counting those bytes made two such messages cut every healthy subscriber. So
 * an SSE subscriber may fall exactly as far behind as a WebSocket subscriber, whatever is in the
 * messages. (Memory stays bounded: the events are shared by every stream, each at most 7 times
 * its message.)
 *
 * ```sh
 * curl -N -H 'Accept: text/event-stream' http://localhost:3000/sub/wong
 * ```
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import { CLOSE_SLOW_CONSUMER } from '../core/delivery.ts';
import type { BrokerContext } from './context.ts';
import { clock, type Session } from './sessions.ts';
import { CLOSE_TOKEN_EXPIRED, TOKEN_EXPIRED, atExpiry } from './auth/expiry.ts';
import { toBase64 } from './base64.ts';
import { RAW, type StreamOptions } from './stream-options.ts';
import { sseWantsIds, withIds } from './sse-ids.ts';

const encoder = new TextEncoder();

/** `BrokerMessage.prepared` key: each message is formatted as an SSE event once, for every stream. */
const SSE_EVENT = Object.freeze({ transport: 'sse-event' });

/** One message as every stream sends it, and how much it counts toward a stream's backlog. */
interface PreparedEvent {
  readonly bytes: Uint8Array;
  /** The message's own size in bytes (UTF-8 for text). */
  readonly weight: number;
}

function prepareEvent(message: BrokerMessage): PreparedEvent {
  return { bytes: formatEvent(message), weight: message.byteLength };
}

const PING = encoder.encode(': ping\n\n');
/** The last event of a stream whose token expired (then the stream ends). */
const EXPIRED = encoder.encode(`event: error\ndata: ${TOKEN_EXPIRED}\n\n`);
/**
 * Sent as soon as the stream opens: some HTTP layers (Bun's) hold the response head back until
 * the body's first bytes, and a quiet topic would leave the client without even a 200.
 */
const OPENED = encoder.encode(': ok\n\n');

/** The HTTP layer gets queued events joined into chunks of about this size (fewer writes). */
const CHUNK_BYTES = 64 * 1024;

export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  // Asks nginx-style proxies not to buffer the stream.
  'x-accel-buffering': 'no',
});

/**
 * Opens an SSE subscription to `topic` (already validated, capacity already checked) and
 * returns the streaming response. `signal` is the request's: when the client goes away the
 * subscriber is removed at once. At `expiresAt` (the token's expiry) the stream ends.
 */
export function eventStreamResponse(ctx: BrokerContext, topic: string, signal?: AbortSignal, expiresAt?: number, stream: StreamOptions = RAW): Response {
  const session = new EventStreamSession(ctx, topic, signal, stream);
  session.endAt(expiresAt);
  return new Response(session.stream, { status: 200, headers: EVENT_STREAM_HEADERS });
}

/** The bytes of one message as one SSE event (PROTOCOL.md). */
export function formatEvent(message: BrokerMessage): Uint8Array {
  if (message.binary) return encoder.encode(`event: binary\ndata: ${toBase64(message.bytes)}\n\n`);
  // Each line of the text becomes one `data:` line; EventSource joins them back with "\n".
  const text = message.data as string;
  return encoder.encode(`data: ${text.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`);
}


class EventStreamSession implements Session {
  lastActivity = clock.now;
  awaitingPong = false;
  readonly receiver: Receiver;
  readonly stream: ReadableStream<Uint8Array>;

  readonly #ctx: BrokerContext;
  readonly #signal: AbortSignal | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Event bytes delivered but not yet taken by the HTTP layer, and each one's weight. */
  #queue: Uint8Array[] = [];
  #weights: number[] = [];
  /** The backlog the slow-consumer rule reads: the queued messages' own bytes (see above). */
  #queuedWeight = 0;
  /** The HTTP layer asked for bytes and got none yet: the next event goes straight through. */
  #readerWaiting = false;
  #ended = false;
  /** Running byte totals, to tell whether the last ping has been taken by the HTTP layer. */
  #queuedTotal = 0;
  #handedTotal = 0;
  #pingMark = 0;
  #cancelExpiry: (() => void) | undefined;

  readonly #onAbort = () => this.#end();

  constructor(ctx: BrokerContext, topic: string, signal: AbortSignal | undefined, stream: StreamOptions) {
    this.#ctx = ctx;
    this.#signal = signal;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          controller.enqueue(OPENED);
        },
        pull: () => this.#pull(),
        // The client went away (or the HTTP layer gave up): clean up now, not at the next write.
        cancel: () => this.#end(),
      },
      { highWaterMark: 0 },
    );
    this.receiver = {
      deliver: (message) => {
        const event = message.prepared(SSE_EVENT, prepareEvent);
        this.#write(event.bytes, event.weight);
      },
      bufferedAmount: () => this.#queuedWeight,
      close: (code) => this.#close(code),
    };

    ctx.sessions.add(this);
    ctx.core.counters.connections++;
    // Ids, JSON envelopes and resume (sse-ids.ts).
    if (sseWantsIds(stream.json, stream.since, ctx.options.historySize)) {
      // Envelopes escape line breaks (at most twice the payload): their own size is their weight.
      withIds(this.receiver, stream.json, (bytes) => this.#write(bytes, bytes.byteLength));
      // Without `since` too: its start position goes out first (sse-ids.ts).
      ctx.core.subscribeFrom(topic, this.receiver, stream.since);
    } else {
      ctx.core.addTopicSubscriber(topic, this.receiver);
    }
    if (signal?.aborted) this.#end();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * Called by the session registry every `pingInterval`, after it set `awaitingPong`. An event
   * stream has no pongs: the "answer" is the HTTP layer taking the ping's bytes. A client that
   * has not taken the previous ping by the next one is cut, as a silent WebSocket is.
   */
  ping(): void {
    this.#write(PING, PING.byteLength);
    this.#pingMark = this.#queuedTotal;
    this.#checkPingTaken();
  }

  /** At the token's expiry: `event: error` (`token expired`), then the end of the stream. */
  endAt(expiresAt: number | undefined): void {
    // A client already gone (the request aborted before the stream opened) needs no timer.
    if (this.#ended) return;
    this.#cancelExpiry = atExpiry(expiresAt, () => {
      this.#write(EXPIRED, EXPIRED.byteLength);
      this.#close(CLOSE_TOKEN_EXPIRED);
    });
  }

  /** Cuts the connection without ending the stream cleanly (dead or stalled client). */
  terminate(): void {
    if (this.#ended) return;
    this.#end();
    this.#cut('terminated');
  }

  #write(bytes: Uint8Array, weight: number): void {
    if (this.#ended) return;
    this.#queuedTotal += bytes.byteLength;
    if (this.#readerWaiting) {
      this.#readerWaiting = false;
      this.#hand(bytes);
      return;
    }
    this.#queue.push(bytes);
    this.#weights.push(weight);
    this.#queuedWeight += weight;
  }

  #pull(): void {
    if (this.#ended) return;
    if (this.#queue.length === 0) {
      this.#readerWaiting = true;
      return;
    }
    const chunk = this.#takeChunk();
    this.#hand(chunk);
  }

  /** Takes queued events, joined up to about CHUNK_BYTES (one event may be bigger). */
  #takeChunk(): Uint8Array {
    const first = this.#queue[0]!;
    let count = 1;
    let size = first.byteLength;
    while (count < this.#queue.length && size + this.#queue[count]!.byteLength <= CHUNK_BYTES) {
      size += this.#queue[count]!.byteLength;
      count++;
    }
    const taken = this.#queue.splice(0, count);
    for (const weight of this.#weights.splice(0, count)) this.#queuedWeight -= weight;
    if (count === 1) return first;
    const chunk = new Uint8Array(size);
    let offset = 0;
    for (const part of taken) {
      chunk.set(part, offset);
      offset += part.byteLength;
    }
    return chunk;
  }

  #hand(chunk: Uint8Array): void {
    this.#handedTotal += chunk.byteLength;
    this.lastActivity = clock.now;
    // A default (not byte) stream: enqueueing does not detach the buffer, so the one prepared
    // event can be shared by every stream.
    this.#controller.enqueue(chunk);
    this.#checkPingTaken();
  }

  #checkPingTaken(): void {
    if (this.awaitingPong && this.#handedTotal >= this.#pingMark) this.awaitingPong = false;
  }

  #close(code: number): void {
    if (this.#ended) return;
    const queue = this.#queue;
    this.#end();
    if (code === CLOSE_SLOW_CONSUMER) {
      // Cut rather than end: a client that is not reading would otherwise keep the connection
      // (and the bytes already handed over) forever.
      this.#cut('slow consumer (maxBufferedBytes)');
      return;
    }
    // A normal end (shutdown, inactivity): what was delivered still goes out, then the stream ends.
    try {
      for (const bytes of queue) this.#controller.enqueue(bytes);
      this.#controller.close();
    } catch {
      // Already cancelled by the client.
    }
  }

  #cut(why: string): void {
    // One line, no stack trace, in case the HTTP layer logs the error it ends the response with.
    const error = new Error(`broker-hono: SSE stream cut: ${why}`);
    error.stack = error.message;
    try {
      this.#controller.error(error);
    } catch {
      // Already closed.
    }
  }

  /** Bookkeeping, exactly once, whichever way the stream ends. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelExpiry?.();
    this.#queue = [];
    this.#weights = [];
    this.#queuedWeight = 0;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#ctx.sessions.delete(this);
    this.#ctx.core.counters.connections--;
    this.#ctx.core.detach(this.receiver);
  }
}
