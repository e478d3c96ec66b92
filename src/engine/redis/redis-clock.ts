/**
 * Redis's clock as this node estimates it. A push's deadline is checked by its script against
 * Redis's `TIME`, so it must be set on Redis's clock, not the node's: the two machines' clocks
 * may differ by more than the deadline itself. Every heartbeat reads `TIME`; the offset is taken
 * at the middle of the round trip.
 */

/** A heartbeat answered slower than this says too little about the clock to be used. */
const MAX_SAMPLE_ROUND_TRIP_MS = 100;

export class RedisClock {
  /** Redis's clock minus this node's, in ms (0 until the first heartbeat: same machine). */
  #offset = 0;

  /** A command sent at `sentAt` and answered at `answeredAt` (this node's ms) read `redisMs`. */
  observe(sentAt: number, answeredAt: number, redisMs: number): void {
    if (!Number.isFinite(redisMs) || answeredAt - sentAt > MAX_SAMPLE_ROUND_TRIP_MS) return;
    this.#offset = redisMs - (sentAt + answeredAt) / 2;
  }

  /** Now, on Redis's clock (ms). */
  now(): number {
    return Date.now() + this.#offset;
  }
}

/** Redis's `TIME` reply (seconds, microseconds, as strings or numbers) in ms. */
export function redisTimeMs(seconds: unknown, microseconds: unknown): number {
  return Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
}
