/**
 * A WebSocket test client on `ws` (Node 20 has no global WebSocket) that queues what arrives,
 * so tests read messages in order with timeouts instead of juggling callbacks.
 */
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';

export interface Received {
  data: string | Buffer;
  binary: boolean;
}

let pings = 0;

export class TestClient {
  readonly socket: WebSocket;
  readonly received: Received[] = [];
  #waiters: Array<() => void> = [];
  /** Resolves with the close code when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.socket = new WebSocket(url, { perMessageDeflate: false, ...options });
    this.socket.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      this.received.push({ data: isBinary ? buffer : buffer.toString('utf8'), binary: isBinary });
      this.#wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      });
    });
    this.socket.on('error', () => {});
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits until at least `count` messages have arrived in total. */
  async waitFor(count: number, timeoutMs = 3000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} messages, got ${this.received.length}: ${JSON.stringify(this.texts())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  texts(): string[] {
    return this.received.map((m) => (typeof m.data === 'string' ? m.data : `<binary ${m.data.toString('hex')}>`));
  }

  /**
   * Sends a ping and waits for its pong. The server answers in order on this socket, so once the
   * pong is here the server has handled every frame this client sent before the ping, and
   * everything it wrote to this socket before the pong has arrived: a sentinel for a socket that
   * receives no messages (a publisher's).
   */
  ping(timeoutMs = 10_000): Promise<void> {
    const payload = `sentinel ping ${++pings}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off('pong', onPong);
        reject(new Error(`no pong to ${JSON.stringify(payload)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onPong = (data: Buffer) => {
        if (data.toString() !== payload) return;
        clearTimeout(timer);
        this.socket.off('pong', onPong);
        resolve();
      };
      this.socket.on('pong', onPong);
      this.socket.ping(payload);
    });
  }

  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, { binary: typeof data !== 'string' }, (error) => (error ? reject(error) : resolve())));
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    this.socket.close(code);
    return this.closed;
  }
}

/** Opens a client and waits for the handshake. */
export async function open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
  const client = new TestClient(url, options);
  await client.opened;
  return client;
}

/** Tries an upgrade that should be refused; returns the HTTP status, headers and body. */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    socket.on('open', () => {
      socket.close();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    socket.on('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}
