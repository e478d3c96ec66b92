/**
 * A POST body on Node as a web `ReadableStream` that costs the same whatever the client's
 * chunking. `@hono/node-server` converts the request stream with `Readable.toWeb` and wraps it
 * once more, so every chunk Node's HTTP parser emits passes through two web streams and two
 * promises: about 9 µs per chunk, so a chunked body of a million 1-byte chunks (6 MB on the
 * wire) took a core 9 s, and a body timeout cut ordinary-sized bodies of tiny chunks under load.
 *
 * Node's parser hands JavaScript each body chunk in a callback of its own, whatever is done with
 * it. Here that callback only copies the chunk's bytes into one staging buffer and drops the
 * chunk (keeping the chunk objects, even briefly, would cost ~200 bytes each: a socket read
 * holds ten thousand 1-byte chunks). A pull waiting for bytes is woken once the whole socket
 * read has been parsed, and takes everything staged as one chunk: one web chunk and one promise
 * per socket read. Backpressure: the request stream flows only while the body is being read,
 * and is paused while more than `STAGE_LIMIT` bytes wait for a pull.
 */
import type { IncomingMessage } from 'node:http';

/** Staged bytes past which the request stream is paused until the next pull. */
const STAGE_LIMIT = 256 * 1024;
const MIN_STAGE = 4096;

/** Bytes received and not yet pulled: the first chunk as it came, then copies in one buffer. */
class Stage {
  #single: Uint8Array | undefined;
  #buffer: Uint8Array | undefined;
  length = 0;

  add(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    if (this.length === 0) {
      this.#single = chunk;
      this.length = chunk.byteLength;
      return;
    }
    const needed = this.length + chunk.byteLength;
    if (this.#buffer === undefined || needed > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(needed, 2 * (this.#buffer?.byteLength ?? 0), MIN_STAGE));
      grown.set(this.#single ?? this.#buffer!.subarray(0, this.length), 0);
      this.#buffer = grown;
      this.#single = undefined;
    }
    this.#buffer.set(chunk, this.length);
    this.length = needed;
  }

  /** Everything staged, handed over (the stage starts empty again). */
  take(): Uint8Array {
    const taken = this.#single ?? this.#buffer!.subarray(0, this.length);
    this.#single = undefined;
    this.#buffer = undefined;
    this.length = 0;
    return taken;
  }
}

export function incomingBody(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  const stage = new Stage();
  let ended = false;
  let failed: Error | undefined;
  /** The pull waiting for bytes, if any, and whether its wake-up is already scheduled. */
  let waiting: (() => void) | undefined;
  let scheduled = false;
  let attached = false;

  // Not at once: after the I/O phase, so the whole socket read is staged first.
  const wake = () => {
    if (!waiting || scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const attempt = waiting;
      waiting = undefined;
      attempt?.();
    });
  };
  const onData = (chunk: Buffer) => {
    stage.add(chunk);
    if (stage.length > STAGE_LIMIT && !waiting) incoming.pause();
    wake();
  };
  const onEnd = () => {
    ended = true;
    wake();
  };
  const onGone = (error?: Error) => {
    if (ended) return;
    failed ??= error instanceof Error ? error : new Error('request body aborted');
    wake();
  };
  const onClose = () => onGone();
  const attach = () => {
    attached = true;
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onGone);
    incoming.on('close', onClose);
  };
  // Once the body is over (read, failed, or given up) the request stream is Node's again, for
  // node-server to drain what the client still sends.
  const detach = () => {
    waiting = undefined;
    if (!attached) return;
    incoming.off('data', onData);
    incoming.off('end', onEnd);
    incoming.off('error', onGone);
    incoming.off('close', onClose);
  };

  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!attached) {
          // The request stream flows from the first pull on (a body never asked for stays paused).
          if (incoming.readableEnded) ended = true;
          else attach();
        }
        return new Promise<void>((resolve) => {
          const attempt = () => {
            if (stage.length > 0) {
              controller.enqueue(stage.take());
              if (incoming.isPaused() && !ended) incoming.resume();
            } else if (ended) {
              detach();
              controller.close();
            } else if (failed) {
              detach();
              controller.error(failed);
            } else {
              waiting = attempt;
              if (incoming.isPaused()) incoming.resume();
              return;
            }
            resolve();
          };
          attempt();
        });
      },
      cancel: detach,
    },
    { highWaterMark: 0 },
  );
}

/**
 * The request the app sees for a POST: node-server's, with its body read as above. Other
 * requests are passed through untouched (the app reads no other body).
 */
export function withIncomingBody(request: Request, incoming: IncomingMessage | undefined): Request {
  if (request.method !== 'POST' || !incoming) return request;
  return new Request(request.url, { method: 'POST', headers: request.headers, body: incomingBody(incoming), duplex: 'half' } as RequestInit);
}
