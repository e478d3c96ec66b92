/**
 * Definite push answers in cluster mode: a POST `/push` or a WebSocket pusher hears within
 * `PUSH_ANSWER_MS` what became of its push, and a push answered `timeout` is never delivered
 * afterwards (a client that retries it must not make a duplicate).
 *
 * Each push carries a deadline on Redis's clock, `PUSH_DEADLINE_MS` from now; its script does
 * nothing when it runs later (Redis was frozen, or too busy). The node answers `timeout` only at
 * `PUSH_ANSWER_MS`, past the deadline with room for Redis's answer to travel, so a push that ran
 * in time is answered with what Redis said, and one that did not will not run.
 *
 * Pushes reach Redis in order on one connection and run in that order. A push sent while an
 * earlier one is unanswered takes that one's deadline when it is earlier, so once a push is too
 * late every push sent after it is too: a pusher closed with 1013 for a `timeout` knows that
 * nothing from that frame on will be delivered, as with every other refusal.
 */
import type { PushResult } from '../../core/push-pull.ts';
import type { RedisClock } from './redis-clock.ts';

/** Longest a push waits for Redis's answer before it is answered `timeout`. */
export const PUSH_ANSWER_MS = 2000;
/** How long after it was sent Redis may still run a push (on Redis's clock). */
export const PUSH_DEADLINE_MS = 1500;

interface Waiting {
  /** When the caller is answered `timeout` (this node's clock). */
  readonly timeoutAt: number;
  /** Past this, on Redis's clock, the push's script does nothing. */
  readonly deadline: number;
  answered: boolean;
  resolve(result: PushResult): void;
}

export class PushAnswers {
  /** Pushes Redis has not answered, oldest first (one answered `timeout` stays until Redis answers). */
  readonly #unanswered = new Set<Waiting>();
  /** Every push in the order sent, for the one timer; answered ones are dropped from the front. */
  #order: Array<Waiting | undefined> = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly clock: RedisClock,
    /** Redis ran a push after it had been answered `timeout` (its answer took too long to come back). */
    private readonly ranAfterTimeout: (result: PushResult) => void,
  ) {}

  /**
   * Sends one push through `run`, which gets the deadline and must not reject; resolves with
   * Redis's answer, or `timeout`.
   */
  send(run: (deadline: number) => Promise<PushResult>): Promise<PushResult> {
    let deadline = this.clock.now() + PUSH_DEADLINE_MS;
    const oldest = this.#unanswered.values().next().value;
    if (oldest && oldest.deadline < deadline) deadline = oldest.deadline;
    return new Promise((resolve) => {
      const entry: Waiting = { timeoutAt: Date.now() + PUSH_ANSWER_MS, deadline, answered: false, resolve };
      this.#unanswered.add(entry);
      this.#order.push(entry);
      this.#arm();
      void run(deadline).then((result) => {
        this.#unanswered.delete(entry);
        if (entry.answered) {
          if (result === 'delivered' || result === 'queued') this.ranAfterTimeout(result);
          return;
        }
        entry.answered = true;
        resolve(result);
        this.#dropAnswered();
      });
    });
  }

  /** Answers `timeout` to every push whose time is up; arms the timer for the next one. */
  #expire(): void {
    const now = Date.now();
    for (let entry = this.#order[this.#head]; entry; entry = this.#order[this.#head]) {
      if (!entry.answered) {
        if (entry.timeoutAt > now) break;
        entry.answered = true;
        entry.resolve('timeout');
      }
      this.#order[this.#head++] = undefined;
    }
    this.#compact();
    this.#arm();
  }

  #dropAnswered(): void {
    while (this.#order[this.#head]?.answered) this.#order[this.#head++] = undefined;
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#order.length) {
      this.#order = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }

  /** One timer at a time, for the oldest push still waiting (not one per push). */
  #arm(): void {
    const next = this.#order[this.#head];
    if (this.#timer !== undefined || !next) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
    }, Math.max(0, next.timeoutAt - Date.now()));
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
