/**
 * Connections that open and then send nothing. Node's `headersTimeout` starts at a request's
 * first byte, so a client that connects and stays silent holds its socket (and a descriptor) for
 * as long as it likes: measured on Node 20 and on Deno's `node:http`, still open after 70 s,
 * where Bun closes it at its idle timeout. Thousands of such connections are the cheapest way to
 * exhaust a broker's descriptors. Here a connection that has sent no byte within the head
 * timeout is closed, unanswered: there is no request to answer.
 *
 * Over TLS the handshake itself must finish within the same time (`handshakeTimeout`, set where
 * the server is made); a client that completes it and then says nothing has sent bytes and is
 * left to Node's own timers.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function dropSilentConnections(server: Server, withinMs: number): void {
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, withinMs);
    // Checking is all the timer does: it must not keep a closing server alive.
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}
