/**
 * One WebSocket that comes back: when it closes (the network changed, a proxy cut it, the broker
 * restarted) it connects again after a pause that doubles with each failed attempt, between
 * `initialDelayMs` and `maxDelayMs`, with jitter (a random half of the pause) so that many
 * clients cut at once do not all come back in the same instant. The URL is asked for before each
 * attempt, so a subscription resumes from its last id with a fresh token.
 */
import type { Data, ReconnectOptions, Status, WebSocketConstructor, WebSocketLike } from './types.ts';

const OPEN = 1;
/** Frames sent while disconnected wait for the next connection, this many at most (oldest dropped). */
const OUTBOX_LIMIT = 1000;

export interface SocketPlan {
  /** The URL for the next attempt (a subscription's resume point and a fresh token go in it). */
  url(): Promise<string>;
  /** A text frame arrived (the client always asks for JSON envelopes). */
  text(text: string): void;
  status?(status: Status): void;
}

export class ReconnectingSocket {
  readonly #WebSocket: WebSocketConstructor;
  readonly #plan: SocketPlan;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  #socket: WebSocketLike | undefined;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #outbox: Data[] = [];

  constructor(WebSocket: WebSocketConstructor, plan: SocketPlan, reconnect: ReconnectOptions = {}) {
    this.#WebSocket = WebSocket;
    this.#plan = plan;
    this.#initialDelay = reconnect.initialDelayMs ?? 250;
    this.#maxDelay = reconnect.maxDelayMs ?? 10_000;
    void this.#connect();
  }

  /** Sends now, or with the next connection if there is none (at most once either way). */
  send(data: Data): void {
    if (this.#closed) return;
    const socket = this.#socket;
    if (socket && socket.readyState === OPEN) {
      socket.send(data);
      return;
    }
    this.#outbox.push(data);
    if (this.#outbox.length > OUTBOX_LIMIT) this.#outbox.shift();
  }

  /** Closes for good (no reconnecting). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#outbox = [];
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      try {
        socket.close(1000);
      } catch {
        // already closing
      }
    }
    this.#plan.status?.('closed');
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#plan.status?.('connecting');
    let socket: WebSocketLike;
    try {
      const url = await this.#plan.url();
      if (this.#closed) return;
      socket = new this.#WebSocket(url);
    } catch {
      // No URL (the token callback failed) or a URL the WebSocket refused: try again later.
      this.#retry();
      return;
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.#attempt = 0;
      const waiting = this.#outbox;
      this.#outbox = [];
      for (const data of waiting) socket.send(data);
      this.#plan.status?.('open');
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (typeof event.data === 'string') this.#plan.text(event.data);
    };
    socket.onerror = () => {
      // A close event follows.
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (this.#closed) return;
      this.#plan.status?.('closed');
      this.#retry();
    };
  }

  #retry(): void {
    if (this.#closed) return;
    const pause = Math.min(this.#maxDelay, this.#initialDelay * 2 ** Math.min(this.#attempt++, 30));
    this.#timer = setTimeout(() => void this.#connect(), pause / 2 + Math.random() * (pause / 2));
  }
}
