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

/** A budget that says how full it is (the broker's, held-bytes.ts). */
interface Gauged {
  readonly held: number;
  readonly limit: number;
}

export function cappedBudget(limit: number, parent: ByteBudget = UNLIMITED_BUDGET): CappedBudget {
  let used = 0;
  // History making room for itself is no client refused: with a parent that says how full it is,
  // look before reserving, so the parent does not count a refusal (`budgetRefusals`).
  const gauged = typeof (parent as Partial<Gauged>).held === 'number' && typeof (parent as Partial<Gauged>).limit === 'number';
  const fits = (bytes: number) => !gauged || (parent as unknown as Gauged).held + bytes <= (parent as unknown as Gauged).limit;
  return {
    get used() {
      return used;
    },
    tryReserve(bytes) {
      if (used + bytes > limit || !fits(bytes) || !parent.tryReserve(bytes)) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used -= bytes;
      parent.release(bytes);
    },
  };
}
