/**
 * `maxPostsInFlight`: how many POSTs the broker reads and handles at once. Each one being read
 * holds its body's bytes (up to `maxMessageSize`, reserved from the byte budget) and the runtime's
 * request objects; a client that opens thousands of POSTs and sends their bodies slowly (or
 * never finishes them) would otherwise hold all of that until `bodyTimeout`. Past the cap a POST
 * is answered 503 at once, before a byte of its body is read.
 */
export class PostsInFlight {
  #count = 0;

  constructor(readonly max: number) {}

  /** Live POSTs (for tests and diagnostics). */
  get size(): number {
    return this.#count;
  }

  /** Takes a place; false when all `max` are taken. Every true must be followed by one `leave`. */
  tryEnter(): boolean {
    if (this.#count >= this.max) return false;
    this.#count++;
    return true;
  }

  leave(): void {
    this.#count--;
  }
}
