/**
 * Keeps a node's Redis subscriptions equal to what its local receivers need, and nothing more.
 * Local interest changes synchronously (a socket opens, a socket closes); the Redis side follows
 * through one serial loop, so a topic that is joined, left and joined again in quick succession
 * always ends in the right state, and a lost connection is repaired when it comes back.
 *
 * A client about to subscribe can `hold` a channel: it is subscribed now and stays wanted for a
 * few seconds, so the client's socket opens only once it will hear other nodes' messages.
 */

/** The two Redis operations this needs (a dedicated subscriber connection). */
export interface ChannelSubscriber {
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
}

/** How long a hold keeps a channel wanted while the socket that asked for it opens. */
const HOLD_MS = 5000;
/** SUBSCRIBE/UNSUBSCRIBE at most this many channels per command. */
const BATCH = 1000;
/** Pause before retrying after a command failed on a connection that still looks up. */
const RETRY_MS = 500;

export class SubscriptionSync {
  readonly #interest = new Set<string>();
  /** Channel → when its hold ends (ms timestamp). */
  readonly #holds = new Map<string, number>();
  /** Channels Redis has confirmed for this connection. */
  readonly #confirmed = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #waiters = new Map<string, Array<() => void>>();
  #online = false;
  #running = false;
  /** After a reconnect: re-send SUBSCRIBE for every wanted channel (the client skips known ones). */
  #resync = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #settled = false;

  constructor(
    private readonly target: ChannelSubscriber,
    /** Called when `settled` changes. */
    private readonly onSettledChange: () => void = () => {},
  ) {}

  /** True once everything wanted at the last reconnect has been confirmed. */
  get settled(): boolean {
    return this.#settled;
  }

  #setSettled(settled: boolean): void {
    if (settled === this.#settled) return;
    this.#settled = settled;
    this.onSettledChange();
  }

  /** Local receivers now need `channel`. */
  want(channel: string): void {
    this.#interest.add(channel);
    // The receiver a hold was waiting for has arrived; interest keeps the channel now.
    this.#holds.delete(channel);
    this.#mark(channel);
  }

  /** No local receiver needs `channel` any more. */
  unwant(channel: string): void {
    this.#interest.delete(channel);
    this.#mark(channel);
  }

  /**
   * Makes sure `channel` is subscribed before a receiver attaches. Returns undefined when it
   * already is (or Redis is unreachable, so waiting would only delay a local client).
   */
  hold(channel: string): Promise<void> | undefined {
    if (!this.#online || this.#closed) return undefined;
    const confirmed = this.#confirmed.has(channel);
    if (confirmed && this.#interest.has(channel)) return undefined;
    const until = Date.now() + HOLD_MS;
    this.#holds.set(channel, until);
    const release = setTimeout(() => {
      const current = this.#holds.get(channel);
      if (current === undefined || current > Date.now()) return;
      this.#holds.delete(channel);
      this.#mark(channel);
    }, HOLD_MS + 10);
    (release as { unref?: () => void }).unref?.();
    if (confirmed) return undefined;
    const waiting = new Promise<void>((resolve) => {
      const list = this.#waiters.get(channel);
      if (list) list.push(resolve);
      else this.#waiters.set(channel, [resolve]);
    });
    this.#mark(channel);
    return waiting;
  }

  /** The subscriber connection is (again) ready, or was lost. */
  setOnline(online: boolean): void {
    if (this.#closed) return;
    this.#online = online;
    if (!online) {
      this.#setSettled(false);
      // Nobody waits on a connection that is down: local clients are served meanwhile.
      for (const channel of [...this.#waiters.keys()]) this.#wake(channel);
      return;
    }
    this.#resync = true;
    for (const channel of this.#interest) this.#dirty.add(channel);
    for (const channel of this.#holds.keys()) this.#dirty.add(channel);
    for (const channel of this.#confirmed) this.#dirty.add(channel);
    void this.#run();
  }

  close(): void {
    this.#closed = true;
    this.#online = false;
    clearTimeout(this.#retryTimer);
    for (const channel of [...this.#waiters.keys()]) this.#wake(channel);
  }

  #wanted(channel: string): boolean {
    return this.#interest.has(channel) || this.#holds.has(channel);
  }

  #mark(channel: string): void {
    this.#dirty.add(channel);
    if (this.#online && !this.#running) void this.#run();
  }

  #wake(channel: string): void {
    const list = this.#waiters.get(channel);
    if (!list) return;
    this.#waiters.delete(channel);
    for (const resolve of list) resolve();
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#online && this.#dirty.size > 0) {
        const batch = [...this.#dirty].slice(0, BATCH);
        for (const channel of batch) this.#dirty.delete(channel);
        const resync = this.#resync;
        const add: string[] = [];
        const remove: string[] = [];
        for (const channel of batch) {
          const wanted = this.#wanted(channel);
          if (wanted && (resync || !this.#confirmed.has(channel))) add.push(channel);
          else if (!wanted && this.#confirmed.has(channel)) remove.push(channel);
          else if (wanted) this.#wake(channel);
        }
        try {
          if (add.length > 0) {
            await this.target.subscribe(add);
            for (const channel of add) {
              this.#confirmed.add(channel);
              this.#wake(channel);
            }
          }
          if (remove.length > 0) {
            await this.target.unsubscribe(remove);
            for (const channel of remove) this.#confirmed.delete(channel);
          }
        } catch {
          for (const channel of batch) this.#dirty.add(channel);
          this.#scheduleRetry();
          return;
        }
      }
      if (this.#online && this.#dirty.size === 0) {
        this.#resync = false;
        this.#setSettled(true);
      }
    } finally {
      this.#running = false;
    }
  }

  #scheduleRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#run(), RETRY_MS);
    (this.#retryTimer as { unref?: () => void }).unref?.();
  }
}
