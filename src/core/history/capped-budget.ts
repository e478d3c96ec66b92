/**
 * History's share of memory: a `ByteBudget` of its own (`historyMaxBytes`) that also reserves
 * every byte from the broker's budget (`parent`), so history never holds more than its cap nor
 * more than the broker as a whole may hold. History evicts its oldest messages when refused.
 */
import { UNLIMITED_BUDGET, type ByteBudget } from '../byte-budget.ts';

export interface CappedBudget extends ByteBudget {
  /** Bytes held now. */
  readonly used: number;
}

export function cappedBudget(limit: number, parent: ByteBudget = UNLIMITED_BUDGET): CappedBudget {
  let used = 0;
  return {
    get used() {
      return used;
    },
    tryReserve(bytes) {
      if (used + bytes > limit || !parent.tryReserve(bytes)) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used -= bytes;
      parent.release(bytes);
    },
  };
}
