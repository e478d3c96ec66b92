/**
 * A WebSocket client on a bare TCP socket, for the tests a well-behaved library cannot write:
 * frames built by hand (fragments, interleaved control frames, invalid UTF-8), a client that
 * completes the handshake and then never reads or never answers pings, half-finished upgrades.
 *
 * ```ts
 * const raw = await rawUpgrade(server.httpUrl, '/pub/news');
 * raw.socket.write(frame(OPCODE.text, 'hello'));
 * ```
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameOptions {
  /** FIN bit (default true). */
  fin?: boolean;
  /** Clients must mask (default true); false builds an illegal unmasked client frame. */
  mask?: boolean;
}

/** One WebSocket frame as a client sends it. */
export function frame(opcode: number, payload: string | Uint8Array = '', options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const masked = options.mask ?? true;
  const length = data.length;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** A close frame's payload: the code, big-endian, then the reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const buffer = Buffer.alloc(2 + Buffer.byteLength(reason));
  buffer.writeUInt16BE(code, 0);
  buffer.write(reason, 2);
  return buffer;
}

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface RawUpgradeOptions {
  headers?: Record<string, string>;
  /** Read frames from the socket (default true); false leaves the socket paused, never reading. */
  read?: boolean;
  timeoutMs?: number;
}

/** A completed handshake on a raw socket, with the server's frames parsed as they come. */
export class RawWebSocket {
  readonly frames: ServerFrame[] = [];
  /** Resolves when the TCP connection is gone (either side). */
  readonly ended: Promise<void>;
  #pending: Buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];

  constructor(readonly socket: Socket, rest: Buffer, read: boolean) {
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    this.ended.then(() => this.#wake());
    if (!read) {
      socket.pause();
      return;
    }
    this.#take(rest);
    socket.on('data', (chunk: Buffer) => this.#take(chunk));
    socket.resume();
  }

  /** Waits for the first frame (from the start) matching `predicate`; rejects if the socket ends first. */
  async waitForFrame(predicate: (frame: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.ended.then(() => (ended = true));
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (ended || this.socket.destroyed) throw new Error(`socket ended; frames seen: ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; frames seen: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await Promise.resolve();
    }
  }

  /** The close code the server sent (waits for its close frame). */
  async closeCode(timeoutMs = 5000): Promise<number> {
    const close = await this.waitForFrame((f) => f.opcode === OPCODE.close, timeoutMs);
    return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
  }

  describe(): string {
    return JSON.stringify(this.frames.map((f) => ({ op: f.opcode, fin: f.fin, len: f.payload.length, head: f.payload.subarray(0, 24).toString('latin1') })));
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  destroy(): void {
    this.socket.destroy();
  }

  #take(chunk: Buffer): void {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      const parsed = parseFrame(this.#pending);
      if (!parsed) break;
      this.frames.push(parsed.frame);
      this.#pending = this.#pending.subarray(parsed.size);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

function parseFrame(buffer: Buffer): { frame: ServerFrame; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const fin = (buffer[0]! & 0x80) !== 0;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  let payload = buffer.subarray(offset, offset + length);
  if (masked) {
    const key = buffer.subarray(offset - 4, offset);
    payload = Buffer.from(payload.map((byte, i) => byte ^ key[i & 3]!));
  }
  return { frame: { fin, opcode, payload: Buffer.from(payload) }, size: offset + length };
}

/** Opens a TCP connection to the server of `httpUrl` (an `http://host:port[/prefix]` URL). */
export function tcpConnect(httpUrl: string): Promise<Socket> {
  const url = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The request head of a WebSocket upgrade for `path` (relative to the broker's base URL). */
export function upgradeRequest(httpUrl: string, path: string, headers: Record<string, string> = {}): string {
  const url = new URL(httpUrl);
  const all: Record<string, string> = {
    Host: url.host,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  let head = `GET ${url.pathname.replace(/\/$/, '')}${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(all)) head += `${name}: ${value}\r\n`;
  return head + '\r\n';
}

/**
 * Sends an upgrade request on a raw socket and waits for the 101. Rejects with the status line
 * and body when the server refuses.
 */
export async function rawUpgrade(httpUrl: string, path: string, options: RawUpgradeOptions = {}): Promise<RawWebSocket> {
  const socket = await tcpConnect(httpUrl);
  socket.on('error', () => {});
  socket.write(upgradeRequest(httpUrl, path, options.headers));
  const { head, rest } = await readResponseHead(socket, options.timeoutMs ?? 5000);
  if (!head.startsWith('HTTP/1.1 101')) {
    socket.destroy();
    throw new Error(`upgrade refused: ${head.split('\r\n')[0]} ${rest.toString()}`);
  }
  return new RawWebSocket(socket, rest, options.read ?? true);
}

/** Reads up to the blank line of an HTTP response head; the rest is what followed it. */
export function readResponseHead(socket: Socket, timeoutMs = 5000): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no response head within ${timeoutMs} ms: ${JSON.stringify(buffer.toString('latin1'))}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      finish(undefined, { head: buffer.subarray(0, end).toString('latin1'), rest: buffer.subarray(end + 4) });
    };
    const onClose = () => finish(new Error(`connection closed before a response head: ${JSON.stringify(buffer.toString('latin1'))}`));
    function finish(error: Error | undefined, value?: { head: string; rest: Buffer }) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (error) reject(error);
      else resolve(value!);
    }
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * Sends raw bytes as one HTTP exchange and returns everything the server wrote before closing
 * (or before `timeoutMs`, then the socket is destroyed).
 */
export async function rawExchange(httpUrl: string, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  const socket = await tcpConnect(httpUrl);
  socket.on('error', () => {});
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      out += chunk.toString('latin1');
      // One complete response is enough when the server keeps the connection alive.
      if (isCompleteResponse(out)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(bytes);
  });
}

function isCompleteResponse(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const head = text.slice(0, end);
  // A 101 has no body: the rest is WebSocket frames.
  if (head.startsWith('HTTP/1.1 101')) return true;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) return text.length - end - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return text.endsWith('0\r\n\r\n');
  return false;
}

/** The status code of a raw HTTP response text, or 0 when there was none. */
export function statusOf(response: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return match ? Number(match[1]) : 0;
}
