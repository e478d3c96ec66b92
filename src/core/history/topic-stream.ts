/**
 * One topic's stream in the memory engine's history: its epoch, the last offset given out, and
 * the messages history still holds, oldest first. What is held is always the stream's most recent
 * offsets without a hole (`removedThrough + 1` … `offset`, possibly none): messages leave from
 * the oldest end only, and one that cannot be kept empties the stream. So finding a subscriber's
 * id is arithmetic, and how many messages it missed is a subtraction.
 */
import type { StampedMessage } from '../../stamped.ts';

export class TopicStream<R> {
  /** The last offset given out. */
  offset = 0;
  /** The offset of the last message that left history (0: none has). */
  removedThrough = 0;
  // Two arrays read from `#head` on: the stamped messages, and what each belongs to (a record of
  // the history, shared by the streams of one publish's ancestors).
  #stamps: StampedMessage[] = [];
  #owners: R[] = [];
  #head = 0;

  constructor(
    readonly topic: string,
    readonly epoch: string,
  ) {}

  get size(): number {
    return this.#stamps.length - this.#head;
  }

  /** The oldest message held. */
  first(): StampedMessage | undefined {
    return this.#stamps[this.#head];
  }

  /** Keeps the message at the newest end (it must be at `offset`, the one just given out). */
  push(stamp: StampedMessage, owner: R): void {
    this.#stamps.push(stamp);
    this.#owners.push(owner);
  }

  /** Removes the oldest message; returns its owner. */
  shift(): R | undefined {
    if (this.#head >= this.#stamps.length) return undefined;
    const stamp = this.#stamps[this.#head]!;
    const owner = this.#owners[this.#head]!;
    this.#stamps[this.#head] = undefined as unknown as StampedMessage;
    this.#owners[this.#head] = undefined as unknown as R;
    this.#head++;
    this.removedThrough = stamp.offset;
    // Give the array's front back now and then, not on every removal.
    if (this.#head >= 1024 && this.#head * 2 >= this.#stamps.length) {
      this.#stamps = this.#stamps.slice(this.#head);
      this.#owners = this.#owners.slice(this.#head);
      this.#head = 0;
    }
    return owner;
  }

  /** The messages held after `offset` (which must be at least `removedThrough`), oldest first. */
  after(offset: number): StampedMessage[] {
    return this.#stamps.slice(this.#head + (offset - this.removedThrough));
  }
}
