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

/** How often reservations past their deadline are looked for. */
const SWEEP_EVERY_MS = 1000;

export class ConnectionLimit {
  /** Reservations taken and not yet released. */
  pending = 0;
  // One timer for all reservations rather than one per handshake: every handshake takes a
  // reservation, and a timer each is measurable when thousands of clients connect at once.
  readonly #open = new Set<Reservation>();
  #sweeper: ReturnType<typeof setInterval> | undefined;

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
    const reservation = new Reservation(this, Date.now() + HANDSHAKE_DEADLINE_MS);
    this.#open.add(reservation);
    if (!this.#sweeper) {
      this.#sweeper = setInterval(() => this.#sweep(), SWEEP_EVERY_MS);
      // Node and Bun can unref; elsewhere the timer stops at the first sweep with no reservation open.
      (this.#sweeper as { unref?: () => void }).unref?.();
    }
    return reservation;
  }

  /** @internal Called by a reservation as it is released. */
  forget(reservation: Reservation): void {
    this.#open.delete(reservation);
  }

  #sweep(): void {
    // Stopped here, not as the last reservation goes: while clients connect in a burst the set
    // empties and fills again many times a second, and a timer each time was measurable.
    if (this.#open.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    const now = Date.now();
    for (const reservation of this.#open) if (reservation.expiresAt <= now) reservation.release();
  }
}

export class Reservation {
  #limit: ConnectionLimit | undefined;

  constructor(
    limit: ConnectionLimit,
    /** When the deadline releases it, if nothing has before (ms since the epoch). */
    readonly expiresAt: number,
  ) {
    this.#limit = limit;
    limit.pending++;
  }

  /** Gives the slot back; safe to call more than once. The opener counts the connection itself. */
  release(): void {
    const limit = this.#limit;
    if (!limit) return;
    this.#limit = undefined;
    limit.pending--;
    limit.forget(this);
  }
}
