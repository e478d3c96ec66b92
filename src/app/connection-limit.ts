/**
 * The `maxConnections` rule with no overshoot. A connection is counted in
 * `counters.connections` only once its socket opens, so checking that number alone lets every
 * handshake that is still in flight pass the check at once. Each accepted upgrade therefore holds
 * a reservation from the check until its socket opens or its handshake fails; a deadline releases
 * a reservation that no runtime ever reports back on, so none can leak.
 *
 * ```ts
 * const slot = ctx.connectionLimit.reserve();   // undefined: answer 503
 * // … later, exactly one of: the socket opened (count it), or the handshake failed:
 * slot.release();
 * ```
 */
import type { Counters } from '../core/counters.ts';

/** How long a handshake may take between the check and the open socket. */
export const HANDSHAKE_DEADLINE_MS = 10_000;

export class ConnectionLimit {
  /** Reservations taken and not yet released. */
  pending = 0;

  constructor(
    private readonly counters: Counters,
    readonly maxConnections: number,
  ) {}

  /** Open connections plus handshakes in flight. */
  get used(): number {
    return this.counters.connections + this.pending;
  }

  hasRoom(): boolean {
    return this.used < this.maxConnections;
  }

  /** Takes a slot for a handshake about to start, or returns undefined when full. */
  reserve(): Reservation | undefined {
    if (!this.hasRoom()) return undefined;
    return new Reservation(this);
  }
}

export class Reservation {
  #limit: ConnectionLimit | undefined;
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(limit: ConnectionLimit) {
    this.#limit = limit;
    limit.pending++;
    this.#timer = setTimeout(() => this.release(), HANDSHAKE_DEADLINE_MS);
    // Node and Bun can unref; elsewhere the timer simply runs out.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Gives the slot back; safe to call more than once. The opener counts the connection itself. */
  release(): void {
    const limit = this.#limit;
    if (!limit) return;
    this.#limit = undefined;
    clearTimeout(this.#timer);
    limit.pending--;
  }
}
