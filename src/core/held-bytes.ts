/**
 * The broker's one byte budget (`maxHeldBytes`): everything it holds for clients reserves from
 * it first (queued pushes here; POST bodies while they are read; later, history), so no client,
 * and no number of clients, can make the broker hold memory without bound. A refused reservation
 * is counted (`budgetRefusals` in `/stats`) and answered at once by its holder (503 / close 1013).
 *
 * The core owns one (`BrokerCore.budget`); whoever holds bytes for a client reaches it there
 * (`ctx.core.budget` in the app, `broker.context.core.budget` from outside).
 */
import type { ByteBudget } from './byte-budget.ts';

/**
 * What a queued push costs beyond its bytes: the message object, its queue slot and size
 * (measured on Node 20 after a full GC: about 110 bytes per text message, 290 per binary one,
 * whose bytes sit in an ArrayBuffer of their own), rounded up so the estimate errs high.
 */
export const QUEUED_MESSAGE_OVERHEAD = 256;
/**
 * What a push topic with a queue costs beyond its messages: its entry in the topic map, its
 * name, its arrays (measured: about 410 bytes for a topic holding one short message in total).
 * Without it a million one-message topics (760 MiB measured) would look like a few megabytes.
 */
export const QUEUE_OVERHEAD = 512;

export class HeldBytes implements ByteBudget {
  #held = 0;
  #refusals = 0;

  constructor(
    /** The most bytes held at once (`maxHeldBytes`). */
    readonly limit: number,
  ) {}

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Reservations refused so far (the broker was at its limit). */
  get refusals(): number {
    return this.#refusals;
  }

  tryReserve(bytes: number): boolean {
    if (this.#held + bytes > this.limit) {
      this.#refusals++;
      return false;
    }
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    // Never below 0: a holder that releases twice must not open the budget past its limit.
    this.#held = Math.max(0, this.#held - bytes);
  }
}
