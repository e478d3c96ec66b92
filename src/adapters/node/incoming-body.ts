/**
 * A POST body on Node as a web `ReadableStream` that costs the same whatever the client's
 * chunking. `@hono/node-server` converts the request stream with `Readable.toWeb` and wraps it
 * once more, so every chunk Node's HTTP parser emits passes through two web streams and two
 * promises: about 9 µs per chunk, so a chunked body of a million 1-byte chunks (6 MB on the
 * wire) took a core 9 s, and a body timeout cut ordinary-sized bodies of tiny chunks under load.
 *
 * Here the request stream stays in paused mode and each pull takes everything buffered at once
 * (`read()` joins the parser's chunks into one Buffer): a waiting pull is woken once the socket
 * read that brought data has been parsed whole, and a 'readable' event with no pull waiting
 * does nothing (Node then emits no further one until the next `read()`). So one web chunk per
 * socket read, whatever the parser made of it. Backpressure is Node's: while nobody pulls, the
 * request stream fills to its high-water mark and Node stops reading the socket.
 */
import type { IncomingMessage } from 'node:http';

export function incomingBody(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  /** The pull waiting for data, if any. */
  let waiting: (() => void) | undefined;
  let scheduled = false;
  // Not at once: Node parses a whole socket read in one go, one callback per chunk, and runs
  // ticks and promise jobs after each. A pull woken there would take one chunk at a time; woken
  // after the I/O phase it takes everything that socket read held.
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
  incoming.on('readable', wake);
  incoming.on('end', wake);
  incoming.on('error', wake);
  incoming.on('close', wake);
  // Once the body is over (read, failed, or given up) the request stream is Node's again: with a
  // 'readable' listener left on it, node-server could not drain what the client still sends.
  const detach = () => {
    waiting = undefined;
    incoming.off('readable', wake);
    incoming.off('end', wake);
    incoming.off('error', wake);
    incoming.off('close', wake);
  };
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        return new Promise<void>((resolve) => {
          const attempt = () => {
            const chunk = incoming.errored ? null : (incoming.read() as Buffer | null);
            if (chunk !== null) {
              controller.enqueue(chunk);
            } else if (incoming.readableEnded) {
              detach();
              controller.close();
            } else if (incoming.errored || incoming.destroyed) {
              detach();
              controller.error(incoming.errored ?? new Error('request body aborted'));
            } else {
              // Nothing buffered yet: the next 'readable' (or the end, or the client leaving).
              waiting = attempt;
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
