/**
 * What `subscribe`, `bus` and `pull` return: a handle whose messages go to the callback given,
 * and to every `for await` loop over it (each loop gets every message from when it starts;
 * messages wait for a loop that is busy, without bound, so a loop must keep up). `close()` ends
 * the connection and every loop.
 */
import type { Message, MessageHandler } from './types.ts';

interface Reader {
  readonly queue: Message[];
  wake: (() => void) | undefined;
}

export class MessageStream implements AsyncIterable<Message> {
  /**
   * The id of the last message received (where a subscription resumes); before the first one,
   * where the subscription started (the broker's position frame), or the `since` it was given.
   */
  lastId: string | undefined;
  #readers = new Set<Reader>();
  #closed = false;
  #onClose: () => void = () => {};

  constructor(
    readonly topic: string,
    private readonly handler: MessageHandler | undefined,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the connection (no reconnecting) and every `for await` loop. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    for (const reader of this.#readers) reader.wake?.();
  }

  /** @internal What `close` also ends (the connection). */
  whenClosed(run: () => void): void {
    this.#onClose = run;
  }

  /** @internal One message in. */
  push(message: Message): void {
    if (this.#closed) return;
    this.lastId = message.meta.id;
    for (const reader of this.#readers) {
      reader.queue.push(message);
      reader.wake?.();
    }
    // After the readers: a throwing handler must not cost them the message.
    this.handler?.(message.data, message.meta);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    const reader: Reader = { queue: [], wake: undefined };
    this.#readers.add(reader);
    const done = (): IteratorResult<Message> => {
      this.#readers.delete(reader);
      return { done: true, value: undefined };
    };
    return {
      next: async () => {
        while (reader.queue.length === 0) {
          if (this.#closed) return done();
          await new Promise<void>((resolve) => (reader.wake = resolve));
          reader.wake = undefined;
        }
        return { done: false, value: reader.queue.shift()! };
      },
      return: async () => done(),
    };
  }
}
