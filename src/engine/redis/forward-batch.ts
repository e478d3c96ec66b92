/**
 * Forwards go out in batches, one command per event-loop turn (a socket's frames arrive many to
 * a turn): Redis and the client then pay per batch, not per message. Order is kept: a batch is
 * sent whole, in the order its messages were added, before the next one starts.
 */

/** A batch is sent early once it holds this many bytes. */
export const FORWARD_BATCH_BYTES = 1024 * 1024;

export interface ForwardBatchInit {
  /**
   * Sends one batch: for each message, its channel count, its channels, its payload (the
   * `publishBatch` script's arguments).
   */
  send(args: Array<string | Uint8Array>): Promise<unknown>;
  /** Bytes handed over (`sending`) and answered or failed (`settled`): the in-flight bound. */
  sending(bytes: number): void;
  settled(bytes: number): void;
  /** Counts the messages of a batch that failed. */
  failed(count: number): void;
}

export class ForwardBatch {
  readonly #init: ForwardBatchInit;
  #args: Array<string | Uint8Array> = [];
  #messages = 0;
  #bytes = 0;
  #scheduled = false;

  constructor(init: ForwardBatchInit) {
    this.#init = init;
  }

  /** Adds one message for `channels`; it goes out at the end of this turn at the latest. */
  add(channels: readonly string[], payload: Uint8Array): void {
    this.#args.push(String(channels.length), ...channels, payload);
    this.#messages++;
    this.#bytes += payload.byteLength;
    this.#init.sending(payload.byteLength);
    if (this.#bytes >= FORWARD_BATCH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  readonly flush = (): void => {
    this.#scheduled = false;
    if (this.#messages === 0) return;
    const args = this.#args;
    const messages = this.#messages;
    const bytes = this.#bytes;
    this.#args = [];
    this.#messages = 0;
    this.#bytes = 0;
    this.#init.send(args).then(
      () => this.#init.settled(bytes),
      () => {
        this.#init.settled(bytes);
        this.#init.failed(messages);
      },
    );
  };
}
