/**
 * Connections that open and then send nothing. Node's `headersTimeout` starts at a request's
 * first byte, so a client that connects and stays silent holds its socket (and a descriptor) for
 * as long as it likes: measured on Node 20 and on Deno's `node:http`, still open after 70 s,
 * where Bun closes it at its idle timeout. Thousands of such connections are the cheapest way to
 * exhaust a broker's descriptors. Here a connection that has sent no byte within the head
 * timeout is closed, unanswered: there is no request to answer.
 *
 * "Sent no byte" is judged only by a timer that fired on time. A timer that fires late means the
 * event loop was busy (a hostile load, say), and the client's head may be waiting in the kernel,
 * not yet read: closing then would reset a client that did nothing wrong. So a late timer looks
 * again a little later, after the loop has had a turn to read.
 *
 * Over TLS the handshake itself must finish within the same time (`handshakeTimeout`, set where
 * the server is made); a client that completes it and then says nothing has sent bytes and is
 * left to Node's own timers.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** A timer this late (ms) says the loop was busy: the socket may have bytes not yet read. */
const LATE_MS = 250;
/** How soon a late check looks again. */
const RECHECK_MS = 500;

export function dropSilentConnections(server: Server, withinMs: number): void {
  server.on('connection', (socket: Socket) => {
    let timer: ReturnType<typeof setTimeout>;
    const check = (due: number) => {
      if (socket.bytesRead > 0 || socket.destroyed) return;
      if (Date.now() - due > LATE_MS) arm(RECHECK_MS);
      else socket.destroy();
    };
    const arm = (ms: number) => {
      const due = Date.now() + ms;
      timer = setTimeout(() => check(due), ms);
      // Checking is all the timer does: it must not keep a closing server alive.
      timer.unref();
    };
    arm(withinMs);
    socket.once('close', () => clearTimeout(timer));
  });
}
