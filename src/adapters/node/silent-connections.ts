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

/** A check this late (ms) says the loop was busy: the sockets may have bytes not yet read. */
const LATE_MS = 250;
/** How soon a late check looks again. */
const RECHECK_MS = 500;
/**
 * Checks are at least this far apart (ms), so a silent socket is closed at most this late; and
 * at most a second apart, so a socket that has spoken or closed is let go within a second.
 */
const CHECK_GRAIN_MS = 100;
const SWEEP_MS = 1000;

export function dropSilentConnections(server: Server, withinMs: number): void {
  const watch = new SilentWatch(withinMs);
  server.on('connection', (socket: Socket) => watch.add(socket));
}

/**
 * Connections that have not spoken yet, in the order they came, each with the time it did,
 * checked by one timer: nothing per connection but its place in two arrays (a timer and a close
 * listener each cost Node as much as a good part of the broker's own work on a handshake while
 * thousands connect).
 */
class SilentWatch {
  #sockets: Socket[] = [];
  #since: number[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly withinMs: number) {}

  add(socket: Socket): void {
    const now = Date.now();
    this.#sockets.push(socket);
    this.#since.push(now);
    if (!this.#timer) this.#schedule(now, now + this.withinMs);
  }

  #schedule(now: number, due: number): void {
    const ms = Math.min(SWEEP_MS, Math.max(CHECK_GRAIN_MS, due - now));
    const at = now + ms;
    this.#timer = setTimeout(() => this.#check(at), ms);
    // Checking is all the timer does: it must not keep a closing server alive.
    this.#timer.unref();
  }

  /** Closes the silent ones past their time, and forgets the ones that spoke or closed. */
  #check(due: number): void {
    this.#timer = undefined;
    const now = Date.now();
    // Late: the loop was busy, and a head may be waiting in the kernel, not yet read. Nothing is
    // closed this time; look again after the loop has had turns to read.
    const late = now - due > LATE_MS;
    const sockets = this.#sockets;
    const since = this.#since;
    let kept = 0;
    for (let i = 0; i < sockets.length; i++) {
      const socket = sockets[i]!;
      if (socket.bytesRead > 0 || socket.destroyed) continue;
      if (!late && now - since[i]! >= this.withinMs) {
        socket.destroy();
        continue;
      }
      sockets[kept] = socket;
      since[kept++] = since[i]!;
    }
    sockets.length = kept;
    since.length = kept;
    if (kept > 0) this.#schedule(now, late ? now + RECHECK_MS : since[0]! + this.withinMs);
  }
}
