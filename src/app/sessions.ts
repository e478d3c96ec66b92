/**
 * Every open connection (WebSocket or SSE) as a `Session`, and the timer that keeps them honest:
 * pings every `pingInterval` (a session that has not answered the previous ping is terminated)
 * and closes sessions idle for `inactivityTimeout`. Runtime-neutral: a transport says how to ping,
 * or leaves it to its runtime (Bun's `sendPings`, Deno's `idleTimeout`).
 */
import type { Receiver } from '../receiver.ts';

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_NORMAL = 1000;

export interface Session {
  readonly receiver: Receiver;
  /** ms timestamp of the last frame in or out (pongs count). */
  lastActivity: number;
  /** Set when a ping went out; cleared by the pong. */
  awaitingPong: boolean;
  /** Sends a ping; absent when the runtime pings by itself. */
  ping?(): void;
  /** Drops the connection without a closing handshake (the peer is not answering). */
  terminate(): void;
}

/** Sessions dropped per event-loop task by `terminateAll`. */
const TERMINATE_BATCH = 100;

/** A coarse clock: reading it on the hot path costs a property load, not a syscall. */
export const clock = { now: Date.now() };

export class SessionRegistry {
  readonly #sessions = new Set<Session>();
  /**
   * Set by `closeAll` (shutdown): every socket has been told 1001, and frames still arriving from
   * clients are not taken (socket-routes.ts). RFC 6455 lets a peer go on sending until it has
   * read the close; taking them kept a shutting-down broker fanning out a publisher's flood to
   * subscribers it was closing, and on Deno held the hard exit back by seconds.
   */
  closing = false;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly pingIntervalMs: number,
    private readonly inactivityTimeoutMs: number,
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  add(session: Session): void {
    this.#sessions.add(session);
    if (this.#sessions.size === 1) this.#startTimers();
  }

  delete(session: Session): void {
    this.#sessions.delete(session);
    if (this.#sessions.size === 0) this.#stopTimers();
  }

  /** Closes every session (shutdown); each transport's close handler does the bookkeeping. */
  closeAll(code = CLOSE_GOING_AWAY, reason = 'server shutting down'): void {
    this.closing = true;
    for (const session of [...this.#sessions]) {
      try {
        session.receiver.close(code, reason);
      } catch {
        session.terminate();
      }
    }
  }

  /**
   * Drops every session (shutdown, once the close handshakes had their time), `TERMINATE_BATCH`
   * at a time with a timer turn between batches, so a shutdown deadline's timer can still run:
   * on Deno, destroying a socket that still queues megabytes for a lagging client costs about a
   * millisecond (Node: a few µs), and 1,100 such sockets cut at once held the event loop, and the
   * CLI's hard exit with it, for up to 2 s (tests/deno-shutdown-under-load.test.ts).
   */
  async terminateAll(): Promise<void> {
    const sessions = [...this.#sessions];
    for (let i = 0; i < sessions.length; i += TERMINATE_BATCH) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      for (const session of sessions.slice(i, i + TERMINATE_BATCH)) session.terminate();
    }
  }

  stop(): void {
    this.#stopTimers();
  }

  #startTimers(): void {
    clock.now = Date.now();
    this.#pingTimer = unref(setInterval(() => this.#pingAll(), this.pingIntervalMs));
    const sweepEvery = Math.max(50, Math.min(1000, this.inactivityTimeoutMs / 4));
    this.#sweepTimer = unref(setInterval(() => this.#sweep(), sweepEvery));
  }

  #stopTimers(): void {
    clearInterval(this.#pingTimer);
    clearInterval(this.#sweepTimer);
    this.#pingTimer = this.#sweepTimer = undefined;
  }

  #pingAll(): void {
    for (const session of this.#sessions) {
      if (!session.ping) continue;
      if (session.awaitingPong) {
        session.terminate();
        continue;
      }
      session.awaitingPong = true;
      try {
        session.ping();
      } catch {
        session.terminate();
      }
    }
  }

  #sweep(): void {
    const now = (clock.now = Date.now());
    const deadline = now - this.inactivityTimeoutMs;
    for (const session of this.#sessions) {
      if (session.lastActivity < deadline) session.receiver.close(CLOSE_NORMAL, 'inactivity timeout');
    }
  }
}

function unref<T>(timer: T): T {
  // Node and Bun timers have unref; Deno's numeric ids are unref'd with Deno.unrefTimer, which
  // this runtime-neutral file cannot name, so Deno keeps them referenced (harmless: the server
  // keeps the process alive anyway).
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
