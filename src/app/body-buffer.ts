/**
 * The bytes of one request body as they arrive, in one growing buffer. A body sent in a million
 * 1-byte chunks costs what a body sent in one piece costs: each chunk is copied in and dropped,
 * so no per-chunk object is kept (keeping them cost Node ~250 bytes per body byte). The buffer
 * starts at the first chunk's size (or the declared length, when it is honest) and doubles,
 * never past `maxBytes`: what is held is at most twice what the client has sent.
 *
 * Every byte held is reserved from a `ByteBudget` first, so bodies being read share the
 * broker's one memory budget with queued messages.
 */
import type { ByteBudget } from '../core/byte-budget.ts';

/** Smallest buffer allocated once a body has more than one chunk. */
const MIN_CAPACITY = 16 * 1024;

export class BodyBuffer {
  /** A body of one chunk is kept as it came (no copy); a second chunk moves both into `#buffer`. */
  #first: Uint8Array | undefined;
  #buffer: Uint8Array | undefined;
  #length = 0;
  /** Bytes taken from the budget: what is held, the buffer's whole capacity. */
  #reserved = 0;

  constructor(
    private readonly maxBytes: number,
    /** The declared Content-Length when it is within `maxBytes`: the buffer's first target size. */
    private readonly expected: number | undefined,
    private readonly budget: ByteBudget,
  ) {}

  get length(): number {
    return this.#length;
  }

  /**
   * Adds a chunk (the caller has checked that the total stays within `maxBytes`); false when the
   * budget refused the bytes it needs, in which case nothing was added.
   */
  append(chunk: Uint8Array): boolean {
    if (chunk.byteLength === 0) return true;
    const length = this.#length + chunk.byteLength;
    if (this.#first === undefined && this.#buffer === undefined) {
      if (!this.#reserve(chunk.byteLength)) return false;
      this.#first = chunk;
      this.#length = length;
      return true;
    }
    if (this.#buffer === undefined || length > this.#buffer.byteLength) {
      const capacity = this.#grownCapacity(length);
      if (!this.#reserve(capacity - this.#reserved)) return false;
      const buffer = new Uint8Array(capacity);
      buffer.set(this.#contents(), 0);
      this.#buffer = buffer;
      this.#first = undefined;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = length;
    return true;
  }

  /** The body's bytes, exactly as long as the body (a full buffer is handed over without a copy). */
  bytes(): Uint8Array {
    if (this.#buffer === undefined) return this.#first ?? new Uint8Array(0);
    return this.#length === this.#buffer.byteLength ? this.#buffer : this.#buffer.slice(0, this.#length);
  }

  /** Drops the bytes and gives the budget back; the buffer is unusable afterwards. */
  release(): void {
    this.#first = undefined;
    this.#buffer = undefined;
    this.#length = 0;
    if (this.#reserved > 0) this.budget.release(this.#reserved);
    this.#reserved = 0;
  }

  #contents(): Uint8Array {
    return this.#buffer ? this.#buffer.subarray(0, this.#length) : (this.#first ?? new Uint8Array(0));
  }

  /**
   * Doubling from what is held, never past the declared length (when the body keeps to it) nor
   * the limit. Growth follows the bytes that arrived, not the declaration: a client must send
   * bytes to make the broker hold them.
   */
  #grownCapacity(needed: number): number {
    const held = this.#buffer?.byteLength ?? this.#length;
    let capacity = Math.max(needed, MIN_CAPACITY, 2 * held);
    if (this.expected !== undefined && needed <= this.expected) capacity = Math.min(capacity, this.expected);
    return Math.min(capacity, this.maxBytes);
  }

  #reserve(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (!this.budget.tryReserve(bytes)) return false;
    this.#reserved += bytes;
    return true;
  }
}
