/**
 * A connection lives no longer than its token: at `exp` a socket is closed with 4001 `token
 * expired` and an SSE stream gets `event: error` and ends. One timer for all connections, not
 * one each: connections are kept by the time they expire at (tokens' `exp` are whole seconds, so
 * connections with the same token, or tokens issued in the same second, share an entry), and the
 * timer is armed for the earliest. A connection is added when it opens and removed when it closes;
 * nothing per message.
 */

export const CLOSE_TOKEN_EXPIRED = 4001;
export const TOKEN_EXPIRED = 'token expired';

/** setTimeout's largest delay (about 24.8 days); a longer one fires at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** A connection that ends at its token's expiry. */
export interface Expiring {
  expire(): void;
}

class ExpiryClock {
  /** Connections by the time they expire at (ms since the epoch). */
  readonly #due = new Map<number, Set<Expiring>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires; Infinity when none is armed. */
  #armedFor = Number.POSITIVE_INFINITY;

  add(at: number, item: Expiring): void {
    let due = this.#due.get(at);
    if (!due) this.#due.set(at, (due = new Set()));
    due.add(item);
    if (at < this.#armedFor) this.#arm(at);
  }

  remove(at: number, item: Expiring): void {
    const due = this.#due.get(at);
    if (!due?.delete(item) || due.size > 0) return;
    // The timer, if armed for this entry, finds nothing due and re-arms for the next one.
    this.#due.delete(at);
    if (this.#due.size === 0) this.#disarm();
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.min(at - Date.now(), MAX_DELAY_MS)));
    // Node and Bun: a token's clock must not keep a stopping process alive (Deno's numeric ids
    // have no unref; its server keeps the process alive anyway).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const expired: Set<Expiring>[] = [];
    let next = Number.POSITIVE_INFINITY;
    // Taken out first: a connection that closes as it expires finds nothing left to remove.
    for (const [at, due] of this.#due) {
      if (at <= now) {
        expired.push(due);
        this.#due.delete(at);
      } else if (at < next) next = at;
    }
    for (const due of expired) for (const item of due) item.expire();
    if (next < this.#armedFor) this.#arm(next);
  }
}

const clock = new ExpiryClock();

/**
 * `item.expire()` at `expiresAt` (ms since the epoch), or at once if that has passed (then
 * returns false: nothing to cancel). Cancel with `cancelExpiry(expiresAt, item)`.
 */
export function expireAt(expiresAt: number, item: Expiring): boolean {
  if (expiresAt <= Date.now()) {
    item.expire();
    return false;
  }
  clock.add(expiresAt, item);
  return true;
}

export function cancelExpiry(expiresAt: number, item: Expiring): void {
  clock.remove(expiresAt, item);
}

/**
 * Calls `expire` at `expiresAt` (ms since the epoch; at once if that has passed). Returns the
 * function that cancels it, or undefined when there is nothing to wait for.
 */
export function atExpiry(expiresAt: number | undefined, expire: () => void): (() => void) | undefined {
  if (expiresAt === undefined) return undefined;
  const item: Expiring = { expire };
  if (!expireAt(expiresAt, item)) return () => {};
  return () => cancelExpiry(expiresAt, item);
}
