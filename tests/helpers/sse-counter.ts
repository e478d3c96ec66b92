/**
 * A healthy SSE subscriber that keeps nothing: it reads as fast as the socket allows and counts
 * events (each ends with a blank line) and bytes. For tests whose events are megabytes, where
 * `SseClient` (which keeps the whole body as text) would cost the test process gigabytes.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export class SseCounter {
  /** Whole events with data (messages), and comments (`: ok`, `: ping`). */
  dataEvents = 0;
  comments = 0;
  bytes = 0;
  status = 0;
  ended = false;
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  /** The last byte seen, so a blank line split across chunks is found. */
  #last = 0;
  /** The event under way is a comment (it started with `:`); undefined before its first byte. */
  #comment: boolean | undefined;
  #response: IncomingMessage | undefined;
  readonly #request: ClientRequest;

  constructor(url: string) {
    let resolveClosed!: () => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    const end = () => {
      this.ended = true;
      resolveClosed();
    };
    this.#request = request(url, { headers: { accept: 'text/event-stream' }, agent: false });
    this.opened = new Promise((resolve, reject) => {
      this.#request.once('response', (response) => {
        this.#response = response;
        this.status = response.statusCode ?? 0;
        response.on('data', (chunk: Buffer) => this.#count(chunk));
        response.once('end', end);
        response.once('close', end);
        response.once('error', end);
        if (this.status === 200) resolve();
        else reject(new Error(`SSE subscription answered ${this.status}`));
      });
      this.#request.once('error', (error) => {
        end();
        reject(error);
      });
    });
    this.opened.catch(() => {});
    this.#request.end();
  }

  /**
   * Events end with a blank line (`\n\n`); the broker's never hold `\n\n\n` (every line of an
   * event starts with a field name or `:`), so the terminators do not overlap.
   */
  #count(chunk: Buffer): void {
    this.bytes += chunk.byteLength;
    if (chunk.byteLength === 0) return;
    this.#comment ??= chunk[0] === 0x3a;
    if (this.#last === 0x0a && chunk[0] === 0x0a) this.#eventEnded(chunk, 0);
    for (let at = chunk.indexOf('\n\n'); at !== -1; at = chunk.indexOf('\n\n', at + 2)) this.#eventEnded(chunk, at + 1);
    this.#last = chunk[chunk.byteLength - 1]!;
  }

  /** An event ended at `chunk[at]`; the next one starts after it. */
  #eventEnded(chunk: Buffer, at: number): void {
    if (this.#comment) this.comments++;
    else this.dataEvents++;
    this.#comment = at + 1 < chunk.byteLength ? chunk[at + 1] === 0x3a : undefined;
  }

  close(): void {
    this.#request.destroy();
    this.#response?.destroy();
  }
}
