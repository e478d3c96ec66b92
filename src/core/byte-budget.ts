/**
 * A budget of bytes the broker may hold for its clients at once (queued pushes, POST bodies being
 * read, later history). Whoever holds bytes reserves them first and releases them when they are
 * gone; a refused reservation is answered at once (503 / close 1013) and counted, so no client can
 * make the broker hold memory without bound.
 */
export interface ByteBudget {
  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  tryReserve(bytes: number): boolean;
  /** Gives back bytes taken earlier. */
  release(bytes: number): void;
}

/** A budget that never refuses: for callers that run without one (tests, in-process use). */
export const UNLIMITED_BUDGET: ByteBudget = {
  tryReserve: () => true,
  release: () => {},
};
