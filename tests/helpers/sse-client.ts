/**
 * A Server-Sent Events test client on `node:http` (a real HTTP client, so a test can also stop
 * reading to play a stalled consumer). Parses the stream as the EventSource spec does and
 * queues events and comments so tests read them in order with timeouts.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  event: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /**
   * `EventSource.lastEventId`: the last `id:` field seen, set when its block ends, also by a block
   * with no `data:` (which dispatches no event: how the broker sends a start position).
   */
  lastEventId = '';
  #idBuffer = '';
  /** Resolves with the response status and headers (any status). */
  readonly response: Promise<IncomingMessage>;
  /** Resolves when the stream is over, however it ended. */
  readonly ended: Promise<void>;
  #request: ClientRequest;
  #responseObject: IncomingMessage | undefined;
  #waiters: Array<() => void> = [];
  #pending = '';
  #data: string[] = [];
  #eventType = '';
  #ended = false;
  body = '';

  constructor(url: string, headers: Record<string, string> = {}) {
    let resolveEnded!: () => void;
    this.ended = new Promise((resolve) => (resolveEnded = resolve));
    const end = () => {
      if (this.#ended) return;
      this.#ended = true;
      resolveEnded();
      this.#wake();
    };
    this.#request = request(url, { headers: { accept: 'text/event-stream', ...headers } });
    this.response = new Promise((resolve, reject) => {
      this.#request.once('response', (response) => {
        this.#responseObject = response;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          this.body += chunk;
          if (response.statusCode === 200) this.#parse(chunk);
        });
        response.once('end', end);
        response.once('close', end);
        response.once('error', end);
        resolve(response);
      });
      this.#request.once('error', (error) => {
        end();
        reject(error);
      });
    });
    this.response.catch(() => {});
    this.#request.end();
  }

  /** Waits for the response head; fails unless it is 200. */
  async open(): Promise<IncomingMessage> {
    const response = await this.response;
    if (response.statusCode !== 200) {
      await this.ended;
      throw new Error(`expected 200, got ${response.statusCode}: ${this.body}`);
    }
    return response;
  }

  /** Waits until at least `count` events have arrived in total. */
  async waitForEvents(count: number, timeoutMs = 5000): Promise<SseEvent[]> {
    await this.#waitUntil(() => this.events.length >= count, timeoutMs, () => `expected ${count} events, got ${JSON.stringify(this.events)}`);
    return this.events.slice(0, count);
  }

  /** Waits until a comment line equal to `text` (without the colon and one space) arrives. */
  async waitForComment(text: string, timeoutMs = 5000): Promise<void> {
    await this.#waitUntil(() => this.comments.includes(text), timeoutMs, () => `no comment ${JSON.stringify(text)} among ${JSON.stringify(this.comments)}`);
  }

  /** Waits for the stream to end. */
  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await this.#waitUntil(() => this.#ended, timeoutMs, () => 'stream did not end');
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  /** Stops reading: the socket's buffers fill and the server sees a stalled client. */
  pause(): void {
    this.#responseObject?.pause();
  }

  resume(): void {
    this.#responseObject?.resume();
  }

  /** Goes away abruptly (closes the TCP connection). */
  close(): void {
    this.#request.destroy();
  }

  async #waitUntil(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(describe());
      if (this.#ended && !done()) throw new Error(`stream ended: ${describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** The EventSource parsing rules (HTML spec, "Interpreting an event stream"). */
  #parse(chunk: string): void {
    this.#pending += chunk;
    let match: RegExpExecArray | null;
    const lineEnd = /\r\n|\r|\n/g;
    let consumed = 0;
    while ((match = lineEnd.exec(this.#pending))) {
      // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
      if (match[0] === '\r' && match.index === this.#pending.length - 1) break;
      this.#line(this.#pending.slice(consumed, match.index));
      consumed = match.index + match[0].length;
    }
    this.#pending = this.#pending.slice(consumed);
    this.#wake();
  }

  #line(line: string): void {
    if (line === '') {
      this.lastEventId = this.#idBuffer;
      if (this.#data.length > 0) this.events.push({ event: this.#eventType || 'message', data: this.#data.join('\n') });
      this.#data = [];
      this.#eventType = '';
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      this.comments.push(line.slice(1).replace(/^ /, ''));
      return;
    }
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#eventType = value;
    else if (field === 'id' && !value.includes('\0')) this.#idBuffer = value;
  }
}

/** Opens an SSE subscription and waits for its 200. */
export async function openSse(url: string, headers?: Record<string, string>): Promise<SseClient> {
  const client = new SseClient(url, headers);
  await client.open();
  return client;
}

/** An SSE request that should be refused: status, headers and body. */
export async function refusedSse(url: string, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  const client = new SseClient(url, headers);
  const response = await client.response;
  await client.waitForEnd();
  return { status: response.statusCode ?? 0, body: client.body, headers: response.headers };
}
