/**
 * Writes a fetch `Response` onto a socket Node has handed over raw (an `upgrade` request: Node's
 * HTTP layer no longer owns it). Each answer ends the connection (`Connection: close`); nothing
 * else would ever read a further request from the socket.
 *
 * - A bounded body (a refusal, `/stats`, anything but an event stream) is read whole and sent
 *   with its `Content-Length`.
 * - An event stream (an SSE subscription asked for with an `Upgrade` header that is not
 *   `websocket`) is sent as it comes, with backpressure, delimited by the connection's end, and
 *   lives exactly as long as the socket: when the client goes away the body is cancelled, which
 *   ends the subscription. A session must never outlive its socket.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const EVENT_STREAM = 'text/event-stream';

export async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  if (response.body && response.headers.get('content-type')?.startsWith(EVENT_STREAM)) return streamBody(socket, response);
  let body: Uint8Array = new Uint8Array(0);
  try {
    body = new Uint8Array(await response.arrayBuffer());
  } catch {
    // An unreadable body: the status line and headers still go out.
  }
  if (socket.destroyed) return;
  // Once the answer is flushed, drop the socket, or a client that never closes its side would
  // keep it half-open for good.
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([head(response, body.byteLength), body]));
}

function head(response: Response, contentLength: number | undefined): Buffer {
  let text = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\nConnection: close\r\n`;
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection' && name !== 'transfer-encoding') text += `${name}: ${value}\r\n`;
  });
  if (contentLength !== undefined) text += `Content-Length: ${contentLength}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

async function streamBody(socket: Duplex, response: Response): Promise<void> {
  const reader = response.body!.getReader();
  let gone = socket.destroyed;
  const onGone = () => {
    gone = true;
    void reader.cancel().catch(() => {});
  };
  // Node's server sockets allow half-open connections: a client that has sent its FIN is gone
  // for an event stream (it can send no further request here) though the socket stays open.
  socket.once('end', onGone);
  socket.once('close', onGone);
  if (gone) return onGone();
  // Read (and drop) whatever the client sends, pipelined requests included: a paused socket would
  // never notice the client leaving, and the stream must end when it does.
  socket.resume();
  try {
    socket.write(head(response, undefined));
    for (;;) {
      const { done, value } = await reader.read();
      if (done || gone) break;
      if (!socket.write(value)) await drained(socket);
    }
  } catch {
    // The stream was cut (a slow consumer, shutdown) or the socket failed: end the connection.
  } finally {
    socket.off('end', onGone);
    socket.off('close', onGone);
    if (gone) {
      socket.destroy();
    } else {
      socket.once('finish', () => socket.destroy());
      socket.end();
    }
    reader.releaseLock();
  }
}

function drained(socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
